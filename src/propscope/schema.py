"""The data model: Article in, Analysis out. Its JSON form is documented in docs/output-format.md."""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from .techniques import TECHNIQUES

SCHEMA_VERSION = "1.1"


class Removal(BaseModel):
    """One piece of page leftover that cleaning removed; offsets index into the text before cleaning."""

    model_config = ConfigDict(frozen=True)

    start: int
    end: int
    reason: str
    text: str


class CleaningReport(BaseModel):
    """What cleaning did to an article's text."""

    original_length: int
    removed: list[Removal] = Field(default_factory=list)
    notes: list[str] = Field(
        default_factory=list,
        description="characters replaced while reading (invalid bytes, lone surrogates), one note each",
    )

    @property
    def removed_chars(self) -> int:
        return sum(r.end - r.start for r in self.removed)


class Article(BaseModel):
    """A news article. ``text`` holds the title line, a blank line and the body, as in PTC files;
    every offset that propscope reports indexes into this text."""

    id: str = Field(description="article id: from the file name (article<ID>.txt), the input, or a hash")
    text: str = Field(description="title line, blank line, body; every offset indexes into this text")
    title: str | None = Field(default=None, description="the title: first line of a text, or the page title")
    url: str | None = Field(default=None, description="where the article comes from, when known")
    source: str | None = Field(default=None, description="file path or other origin of the article")
    site: str | None = Field(default=None, description="site name of an HTML page, when known")
    published: str | None = Field(default=None, description="publication date, ISO 8601, when known")
    author: str | None = Field(default=None, description="author, when known")
    format: str | None = Field(default=None, description="reader that produced it: text, html, jsonl")
    cleaning: CleaningReport | None = None
    language: str | None = Field(default=None, description="ISO 639-1 code, identified or given (--lang)")
    warnings: list[str] = Field(
        default_factory=list,
        description="why the result may mislead: not English, characters replaced, page cut, bad date...",
    )


class Span(BaseModel):
    """A fragment that uses a propaganda technique: ``article.text[start:end] == text``."""

    model_config = ConfigDict(frozen=True)

    start: int = Field(ge=0, description="offset of the first character in article.text")
    end: int = Field(description="offset just past the last character")
    technique: str = Field(description="one of the 14 PTC technique names (GET /api/v1/techniques)")
    confidence: float = Field(ge=0.0, le=1.0, description=(
        "estimated probability that a gold span carrying this technique overlaps the span (the model's "
        "P(span) x P(technique | span), calibrated on held-out training articles)"))
    text: str = Field(description="article.text[start:end]")

    @model_validator(mode="after")
    def _check(self) -> Span:
        if self.end <= self.start:
            raise ValueError(f"span end {self.end} must be greater than start {self.start}")
        if self.technique not in TECHNIQUES:
            raise ValueError(f"unknown technique {self.technique!r}")
        return self


class Sentence(BaseModel):
    """A sentence of the article with its propaganda score (see ``propscope.detect.scores``)."""

    model_config = ConfigDict(frozen=True)

    start: int = Field(ge=0, description="offset of the sentence's first character in article.text")
    end: int = Field(description="offset just past the sentence")
    score: float = Field(ge=0.0, le=1.0, description="probability that the sentence holds a technique span")
    n_spans: int = Field(default=0, ge=0, description="number of spans overlapping the sentence")


class Analysis(BaseModel):
    """An article and the technique spans found in it, sorted by (start, end, technique)."""

    schema_version: str = Field(default=SCHEMA_VERSION, description="version of this JSON layout")
    article: Article = Field(description="the article as read and cleaned")
    spans: list[Span] = Field(default_factory=list, description="technique spans, by (start, end, technique)")
    model: str | None = Field(default=None, description="name and version of the detector used")
    sentences: list[Sentence] = Field(default_factory=list, description="every sentence with its score")
    score: float | None = Field(
        default=None, ge=0.0, le=1.0, description="article propaganda score (see propscope.detect.scores)"
    )

    @model_validator(mode="after")
    def _check_spans(self) -> Analysis:
        n = len(self.article.text)
        for s in self.spans:
            if s.end > n:
                raise ValueError(f"span {s.start}-{s.end} runs past the article text ({n} chars)")
            if self.article.text[s.start : s.end] != s.text:
                raise ValueError(f"span {s.start}-{s.end}: text does not match the article text")
        self.spans.sort(key=lambda s: (s.start, s.end, s.technique))
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def counts(self) -> dict[str, int]:
        """Number of spans per technique (every technique listed, zeros included)."""
        c = Counter(s.technique for s in self.spans)
        return {t: c.get(t, 0) for t in TECHNIQUES}
