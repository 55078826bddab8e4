"""`outlets import`: outlet metadata (name, domain, country, orientation, free columns) from a CSV file."""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass

import sqlalchemy as sa

from . import store as S

ORIENTATION_COLUMNS = ("orientation", "bias", "allsides_bias", "mbfc_bias")
"""Columns read as the orientation, first found first, unless ``orientation_column`` is given."""


@dataclass
class OutletsReport:
    added: int = 0
    updated: int = 0
    skipped: int = 0


def import_outlets(
    store: S.Store, path: str | os.PathLike[str], *, orientation_column: str | None = None
) -> tuple[OutletsReport, list[str]]:
    """Upsert one outlet per CSV row, matched by name (case ignored). Columns: ``name`` (required),
    ``domain``, ``country``, an orientation column, and any others (kept as extra metadata).
    Returns the report and one message per row that was skipped."""
    from .ingest import url_host

    name = str(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            rows = list(reader)
    except FileNotFoundError:
        raise S.StoreError(f"{name}: no such file") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise S.StoreError(f"{name}: not a UTF-8 CSV file ({exc})") from None
    cols = [h.strip() for h in header if h]
    if "name" not in cols:
        raise S.StoreError(f"{name}: the CSV needs a 'name' column (found: {', '.join(cols) or 'none'})")
    if orientation_column is not None and orientation_column not in cols:
        raise S.StoreError(f"{name}: no column {orientation_column!r} for the orientation")
    orient = orientation_column or next((c for c in ORIENTATION_COLUMNS if c in cols), None)
    used = {"name", "domain", "country", orient}
    report, problems = OutletsReport(), []
    with store.write() as conn:
        known: dict[str, int] = {}
        auto: dict[str, int] = {}  # outlets that ingest named after their domain: a CSV row names them
        for i, n, d in conn.execute(sa.select(S.outlets.c.id, S.outlets.c.name, S.outlets.c.domain)):
            known[n.lower()] = i
            if d and n.lower() == d.lower():
                auto[d.lower()] = i
        for lineno, raw in enumerate(rows, start=2):
            row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
            if not row.get("name"):
                report.skipped += 1
                problems.append(f"{name}:{lineno}: no name; row skipped")
                continue
            dom = row.get("domain") or None
            if dom:
                dom = url_host(dom if "//" in dom else f"http://{dom}") or dom.lower()
            extra = {k: v for k, v in row.items() if k not in used and k and v}
            values = {
                "name": row["name"],
                "domain": dom,
                "country": row.get("country") or None,
                "orientation": (row.get(orient) or None) if orient else None,
                "extra": json.dumps(extra, ensure_ascii=False) if extra else None,
            }
            oid = known.get(row["name"].lower())
            if oid is None and dom and dom in auto:
                oid = auto.pop(dom)
                known[row["name"].lower()] = oid
            if oid is None:
                oid = conn.execute(S.outlets.insert().values(**values)).inserted_primary_key[0]
                known[row["name"].lower()] = oid
                report.added += 1
            else:
                kept = {k: v for k, v in values.items() if v is not None or k == "orientation"}
                conn.execute(S.outlets.update().where(S.outlets.c.id == oid).values(**kept))
                report.updated += 1
    return report, problems
