"""Write export rows to Parquet (pyarrow), CSV or JSON Lines, streaming."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator
from datetime import date
from itertools import islice
from typing import Any

FORMATS = ("parquet", "csv", "jsonl")


def format_for(path: str | os.PathLike[str], fmt: str | None) -> str:
    """``fmt``, else the format named by the file's extension; ValueError when neither tells."""
    if fmt:
        if fmt not in FORMATS:
            raise ValueError(f"--format {fmt!r}: choose from {', '.join(FORMATS)}")
        return fmt
    ext = os.fspath(path).lower().rsplit(".", 1)[-1]
    guess = {"parquet": "parquet", "pq": "parquet", "csv": "csv", "jsonl": "jsonl", "ndjson": "jsonl"}.get(
        ext
    )
    if guess is None:
        raise ValueError(f"cannot tell the format from {os.fspath(path)!r}; add --format parquet|csv|jsonl")
    return guess


def _plain(v: Any) -> Any:
    return v.isoformat() if isinstance(v, date) else v


def _typed(field: Any, pa: Any) -> Any:
    """A column that is empty in the first chunk still gets its real type (later chunks may fill it)."""
    if not pa.types.is_null(field.type):
        return field
    kind = {"published": pa.date32(), "score": pa.float64(), "confidence": pa.float64()}.get(field.name)
    return pa.field(field.name, kind or pa.string())


def write_rows(rows: Iterable[dict[str, Any]], path: str | os.PathLike[str], fmt: str) -> int:
    """Write ``rows`` (dicts with the same keys) to ``path``; returns the number written."""
    it: Iterator[dict[str, Any]] = iter(rows)
    n = 0
    if fmt == "jsonl":
        with open(path, "w", encoding="utf-8") as f:
            for r in it:
                f.write(json.dumps({k: _plain(v) for k, v in r.items()}, ensure_ascii=False) + "\n")
                n += 1
        return n
    if fmt == "csv":
        with open(path, "w", encoding="utf-8", newline="") as f:
            w: Any = None
            for r in it:
                if w is None:
                    w = csv.DictWriter(f, fieldnames=list(r))
                    w.writeheader()
                w.writerow({k: _plain(v) for k, v in r.items()})
                n += 1
        return n
    if fmt != "parquet":
        raise ValueError(f"unknown format {fmt!r}")
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ValueError("Parquet export needs pyarrow: pip install 'propscope[corpus]'") from None
    writer = None
    try:
        while True:
            chunk = list(islice(it, 5000))
            if not chunk:
                break
            table = pa.Table.from_pylist(chunk, schema=writer.schema if writer is not None else None)
            if writer is None:
                table = table.cast(pa.schema([_typed(f, pa) for f in table.schema]))
                writer = pq.ParquetWriter(os.fspath(path), table.schema)
            writer.write_table(table)
            n += len(chunk)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        pq.write_table(pa.table({}), os.fspath(path))
    return n
