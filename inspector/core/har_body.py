"""HAR bodies back to the bytes a flow keeps.

HAR keeps a body decoded: "the HTTP response is decoded (decompressed &
unchunked), than trans-coded from its original character set into UTF-8"
(HAR 1.2, ``content.text``), or as base64 when it is not text. A flow keeps
a body as it was sent, with the headers that say how to decode it, and
everything downstream (viewer, copy, search, export) decodes by
Content-Encoding. So a text goes back into the charset its Content-Type
names, and then through the Content-Encoding the headers name (gzip,
deflate, br, zstd; at their fastest levels, since the bytes only stand in
for the wire's). A base64 body that already starts as that encoding (a
tool that wrote the wire bytes) is kept as it is; an unknown coding leaves
the body decoded, for the viewer to show as it is with a note. The headers
stay exactly as imported: Content-Length may not match the new bytes.

A form posted as ``params`` without ``text`` is rebuilt: multipart when its
type says so and names a boundary, ``application/x-www-form-urlencoded``
otherwise.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import gzip
import zlib
from collections.abc import Callable
from urllib.parse import quote_plus

import brotli
import zstandard

from inspector.core.bodyview import charset
from inspector.core.decode import DecodeError, decode_body, parse_encodings
from inspector.core.flow import HeaderSeq, Message

_ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": lambda data: gzip.compress(data, compresslevel=1, mtime=0),
    "x-gzip": lambda data: gzip.compress(data, compresslevel=1, mtime=0),
    "deflate": lambda data: zlib.compress(data, 1),
    "br": lambda data: bytes(brotli.compress(data, quality=1)),
    "zstd": lambda data: zstandard.ZstdCompressor(level=1).compress(data),
}
_MAGIC = {"gzip": b"\x1f\x8b", "x-gzip": b"\x1f\x8b", "zstd": b"\x28\xb5\x2f\xfd"}


def text_body(text: str, headers: HeaderSeq) -> bytes:
    """The bytes sent for a decoded HAR ``text``."""
    return as_sent(_in_charset(text, Message(headers=headers)), headers)


def base64_body(text: str, headers: HeaderSeq) -> bytes | None:
    """The bytes sent for a base64 HAR ``text`` (None if it is not base64)."""
    data = b64decode(text)
    if data is None:
        return None
    codings = _codings(headers)
    if codings and _already(data, codings[-1]):
        return data
    return as_sent(data, headers)


def as_sent(data: bytes, headers: HeaderSeq) -> bytes:
    """``data`` with the Content-Encoding ``headers`` name applied, unless
    one of them is unknown here."""
    codings = _codings(headers)
    if not data or not codings or any(coding not in _ENCODERS for coding in codings):
        return data
    for coding in codings:
        data = _ENCODERS[coding](data)
    return data


def _codings(headers: HeaderSeq) -> tuple[str, ...]:
    return parse_encodings(Message(headers=headers).header(b"content-encoding"))


def _already(data: bytes, coding: str) -> bool:
    """``data`` starts as ``coding`` (by its magic bytes) and decodes."""
    magic = _MAGIC.get(coding)
    # A zlib header: method 8, and the two bytes a multiple of 31.
    zlib_head = len(data) > 1 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
    if coding == "deflate" and zlib_head:
        magic = data[:2]
    if magic is None or not data.startswith(magic):
        return False
    try:
        decode_body(data, coding.encode(), limit=1)
    except DecodeError:
        return False
    return True


def _in_charset(text: str, message: Message) -> bytes:
    """``text`` in the charset the Content-Type names (UTF-8 otherwise, or
    when the text does not fit that charset)."""
    try:
        codec = codecs.lookup(charset(message)).name
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        codec = "utf-8"
    if codec != "utf-8":
        try:
            return text.encode(codec)
        except (UnicodeError, LookupError):
            pass
    return utf8(text)


def utf8(text: str) -> bytes:
    """UTF-8, lone surrogates (which JSON can carry) kept as their bytes."""
    return text.encode("utf-8", "surrogatepass")


def b64decode(text: str) -> bytes | None:
    """Base64, tolerating line breaks and missing padding; None if not."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        pass
    cleaned = "".join(text.split())
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def form_body(params: list[object], mime: str, headers: HeaderSeq) -> tuple[bytes, int]:
    """A body from ``postData.params`` and its type (or the request's
    Content-Type), and how many params were not name/value pairs."""
    pairs: list[tuple[str, str, dict[str, object]]] = []
    for param in params:
        if isinstance(param, dict):
            name, value = param.get("name"), param.get("value")
            value = "" if value is None else value
            if isinstance(name, str) and isinstance(value, str):
                pairs.append((name, value, param))
    bad = len(params) - len(pairs)
    content_type = mime or (Message(headers=headers).header(b"content-type") or b"").decode(
        "latin-1"
    )
    boundary = _boundary(content_type)
    if "multipart/form-data" not in content_type.lower() or not boundary:
        text = "&".join(f"{quote_plus(n)}={quote_plus(v)}" for n, v, _ in pairs)
        return as_sent(text.encode(), headers), bad
    parts = []
    for name, value, param in pairs:
        disposition = f'form-data; name="{name}"'
        file_name = param.get("fileName")
        if isinstance(file_name, str):
            disposition += f'; filename="{file_name}"'
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        part_type = param.get("contentType")
        if isinstance(part_type, str) and part_type:
            head += f"Content-Type: {part_type}\r\n"
        parts.append(utf8(f"{head}\r\n{value}\r\n"))
    return as_sent(b"".join(parts) + f"--{boundary}--\r\n".encode(), headers), bad


def _boundary(content_type: str) -> str:
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "boundary":
            return value.strip().strip('"')
    return ""
