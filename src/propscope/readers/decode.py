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
    """Decode ``data`` read from ``source`` into text; raise InputError when it is not readable text.

    Order: empty check, BOM (UTF-8/16/32), UTF-16 without BOM, strict UTF-8, then charset-normalizer.
    "\\r\\n" and "\\r" become "\\n" (as Python's text mode reads files, which PTC offsets assume).
    A few NUL characters in otherwise readable text are kept here; cleaning removes them.
    """
    if len(data) > MAX_BYTES:
        raise InputError(source, too_large(len(data)))
    if not data.strip():
        raise InputError(source, "empty file")
    text: str | None = None
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
            text = _detect(data, source)
    if _looks_binary(text):
        raise InputError(source, "binary file, not text")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.replace("\x00", "").strip():
        raise InputError(source, "empty file")
    return text


def _detect(data: bytes, source: str) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data[:2_000_000]).best()
    if best is None or best.encoding is None:
        raise InputError(source, "binary file, not text (no text encoding fits)")
    try:
        return data.decode(best.encoding)
    except (UnicodeDecodeError, LookupError):
        raise InputError(source, f"could not decode the file as {best.encoding}") from None
