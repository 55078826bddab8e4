"""Read articles from files, directories, stdin or strings. The format is chosen by content.

    article_from_text(text, id=...)   plain text (title line, blank line, body), as in PTC
    article_from_html(html, id=...)   an HTML page, via trafilatura
    read_one(path_or_text)            one article
    iter_articles([paths or "-"])     many articles; failures come as InputError items, not exceptions
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from .errors import InputError
from .readers.decode import MAX_BYTES, decode_text, gunzip, too_large
from .readers.html import article_from_html
from .readers.jsonl import iter_jsonl
from .readers.text import article_from_text, with_notes
from .schema import Article

__all__ = [
    "DIRECTORY_SUFFIXES", "MAX_BYTES", "article_from_html", "article_from_text", "article_id",
    "iter_articles", "read_one", "sniff_format",
]

DIRECTORY_SUFFIXES = (".txt", ".html", ".htm", ".jsonl")
"""Files a directory walk picks up, each also gzipped (``.txt.gz`` ...)."""

_HTML = re.compile(r"<(!doctype\s+html|html|head|body|article|p|div|title|meta)\b[^>]*>", re.IGNORECASE)
_HTML_STRONG = re.compile(r"<(!doctype\s+html|html|body)\b", re.IGNORECASE)


def sniff_format(text: str) -> str:
    """"html", "jsonl" or "text", judged from the content."""
    head = text[:4096].lstrip("\ufeff \t\r\n")
    if head.startswith("{"):
        return "jsonl"
    if _HTML_STRONG.search(text[:4096]) or (head.startswith("<") and _HTML.search(head)):
        return "html"
    return "text"


def _stem(path: Path) -> str:
    name = path.name
    if name.lower().endswith(".gz"):
        name = name[:-3]
    return Path(name).stem or name


def article_id(path: str | os.PathLike[str]) -> str:
    """The id for a file: the digits of ``article<ID>.txt`` (PTC), else the file name without extension."""
    stem = _stem(Path(path))
    m = re.fullmatch(r"article(\d+)", stem)
    return m.group(1) if m else stem


def _read_file(path: Path) -> tuple[str, list[str]]:
    src = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES and not path.name.lower().endswith(".gz"):
            raise InputError(src, too_large(size))
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(src, "no such file or directory") from None
    except IsADirectoryError:
        raise InputError(src, "is a directory") from None
    except PermissionError:
        raise InputError(src, "permission denied") from None
    except OSError as exc:
        raise InputError(src, f"cannot read file ({exc.strerror or exc})") from None
    if data[:2] == b"\x1f\x8b":
        data = gunzip(data, src)
    return decode_text(data, src)


def _from_content(
    text: str, *, aid: str, stem: str, source: str, clean: bool, fmt: str | None = None,
    fields: Mapping[str, str] | None = None,
    notes: Sequence[str] = (),
) -> Iterator[Article | InputError]:
    fmt = fmt or sniff_format(text)
    try:
        if fmt == "jsonl":
            if _is_propscope_output(text):
                yield InputError(source, "holds propscope output (analyses), not articles; skipped")
                return
            items: Iterator[Article | InputError] = iter_jsonl(text, stem=stem, where=source, clean=clean,
                                                            fields=fields)
        elif fmt == "html":
            items = iter([article_from_html(text, id=aid, source=source, clean=clean)])
        else:
            items = iter([article_from_text(text, id=aid, source=source, clean=clean)])
        for item in items:
            yield with_notes(item, list(notes)) if isinstance(item, Article) else item
    except InputError as exc:
        yield exc


def _is_propscope_output(text: str) -> bool:
    """Whether JSON Lines ``text`` starts with an Analysis written by ``propscope analyze -f jsonl``."""
    import json

    first = text.lstrip("\ufeff \t\n")[:200_000].split("\n", 1)[0]
    try:
        rec = json.loads(first)
    except (json.JSONDecodeError, RecursionError):
        return False
    return isinstance(rec, dict) and "schema_version" in rec and isinstance(rec.get("article"), dict)


def _read_path(path: Path, *, clean: bool, fields: Mapping[str, str] | None = None
               ) -> Iterator[Article | InputError]:
    try:
        text, notes = _read_file(path)
    except InputError as exc:
        yield exc
        return
    fmt = "jsonl" if path.name.lower().endswith((".jsonl", ".jsonl.gz", ".ndjson")) else None
    yield from _from_content(text, aid=article_id(path), stem=_stem(path), source=str(path), clean=clean,
                             fmt=fmt, notes=notes, fields=fields)


def _single(items: list[Article | InputError], source: str) -> Article:
    if len(items) == 1:
        if isinstance(items[0], InputError):
            raise items[0]
        return items[0]
    if not items:
        raise InputError(source, "no article found")
    raise InputError(source, f"holds {len(items)} articles (JSON Lines); read them with "
                             "propscope.read.iter_articles() or `propscope analyze`")


_PATHLIKE = re.compile(r"\S+\.(txt|html?|jsonl|gz)", re.IGNORECASE)


def read_one(source: str | os.PathLike[str], *, clean: bool = True) -> Article:
    """Read one article from a file path, or from a string holding the article itself.

    A ``str`` naming an existing file is read as that file; any other string is the article content
    (HTML when it looks like HTML, else plain text), with id "text". Raises InputError on failure.
    """
    if isinstance(source, str):
        one_line = "\n" not in source and len(source) < 4096 and "\x00" not in source
        if one_line and source and os.path.exists(source):
            return read_one(Path(source), clean=clean)
        if one_line and _PATHLIKE.fullmatch(source.strip()):
            raise InputError(source, "no such file or directory")
        if not source.replace("\x00", "").strip():
            raise InputError("<text>", "empty text")
        items = list(_from_content(source, aid="text", stem="text", source="<text>", clean=clean,
                                   fmt="html" if sniff_format(source) == "html" else "text"))
        return _single(items, "<text>")
    path = Path(source)
    if path.is_dir():
        raise InputError(str(path), "is a directory; read it with propscope.read.iter_articles()")
    return _single(list(_read_path(path, clean=clean)), str(path))


def _walk(root: Path, skip: frozenset[Path] = frozenset()) -> tuple[list[Path], list[InputError]]:
    """Article files under ``root``, recursively, in sorted order, and an error for each directory that
    cannot be read; hidden entries and the files in ``skip`` (resolved paths) are left out."""
    found: list[Path] = []
    errors: list[InputError] = []

    def unreadable(exc: OSError) -> None:
        errors.append(InputError(str(exc.filename or root), f"cannot read directory ({exc.strerror or exc})"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for f in filenames:
            low = f.lower()
            if f.startswith("."):
                continue
            if low.endswith(DIRECTORY_SUFFIXES) or low.endswith(tuple(s + ".gz" for s in DIRECTORY_SUFFIXES)):
                if skip and (Path(dirpath) / f).resolve() in skip:
                    continue
                found.append(Path(dirpath) / f)
    return sorted(found, key=lambda p: str(p)), errors


def _read_stdin(*, clean: bool, fields: Mapping[str, str] | None = None) -> Iterator[Article | InputError]:
    try:
        data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
        if data[:2] == b"\x1f\x8b":
            data = gunzip(data, "<stdin>")
        text, notes = decode_text(data, "<stdin>")
    except InputError as exc:
        yield exc
        return
    yield from _from_content(text, aid="stdin", stem="stdin", source="<stdin>", clean=clean, notes=notes,
                             fields=fields)


def iter_articles(
    inputs: Sequence[str | os.PathLike[str]], *, clean: bool = True,
    jsonl_fields: Mapping[str, str] | None = None,
    skip: Sequence[str | os.PathLike[str]] = (),
) -> Iterator[Article | InputError]:
    """Articles from files, directories (recursive: .txt, .html, .htm, .jsonl and their .gz, sorted) and
    ``"-"`` (stdin; format sniffed). Each input that fails yields an InputError instead, so a batch goes on.
    ``jsonl_fields`` renames JSON Lines keys (see ``propscope.readers.jsonl.rename_fields``).
    Files in ``skip`` (such as the output file) are left out of directory walks.
    """
    skipped = frozenset(Path(p).resolve() for p in skip)
    for inp in inputs:
        if isinstance(inp, str) and inp == "-":
            yield from _read_stdin(clean=clean, fields=jsonl_fields)
            continue
        path = Path(inp)
        if path.is_dir():
            files, errors = _walk(path, skipped)
            yield from errors
            if not files and not errors:
                yield InputError(str(path), "no .txt, .html, .htm or .jsonl files in this directory")
            for f in files:
                yield from _read_path(f, clean=clean, fields=jsonl_fields)
        elif not path.exists():
            yield InputError(str(path), "no such file or directory")
        else:
            yield from _read_path(path, clean=clean, fields=jsonl_fields)
