"""Plain text in PTC / newspaper3k form: title line, blank line, body."""

from __future__ import annotations

import re

from ..clean import clean_text
from ..schema import Article, CleaningReport

_SURROGATE = re.compile("[\ud800-\udfff]")


def replace_surrogates(text: str) -> tuple[str, str | None]:
    """``text`` with lone surrogates (from JSON escapes such as ``\\ud800``) replaced by U+FFFD, which keeps
    every offset, and a note saying how many were replaced (None when there were none)."""
    text, n = _SURROGATE.subn("\ufffd", text)
    return text, (f"{n} lone surrogate code point{'s' if n != 1 else ''} replaced by U+FFFD" if n else None)


def with_notes(article: Article, notes: list[str]) -> Article:
    """``article`` with ``notes`` on replaced characters added to its cleaning report and warnings."""
    if not notes:
        return article
    report = article.cleaning or CleaningReport(original_length=len(article.text))
    report = report.model_copy(update={"notes": [*report.notes, *notes]})
    return article.model_copy(update={"cleaning": report, "warnings": [*article.warnings, *notes]})


def first_line(text: str) -> str | None:
    for line in text.split("\n"):
        if line.strip():
            return line.strip()
    return None


def article_from_text(
    text: str,
    *,
    id: str,
    title: str | None = None,
    url: str | None = None,
    source: str | None = None,
    clean: bool = True,
) -> Article:
    """Make an Article from plain text (title line, blank line, body, as in PTC files).

    ``Article.text`` is the whole text, title line included, so PTC offsets apply to it unchanged. The
    title is the first line unless ``title`` is given; a given title that the text does not start with is
    prepended as ``title + "\\n\\n"``. With ``clean`` page leftovers are removed (see ``clean_text``);
    without it the text is kept exactly as given.
    """
    text, note = replace_surrogates(text)
    id = replace_surrogates(id)[0]
    url, source = (replace_surrogates(v)[0] if v is not None else None for v in (url, source))
    if title is not None:
        title, _ = replace_surrogates(title)
        title = title.strip() or None
    if title is not None and not text.lstrip().startswith(title):
        text = f"{title}\n\n{text.lstrip()}"
    if clean:
        text, report = clean_text(text)
    else:
        report = CleaningReport(original_length=len(text))
    article = Article(
        id=id, text=text, title=title if title is not None else first_line(text), url=url, source=source,
        format="text", cleaning=report,
    )
    return with_notes(article, [note] if note else [])
