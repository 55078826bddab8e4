"""Machine-readable output of Analyses: json, jsonl, csv and ptc (labels-tc.tsv style).

Formats are documented in docs/output-format.md. Writers stream: ``write`` each Analysis as it comes,
then ``close`` (json needs the whole list to decide between one object and a list).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Any, TextIO

from .schema import Analysis

FORMATS = ("json", "jsonl", "csv", "ptc")
CSV_COLUMNS = ("article_id", "start", "end", "technique", "confidence", "text")


def analysis_dict(analysis: Analysis) -> dict[str, Any]:
    """The JSON form of one Analysis (schema_version first, counts included)."""
    return analysis.model_dump(mode="json")


def to_json(analyses: Iterable[Analysis], *, single: bool = False) -> str:
    """One JSON object when ``single`` (exactly one analysis), else a JSON list."""
    items = [analysis_dict(a) for a in analyses]
    if single and len(items) != 1:
        raise ValueError(f"single=True needs exactly one analysis, got {len(items)}")
    return json.dumps(items[0] if single else items, ensure_ascii=False, indent=2) + "\n"


def to_jsonl_line(analysis: Analysis) -> str:
    return json.dumps(analysis_dict(analysis), ensure_ascii=False) + "\n"


def ptc_lines(analysis: Analysis) -> list[str]:
    """``id<TAB>technique<TAB>start<TAB>end`` per span, as in PTC's labels-tc.tsv."""
    return [f"{analysis.article.id}\t{s.technique}\t{s.start}\t{s.end}\n" for s in analysis.spans]


class Writer:
    """Streams Analyses to ``stream`` in one of FORMATS."""

    def __init__(self, fmt: str, stream: TextIO, *, single: bool = False) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
        self.fmt, self.stream, self.single = fmt, stream, single
        self._held: list[Analysis] = []
        self._csv: Any = None
        if fmt == "csv":
            self._csv = csv.writer(stream, lineterminator="\n")
            self._csv.writerow(CSV_COLUMNS)

    def write(self, analysis: Analysis) -> None:
        if self.fmt == "json":
            self._held.append(analysis)
        elif self.fmt == "jsonl":
            self.stream.write(to_jsonl_line(analysis))
        elif self.fmt == "ptc":
            self.stream.writelines(ptc_lines(analysis))
        else:
            for s in analysis.spans:
                self._csv.writerow((analysis.article.id, s.start, s.end, s.technique, s.confidence, s.text))
        self.stream.flush()

    def close(self) -> None:
        if self.fmt == "json":
            single = self.single and len(self._held) == 1
            self.stream.write(to_json(self._held, single=single))
            self.stream.flush()


def write_all(analyses: Iterable[Analysis], fmt: str, stream: TextIO, *, single: bool = False) -> None:
    w = Writer(fmt, stream, single=single)
    for a in analyses:
        w.write(a)
    w.close()
