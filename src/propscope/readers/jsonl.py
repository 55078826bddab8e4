"""JSON Lines: one article per line with ``text`` or ``html`` and optional ``id``, ``title``, ``url``,
``source``, ``date`` (also ``author``, ``site``, and ``outlet``: the site name when ``site`` is absent).
``fields`` renames keys first, e.g. ``{"outlet": "source", "author": "authors"}`` for a file whose
``source`` holds the outlet's name."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

from ..errors import InputError
from ..schema import Article
from .html import article_from_html
from .text import article_from_text


def _str(rec: dict, key: str) -> str | None:
    v = rec.get(key)
    if v is None:
        return None
    return v if isinstance(v, str) else str(v)


def rename_fields(rec: dict, fields: Mapping[str, str] | None) -> dict:
    """``rec`` with each ``fields`` target key taken from its source key (the source key is dropped)."""
    if not fields:
        return rec
    out = dict(rec)
    for target, src in fields.items():
        if src in rec:
            out.pop(src, None)
            out[target] = rec[src]
    return out


def article_from_record(rec: object, *, default_id: str, where: str, clean: bool = True,
                        fields: Mapping[str, str] | None = None) -> Article:
    """Make an Article from one parsed JSONL record; ``where`` (``file:line``) names it in errors."""
    if not isinstance(rec, dict):
        raise InputError(where, f"expected a JSON object, got {type(rec).__name__}")
    rec = rename_fields(rec, fields)
    text, html = rec.get("text"), rec.get("html")
    if text is None and html is None:
        raise InputError(where, 'needs a "text" or "html" field')
    body = text if text is not None else html
    if not isinstance(body, str):
        raise InputError(where, f'"{"text" if text is not None else "html"}" must be a string')
    if not body.replace("\x00", "").strip():
        raise InputError(where, "empty text")
    aid = _str(rec, "id") or default_id
    url, source = _str(rec, "url"), _str(rec, "source")
    if text is not None:
        art = article_from_text(body, id=aid, title=_str(rec, "title"), url=url, source=source or where,
                                clean=clean)
    else:
        art = article_from_html(body, id=aid, url=url, source=source or where, clean=clean)
        if _str(rec, "title"):
            titled = article_from_text(art.text, id=aid, title=_str(rec, "title"), url=art.url,
                                       source=art.source, clean=False)
            art = art.model_copy(update={"text": titled.text, "title": titled.title})
    update: dict[str, str | None] = {"format": "jsonl"}
    for field, key in (("published", "date"), ("published", "published"), ("author", "author"),
                       ("site", "outlet"), ("site", "site")):
        if _str(rec, key):
            update[field] = _str(rec, key)
    return art.model_copy(update=update)


def iter_jsonl(text: str, *, stem: str, where: str, clean: bool = True,
               fields: Mapping[str, str] | None = None) -> Iterator[Article | InputError]:
    """Articles from JSON Lines ``text``; a bad line yields one InputError naming ``where:line``."""
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        loc = f"{where}:{lineno}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            yield InputError(loc, f"not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        try:
            yield article_from_record(rec, default_id=f"{stem}:{lineno}", where=loc, clean=clean,
                                      fields=fields)
        except InputError as exc:
            yield exc
