"""JSON Lines: one article per line with ``text`` or ``html`` and optional ``id``, ``title``, ``url``,
``source``, ``date`` (also ``author``, ``site``, and ``outlet``: the site name when ``site`` is absent).
``fields`` renames keys first, e.g. ``{"outlet": "source", "author": "authors"}`` for a file whose
``source`` holds the outlet's name."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping

from ..errors import InputError
from ..schema import Article
from .html import article_from_html
from .text import article_from_text

_STRING_FIELDS = ("title", "url", "source", "date", "published", "author", "site", "outlet")


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


def _drop_bad_types(rec: dict) -> tuple[dict, list[str]]:
    """``rec`` without the optional fields whose value is not a string (an integer id is fine), and a
    warning for each one dropped."""
    warnings = []
    for key in (*_STRING_FIELDS, "id"):
        v = rec.get(key)
        if v is not None and not isinstance(v, str) and not (key == "id" and type(v) is int):
            shown = json.dumps(v)[:40]
            warnings.append(f'"{key}" must be a string, got {type(v).__name__} ({shown}); ignored')
    if warnings:
        rec = {k: v for k, v in rec.items() if not any(w.startswith(f'"{k}"') for w in warnings)}
    return rec, warnings


def iso_date(value: str) -> str | None:
    """``value`` as an ISO 8601 date or date-time when it is one (or an RFC 2822 date, as in feeds), else
    None."""
    from datetime import datetime
    from email.utils import parsedate_to_datetime

    v = value.strip()
    if re.fullmatch(r"\d{4}(-\d{2})?", v):
        return v  # a year, or a year and month
    try:
        parsed = datetime.fromisoformat(v[:-1] + "+00:00" if v.endswith("Z") else v)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(v)
        except (TypeError, ValueError, IndexError):
            return None
    return parsed.isoformat() if ":" in v else parsed.date().isoformat()


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
    rec, warnings = _drop_bad_types(rec)
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
    update: dict[str, object] = {"format": "jsonl"}
    warnings = [*art.warnings, *warnings]
    for field, key in (("published", "date"), ("published", "published"), ("author", "author"),
                       ("site", "outlet"), ("site", "site")):
        value = _str(rec, key)
        if value and field == "published":
            date = iso_date(value)
            if date is None:
                warnings.append(f'"{key}": {value[:40]!r} is not a date (ISO 8601 or RFC 2822); ignored')
                continue
            value = date
        if value:
            update[field] = value
    update["warnings"] = warnings
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
            at = "" if exc.msg.endswith(" at") else " at"  # "Unterminated string starting at" has its own
            yield InputError(loc, f"not valid JSON ({exc.msg}{at} column {exc.colno})")
            continue
        try:
            yield article_from_record(rec, default_id=f"{stem}:{lineno}", where=loc, clean=clean,
                                      fields=fields)
        except InputError as exc:
            yield exc
