"""The data model of text-reuse tracing: TraceInput in; Passage, ReuseLink, StoryFamily, TraceResult out."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

TRACE_SCHEMA_VERSION = "1.0"

Kind = Literal["verbatim", "reworded", "quotation"]
"""How a text was reused (definitions in docs/trace.md and ``propscope.trace.kinds``)."""

Direction = Literal["dates", "unknown"]
"""``dates``: the source was published before the copy; ``unknown``: a date is missing or both are equal."""


class TraceInput(BaseModel):
    """One article to trace: its id, text and, when known, publication date and outlet."""

    model_config = ConfigDict(frozen=True)

    id: str
    text: str
    published: str | None = Field(default=None, description="publication date or time, ISO 8601")
    outlet: str | None = None
    title: str | None = None


class Passage(BaseModel):
    """Two aligned stretches of text: ``source_text == source.text[source_start:source_end]``, same for
    the copy."""

    model_config = ConfigDict(frozen=True)

    source_start: int = Field(ge=0)
    source_end: int
    copy_start: int = Field(ge=0)
    copy_end: int
    similarity: float = Field(ge=0.0, le=1.0, description="share of the passage's words matched in order")
    kind: Kind
    source_text: str
    copy_text: str


class ReuseLink(BaseModel):
    """A pair of articles that share text: ``source`` (earlier, when dates say so) and ``copy``."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    source: str
    copy_id: str = Field(alias="copy")
    direction: Direction
    kind: Kind
    share: float = Field(ge=0.0, le=1.0, description="fraction of the copy's characters in aligned passages")
    source_share: float = Field(ge=0.0, le=1.0, description="same for the source")
    similarity: float = Field(ge=0.0, le=1.0, description="passage similarity, weighted by passage length")
    source_published: str | None = None
    copy_published: str | None = None
    source_outlet: str | None = None
    copy_outlet: str | None = None
    passages: list[Passage] = Field(default_factory=list)


class StoryFamily(BaseModel):
    """Articles connected by reuse links; ``origin`` is the earliest member when dates single one out."""

    id: int
    members: list[str]
    origin: str | None = Field(default=None, description="probable origin: the single earliest dated member")
    origin_published: str | None = None
    links: int


class TraceStats(BaseModel):
    """How the run went: sizes of each stage and what was left out."""

    articles: int = 0
    too_short: int = 0
    duplicates: int = 0
    windows: int = 0
    candidate_pairs: int = 0
    capped_buckets: int = Field(default=0, description="LSH buckets holding more articles than the cap")
    aligned_pairs: int = 0
    links: int = 0
    seconds: dict[str, float] = Field(default_factory=dict)


class TraceResult(BaseModel):
    """Reuse links between articles and the story families they form."""

    schema_version: str = TRACE_SCHEMA_VERSION
    links: list[ReuseLink] = Field(default_factory=list)
    families: list[StoryFamily] = Field(default_factory=list)
    stats: TraceStats = Field(default_factory=TraceStats)
    warnings: list[str] = Field(default_factory=list)


def parse_date(value: str | None) -> datetime | date | None:
    """A date or time from an ISO 8601 string, or None when missing or unreadable."""
    if not value:
        return None
    s = value.strip()
    try:
        if len(s) <= 10:
            return date.fromisoformat(s)
        return datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        try:
            return date.fromisoformat(s[:10])
        except ValueError:
            return None


def compare_dates(a: str | None, b: str | None) -> int | None:
    """-1 when ``a`` is earlier, 1 when later, None when either is missing or they are equal.

    A date-only value is compared with a time by its day, so "2018-09-07" and "2018-09-07T10:00" are equal.
    """
    da, db = parse_date(a), parse_date(b)
    if da is None or db is None:
        return None
    if isinstance(da, datetime) != isinstance(db, datetime):
        da = da.date() if isinstance(da, datetime) else da
        db = db.date() if isinstance(db, datetime) else db
    elif isinstance(da, datetime) and isinstance(db, datetime) and (da.tzinfo is None) != (db.tzinfo is None):
        da, db = da.replace(tzinfo=None), db.replace(tzinfo=None)
    if da < db:  # type: ignore[operator]
        return -1
    if da > db:  # type: ignore[operator]
        return 1
    return None
