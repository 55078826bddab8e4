"""Plain text in PTC / newspaper3k form: title line, blank line, body."""

from __future__ import annotations

from ..clean import clean_text
from ..schema import Article, CleaningReport


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
    if title is not None:
        title = title.strip() or None
    if title is not None and not text.lstrip().startswith(title):
        text = f"{title}\n\n{text.lstrip()}"
    if clean:
        text, report = clean_text(text)
    else:
        report = CleaningReport(original_length=len(text))
    return Article(
        id=id, text=text, title=title if title is not None else first_line(text), url=url, source=source,
        format="text", cleaning=report,
    )
