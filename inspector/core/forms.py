"""Form bodies read as fields: ``application/x-www-form-urlencoded`` and
``multipart/form-data``.

Exports list a form's fields (HAR's ``postData.params``) and redaction hides
the values of secret ones, so both need the same reading. Parsing is
lenient: a body cut at the capture limit still yields the fields it holds,
the last one cut short. Text is read as UTF-8 where it is valid and as
latin-1 where it is not, so no byte is lost or replaced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"

# A parameter of a structured header value: name=token or name="quoted"
# (RFC 9110 section 5.6.6), the quoted form with backslash escapes.
_PARAM = re.compile(r';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')
_ESCAPE = re.compile(r"\\(.)")


def text(data: bytes) -> str:
    """``data`` as UTF-8 when it is valid, else as latin-1 (every byte
    kept, one character each)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def unquote(value: str) -> str:
    """A form or query component decoded: ``+`` is a space, ``%XX`` a byte."""
    return text(unquote_to_bytes(value.replace("+", " ")))


def parse_urlencoded(body: str) -> list[tuple[str, str]]:
    """The ``(name, value)`` pairs of a query string or urlencoded form, in
    order, repeats kept; a field with no ``=`` has the value ``""``."""
    fields = []
    for piece in body.split("&"):
        if piece:
            name, _, value = piece.partition("=")
            fields.append((unquote(name), unquote(value)))
    return fields


def media_type(content_type: str) -> str:
    """``multipart/form-data; boundary=x`` -> ``multipart/form-data``."""
    return content_type.split(";", 1)[0].strip().lower()


def header_params(value: str) -> dict[str, str]:
    """The parameters of a header value (``; name="x"; filename=y``),
    names lowered, quotes and escapes undone; the first of a name wins."""
    params: dict[str, str] = {}
    for match in _PARAM.finditer(value):
        name, raw = match.group(1).lower(), match.group(2).strip()
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = _ESCAPE.sub(r"\1", raw[1:-1])
        params.setdefault(name, raw)
    return params


def boundary(content_type: str) -> bytes | None:
    """The boundary of a ``multipart/form-data`` type, or None."""
    if media_type(content_type) != MULTIPART:
        return None
    value = header_params(content_type).get("boundary")
    if not value:
        return None
    return value.encode("latin-1", "replace")


@dataclass(slots=True, frozen=True)
class Part:
    """One part of a multipart body; its content is ``body[start:end]``."""

    name: str | None
    filename: str | None
    content_type: str | None
    start: int
    end: int


def multipart_parts(body: bytes, boundary: bytes) -> list[Part]:
    """The parts of a multipart body (RFC 2046 section 5.1.1, RFC 7578), in
    order. The preamble and epilogue are skipped; a body that stops early
    ends with the part it was in, cut."""
    delimiter = b"--" + boundary
    parts: list[Part] = []
    at = body.find(delimiter)
    while at >= 0:
        after = at + len(delimiter)
        if body.startswith(b"--", after):
            break  # the close delimiter
        line_end = body.find(b"\r\n", after)
        if line_end < 0:
            break
        head_start = line_end + 2
        following = body.find(b"\r\n" + delimiter, head_start)
        end = following if following >= 0 else len(body)
        if body.startswith(b"\r\n", head_start):
            head, start = b"", head_start + 2
        else:
            head_end = body.find(b"\r\n\r\n", head_start, end)
            if head_end < 0:
                break
            head, start = body[head_start:head_end], head_end + 4
        parts.append(_part(head, start, end))
        at = following + 2 if following >= 0 else -1
    return parts


def _part(head: bytes, start: int, end: int) -> Part:
    disposition: dict[str, str] = {}
    content_type = None
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        key = name.strip().lower()
        if key == b"content-disposition":
            disposition = header_params(text(value.strip()))
        elif key == b"content-type":
            content_type = text(value.strip())
    return Part(disposition.get("name"), disposition.get("filename"), content_type, start, end)
