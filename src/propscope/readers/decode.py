"""Bytes -> text: size limit, gzip, BOMs, UTF-8, other encodings, and binary detection."""

from __future__ import annotations

import codecs
import gzip
import re
import zlib

from ..errors import InputError

MAX_BYTES = 50 * 1024 * 1024
"""Largest input (after gunzipping) propscope reads: 50 MiB."""

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: both start with FF FE
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_CONTROL = re.compile(r"[\x01-\x08\x0b\x0e-\x1f\x7f\ufffd]")
_MAX_CONTROL_SHARE = 0.05
_MAX_NUL_SHARE = 0.01


def too_large(size: int) -> str:
    return f"file too large ({size / 1024 / 1024:.1f} MB; the limit is {MAX_BYTES // 1024 // 1024} MB)"


def gunzip(data: bytes, source: str) -> bytes:
    """Decompress gzip ``data``, refusing output over MAX_BYTES."""
    try:
        d = zlib.decompressobj(wbits=31)
        out = d.decompress(data, MAX_BYTES + 1)
    except (zlib.error, EOFError, gzip.BadGzipFile) as exc:
        raise InputError(source, f"not a valid gzip file ({exc})") from None
    if len(out) > MAX_BYTES:
        limit = MAX_BYTES // 1024 // 1024
        raise InputError(source, f"file too large once decompressed (more than {limit} MB)")
    if not d.eof:
        raise InputError(source, "not a valid gzip file (truncated)")
    return out


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text without a BOM shows NUL in every other byte (for mostly-ASCII text)."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even = sample[0::2].count(0) / len(sample[0::2])
    odd = sample[1::2].count(0) / len(sample[1::2])
    enc = "utf-16-le" if odd > 0.4 and even < 0.1 else "utf-16-be" if even > 0.4 and odd < 0.1 else None
    if enc is None:
        return None
    try:
        return data.decode(enc)
    except UnicodeDecodeError:
        return None


def _looks_binary(text: str) -> bool:
    sample = text[:1_000_000]
    if not sample:
        return False
    nul = sample.count("\x00")
    if nul / len(sample) > 0.1 or (nul > 16 and nul / len(sample) > _MAX_NUL_SHARE):
        return True
    return len(_CONTROL.findall(sample)) / len(sample) > _MAX_CONTROL_SHARE


def decode_bytes(data: bytes, source: str) -> str:
    """Decode ``data`` read from ``source`` into text (see ``decode_text``), without the notes."""
    return decode_text(data, source)[0]


def decode_text(data: bytes, source: str) -> tuple[str, list[str]]:
    """Decode ``data`` read from ``source`` into text and notes on what decoding replaced; raise InputError
    when it is not readable text.

    Order: empty check, BOM (UTF-8/16/32), UTF-16 without BOM, strict UTF-8, UTF-8 with a few invalid
    bytes (replaced by U+FFFD, noted), then a legacy encoding chosen by charset-normalizer.
    "\\r\\n" and "\\r" become "\\n" (as Python's text mode reads files, which PTC offsets assume).
    A few NUL characters in otherwise readable text are kept here; cleaning removes them.
    """
    if len(data) > MAX_BYTES:
        raise InputError(source, too_large(len(data)))
    if not data.strip():
        raise InputError(source, "empty file")
    text: str | None = None
    notes: list[str] = []
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(enc)
            except UnicodeDecodeError as exc:
                reason = f"not valid {enc.upper()} text despite its byte order mark ({exc.reason})"
                raise InputError(source, reason) from None
            break
    if text is None and b"\x00" in data[:4096]:
        text = _utf16_without_bom(data)
    if text is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            nul = data.count(b"\x00")
            if nul > 16 and nul > len(data) * _MAX_NUL_SHARE:
                raise InputError(source, "binary file, not text") from None
            text, bad = _mostly_utf8(data)
            if text is not None:
                notes.append(f"{bad} invalid UTF-8 byte sequence{'s' if bad != 1 else ''} replaced by U+FFFD")
            else:
                text = _detect(data, source)
    if _looks_binary(text):
        raise InputError(source, "binary file, not text")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.replace("\x00", "").strip():
        raise InputError(source, "empty file")
    return text, notes


MAX_BAD_UTF8_SHARE = 0.2
"""UTF-8 text with invalid bytes is still read as UTF-8 while the invalid sequences are at most this share
of its non-ASCII characters (a scraper's stray byte); past it a legacy encoding is looked for."""


def _mostly_utf8(data: bytes) -> tuple[str | None, int]:
    """``(text, invalid sequences)`` when ``data`` is UTF-8 but for a few invalid bytes, else (None, 0)."""
    escaped = data.decode("utf-8", errors="surrogateescape")
    bad_bytes = sum(1 for c in escaped if "\udc80" <= c <= "\udcff")
    valid = sum(1 for c in escaped if c > "\x7f" and not "\udc80" <= c <= "\udcff")
    if valid == 0 or bad_bytes > MAX_BAD_UTF8_SHARE * (valid + bad_bytes):
        return None, 0
    text = data.decode("utf-8", errors="replace")
    return text, text.count("\ufffd") - escaped.count("\ufffd")


# Languages written in windows-1252; text in one of them, or too short to tell, is read as windows-1252 when
# that encoding fits as well as charset-normalizer's first choice (the WHATWG default for Western pages).
_WESTERN = frozenset("af br ca da de en es eu fi fo fr ga gl id is it la lb ms nb nl nn no oc pt sv sw wa"
                     .split())


def _detect(data: bytes, source: str) -> str:
    from charset_normalizer import from_bytes

    sample = data[:2_000_000]
    results = list(from_bytes(sample))
    if not results:
        raise InputError(source, "binary file, not text (no text encoding fits)")
    least = min(m.chaos for m in results)
    fits = [m for m in results if m.chaos <= least + 0.01]
    encoding = fits[0].encoding
    if encoding != "cp1252" and _cp1252_fits(sample, fits):
        from ..lang import identify

        lang, prob = identify(str(fits[0]))
        if lang in _WESTERN or prob < 0.9:
            encoding = "cp1252"
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        raise InputError(source, f"could not decode the file as {encoding}") from None


def _cp1252_fits(sample: bytes, fits: list) -> bool:
    """Whether windows-1252 is among the best fits (charset-normalizer lists one of several encodings that
    give the same text, so compare texts)."""
    try:
        text = sample.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return any(m.encoding == "cp1252" or str(m) == text for m in fits)
