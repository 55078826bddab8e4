"""The one ``Filters`` value that the CLI, the Python API and the REST API use to select articles and spans.

Parsing and validation live here (no SQL, no SQLAlchemy): ``Filters.parse`` takes what a user typed,
``Filters.from_query`` takes HTTP query parameters; ``propscope.corpus.query`` turns a Filters into SQL.

Meaning: dates, outlets, orientations and words select *articles*; techniques and min_confidence select
*spans*. Statistics count the selected spans of the selected articles; lists (top, search, articles, export
of articles) keep only articles with at least one selected span when techniques are given.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date

from ..errors import PropscopeError
from ..techniques import BY_NAME, TECHNIQUES


class FilterError(PropscopeError, ValueError):
    """A filter value that cannot be used; the message names the option and the value."""


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


_ALIASES: dict[str, str] = {}
for _t in TECHNIQUES:
    _ALIASES[_norm(_t)] = _t
    _ALIASES[_norm(BY_NAME[_t].label)] = _t


def parse_technique(name: str) -> str:
    """The PTC label for ``name``: the label itself, its readable name, or a unique prefix (else a unique
    part) of either, case and punctuation ignored: ``loaded`` -> ``Loaded_Language``, ``fear`` ->
    ``Appeal_to_fear-prejudice``."""
    key = _norm(name)
    if key in _ALIASES:
        return _ALIASES[key]
    hits = {t for k, t in _ALIASES.items() if key and k.startswith(key)}
    if not hits:
        hits = {t for k, t in _ALIASES.items() if key and key in k}
    if len(hits) == 1:
        return hits.pop()
    if hits:
        raise FilterError(f"--technique {name!r} is ambiguous: {', '.join(sorted(hits))}")
    raise FilterError(f"--technique {name!r}: unknown technique (see `propscope techniques`)")


def parse_date(value: str | date, *, end: bool = False, option: str = "--from") -> date:
    """A date from ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``; a partial date means its first day, or its last
    day when ``end`` (so ``--to 2020-02`` includes the whole of February)."""
    if isinstance(value, date):
        return value
    v = value.strip()
    try:
        if re.fullmatch(r"\d{4}", v):
            return date(int(v), 12, 31) if end else date(int(v), 1, 1)
        if re.fullmatch(r"\d{4}-\d{2}", v):
            y, m = int(v[:4]), int(v[5:])
            if not end:
                return date(y, m, 1)
            nxt = date(y + (m == 12), m % 12 + 1, 1)
            return date.fromordinal(nxt.toordinal() - 1)
        return date.fromisoformat(v[:10])
    except ValueError:
        raise FilterError(f"{option} {value!r}: not a date (use YYYY-MM-DD, YYYY-MM or YYYY)") from None


def _tuple(values: str | Iterable[str] | None) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    return tuple(v.strip() for v in values if v and v.strip())


@dataclass(frozen=True)
class Filters:
    """Which articles and spans a query looks at. Empty fields select everything."""

    date_from: date | None = None
    date_to: date | None = None
    outlets: tuple[str, ...] = ()
    orientations: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    words: str | None = None
    min_confidence: float | None = None
    _checked: bool = field(default=False, repr=False, compare=False)

    @classmethod
    def parse(
        cls,
        *,
        date_from: str | date | None = None,
        date_to: str | date | None = None,
        outlets: str | Iterable[str] | None = None,
        orientations: str | Iterable[str] | None = None,
        techniques: str | Iterable[str] | None = None,
        words: str | None = None,
        min_confidence: float | str | None = None,
    ) -> Filters:
        """Validate user input once; raises FilterError naming the option and the bad value.

        >>> Filters.parse(date_from="2020-01", techniques=["loaded"], min_confidence=0.5)
        """
        d_from = parse_date(date_from, option="--from") if date_from else None
        d_to = parse_date(date_to, end=True, option="--to") if date_to else None
        if d_from and d_to and d_from > d_to:
            raise FilterError(f"--from {d_from} is after --to {d_to}")
        conf: float | None = None
        if min_confidence is not None and min_confidence != "":
            try:
                conf = float(min_confidence)
            except ValueError:
                raise FilterError(f"--min-confidence {min_confidence!r}: not a number") from None
            if not 0.0 <= conf <= 1.0:
                raise FilterError(f"--min-confidence {conf}: must be between 0 and 1")
        techs = tuple(dict.fromkeys(parse_technique(t) for t in _tuple(techniques)))
        w = words.strip() if words else None
        return cls(d_from, d_to, _tuple(outlets), _tuple(orientations), techs, w or None, conf, True)

    @classmethod
    def from_query(cls, params: Mapping[str, str | list[str]]) -> Filters:
        """From HTTP query parameters named like the CLI options: ``from``, ``to``, ``outlet``,
        ``orientation``, ``technique`` (repeatable), ``search``, ``min_confidence``."""

        def one(key: str) -> str | None:
            v = params.get(key)
            return (v[-1] if v else None) if isinstance(v, list) else v

        def many(key: str) -> list[str]:
            v = params.get(key)
            return [] if v is None else (list(v) if isinstance(v, list) else [v])

        return cls.parse(
            date_from=one("from"),
            date_to=one("to"),
            outlets=many("outlet"),
            orientations=many("orientation"),
            techniques=many("technique"),
            words=one("search"),
            min_confidence=one("min_confidence"),
        )

    def checked(self) -> Filters:
        """This Filters validated (a Filters built directly, not by ``parse``, is parsed here once)."""
        if self._checked:
            return self
        return Filters.parse(
            date_from=self.date_from,
            date_to=self.date_to,
            outlets=self.outlets,
            orientations=self.orientations,
            techniques=self.techniques,
            words=self.words,
            min_confidence=self.min_confidence,
        )

    @property
    def selects_spans(self) -> bool:
        return bool(self.techniques) or self.min_confidence is not None

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d.pop("_checked")
        return {
            k: (v.isoformat() if isinstance(v, date) else list(v) if isinstance(v, tuple) else v)
            for k, v in d.items()
        }
