"""HTML pages: main text and metadata via trafilatura."""

from __future__ import annotations

import logging
import re

from ..errors import InputError
from ..schema import Article
from .text import article_from_text, replace_surrogates, with_notes

_DATA_URI = re.compile(r"data:[^\s\"'<>)]{4096,}", re.IGNORECASE)
"""Inline data (images, fonts) of more than 4 KB: dropped before parsing, since libxml2 cuts a page at a text
node over 10 MB and the rest of the article would be lost."""

_NO_TEXT = "no article text found in HTML"

LIBXML_TEXT_LIMIT = 10_000_000
"""libxml2 (lxml) stops at a text node longer than this."""


def _quiet_trafilatura() -> None:
    # trafilatura logs warnings about broken markup; propscope reports its own errors instead.
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    logging.getLogger("htmldate").setLevel(logging.CRITICAL)
    logging.getLogger("courlan").setLevel(logging.CRITICAL)


def article_from_html(
    html: str,
    *,
    id: str,
    url: str | None = None,
    source: str | None = None,
    clean: bool = True,
) -> Article:
    """Make an Article from an HTML page: trafilatura's main text, title, author, date and site.

    ``Article.text`` is the title, a blank line, then the body with one paragraph per line. Broken HTML
    is read as far as it goes; raises InputError when no main text can be found.
    """
    import trafilatura

    _quiet_trafilatura()
    src = source or url or id
    html, note = replace_surrogates(html)
    html = _DATA_URI.sub("data:,", html)
    cut = []
    if len(html) > LIBXML_TEXT_LIMIT and max(map(len, html.split("<"))) > LIBXML_TEXT_LIMIT:
        cut.append("the page holds a text run over 10 MB; the HTML parser stops there, so the article may "
                     "be cut")
    try:
        doc = trafilatura.bare_extraction(
            html, url=url, with_metadata=True, include_comments=False, include_tables=True, favor_recall=True
        )
    except Exception as exc:  # trafilatura/lxml raise many kinds of errors on hostile markup
        raise InputError(src, f"{_NO_TEXT} ({type(exc).__name__})") from None
    body = (getattr(doc, "text", None) or "").strip() if doc is not None else ""
    if not body:
        raise InputError(src, _NO_TEXT)
    lines = [ln.strip() for ln in body.split("\n")]
    body = "\n".join(ln for ln in lines if ln)
    title = (getattr(doc, "title", None) or "").strip() or None
    if title is not None:
        first, _, rest = body.partition("\n")
        if first.strip() == title:
            body = rest
        text = f"{title}\n\n{body}" if body.strip() else title
    else:
        text = body
    if not text.strip():
        raise InputError(src, _NO_TEXT)
    art = article_from_text(text, id=id, title=title, url=url or getattr(doc, "url", None), source=source,
                            clean=clean)
    art = art.model_copy(update={
        "format": "html",
        "author": getattr(doc, "author", None) or None,
        "published": getattr(doc, "date", None) or None,
        "site": getattr(doc, "sitename", None) or getattr(doc, "hostname", None) or None,
        "warnings": [*art.warnings, *cut],
    })
    return with_notes(art, [note] if note else [])

