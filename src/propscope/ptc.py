"""Read a PTC-style data folder: ``articles/article<ID>.txt``, ``labels-si.tsv``, ``labels-tc.tsv``.

Texts are read byte-for-byte (UTF-8, newlines kept) so that label offsets index into them exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError
from .techniques import TECHNIQUES

_ID = re.compile(r"article(\d+)\.txt$")


@dataclass(frozen=True)
class TcLabel:
    technique: str
    start: int
    end: int


@dataclass
class PtcDocument:
    id: str
    text: str
    si: list[tuple[int, int]] = field(default_factory=list)
    tc: list[TcLabel] = field(default_factory=list)

    def tc_groups(self) -> dict[tuple[int, int], list[str]]:
        """The techniques of each distinct gold span ``(start, end)`` (a span may carry several)."""
        groups: dict[tuple[int, int], list[str]] = {}
        for x in self.tc:
            groups.setdefault((x.start, x.end), []).append(x.technique)
        return groups


def article_id(path: Path) -> str | None:
    """The digits of ``article<ID>.txt``, or None when the name has another form."""
    m = _ID.search(path.name)
    return m.group(1) if m else None


def read_raw_text(path: Path) -> str:
    """A PTC article's text, exactly as the offsets expect (UTF-8, no newline translation)."""
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def read_articles(folder: str | Path) -> dict[str, str]:
    """Map id -> raw text for every ``article<ID>.txt`` in ``folder`` (or its ``articles/``)."""
    folder = Path(folder)
    if (folder / "articles").is_dir():
        folder = folder / "articles"
    if not folder.is_dir():
        raise InputError(str(folder), "not a directory")
    out: dict[str, str] = {}
    for p in sorted(folder.glob("article*.txt")):
        aid = article_id(p)
        if aid is not None:
            out[aid] = read_raw_text(p)
    if not out:
        raise InputError(str(folder), "no article<ID>.txt files found")
    return out


def _rows(path: Path, ncols: int, *, check_techniques: bool = False) -> list[tuple]:
    """The rows of a tab-separated label file: ``id, start, end`` (3 columns) or ``id, technique, start,
    end`` (4), offsets as ints. Blank lines are skipped; any other malformed line raises InputError naming
    ``FILE:LINE`` and the problem."""
    rows: list[tuple] = []
    try:
        f = open(path, encoding="utf-8")
    except OSError as e:
        raise InputError(str(path), e.strerror or str(e)) from None
    with f:
        try:
            lines = list(f)
        except UnicodeDecodeError:
            raise InputError(str(path), "not UTF-8 text") from None
    for n, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not line.strip():
            continue
        where = f"{path}:{n}"
        parts = line.split("\t")
        if len(parts) != ncols:
            raise InputError(where, f"expected {ncols} tab-separated columns, got {len(parts)}")
        aid, *mid, s, e = (x.strip() for x in parts)
        if not aid:
            raise InputError(where, "empty article id")
        try:
            start, end = int(s), int(e)
        except ValueError:
            raise InputError(where, f"start and end must be whole numbers, got {s!r} and {e!r}") from None
        if start < 0 or end <= start:
            raise InputError(where, f"need 0 <= start < end, got start {start} and end {end}")
        if check_techniques and mid[0] not in TECHNIQUES:
            raise InputError(where, f"unknown technique {mid[0]!r}")
        rows.append((aid, *mid, start, end))
    return rows


def read_si_labels(path: str | Path) -> list[tuple[str, int, int]]:
    """Rows ``id, start, end`` of a labels-si.tsv file."""
    return _rows(Path(path), 3)


def read_tc_labels(path: str | Path, *, check_techniques: bool = True) -> list[tuple[str, str, int, int]]:
    """Rows ``id, technique, start, end`` of a labels-tc.tsv file (or a template with ``?``)."""
    return _rows(Path(path), 4, check_techniques=check_techniques)


def load_split(folder: str | Path) -> list[PtcDocument]:
    """Articles of one split with their SI and TC gold labels (empty when the label files are absent)."""
    folder = Path(folder)
    texts = read_articles(folder)
    docs = {aid: PtcDocument(aid, t) for aid, t in texts.items()}
    si_path, tc_path = folder / "labels-si.tsv", folder / "labels-tc.tsv"
    if si_path.is_file():
        for aid, s, e in read_si_labels(si_path):
            if aid in docs:
                docs[aid].si.append((s, e))
    if tc_path.is_file():
        for aid, tech, s, e in read_tc_labels(tc_path):
            if aid in docs:
                docs[aid].tc.append(TcLabel(tech, s, e))
    for d in docs.values():
        d.si.sort()
        d.tc.sort(key=lambda x: (x.start, x.end, x.technique))
    return list(docs.values())
