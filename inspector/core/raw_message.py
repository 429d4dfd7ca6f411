"""A request or response as it went over the wire: start line, header lines
and body bytes (RFC 9112 section 2.1), for "Open raw" and "Save raw".

The flow keeps the header lines as they came, in order and case, and the
body as captured after transfer decoding (RFC 9112 section 7: chunked
framing is gone). So the raw form is exact except for framing; a note
says where it is not, and a body with a Content-Encoding can be shown
decoded on request, the note saying so.
"""

from __future__ import annotations

from dataclasses import dataclass

from inspector.core.decode import DecodeError, decode_body, parse_encodings
from inspector.core.flow import Message, Request, Response


def start_line(message: Message) -> bytes:
    """``GET /p HTTP/1.1`` or ``HTTP/1.1 200 OK``."""
    if isinstance(message, Request):
        return f"{message.method} {message.target} HTTP/{message.version}".encode("latin-1")
    if isinstance(message, Response):
        reason = f" {message.reason}" if message.reason else ""
        return f"HTTP/{message.version} {message.status}{reason}".encode("latin-1")
    raise TypeError(type(message).__name__)


def head(message: Message) -> bytes:
    """The start line and header lines, each ended by CRLF, and the empty
    line that ends the head."""
    lines = [start_line(message)]
    lines.extend(name + b": " + value for name, value in message.headers)
    return b"\r\n".join(lines) + b"\r\n\r\n"


def raw_bytes(message: Message) -> bytes:
    """Head and captured body, as sent."""
    return head(message) + message.body


@dataclass(slots=True, frozen=True)
class RawView:
    data: bytes
    """Head and body, the body decoded when asked for and possible."""
    body_start: int
    notes: tuple[str, ...]


def raw_view(message: Message, decoded: bool = False) -> RawView:
    """The raw message for display, with notes on where it differs from
    the bytes on the wire."""
    notes: list[str] = []
    body = message.body
    chunked = any(
        name.lower() == b"transfer-encoding" and b"chunked" in value.lower()
        for name, value in message.headers
    )
    if chunked:
        notes.append("Body shown without its chunked framing")
    if message.body_truncated:
        notes.append(f"Capture kept {len(message.body):,} of {message.body_size:,} body bytes")
    encodings = parse_encodings(message.header(b"content-encoding"))
    if encodings and body:
        names = ", ".join(encodings)
        if decoded:
            try:
                body = decode_body(body, message.header(b"content-encoding")).data
            except DecodeError as exc:
                notes.append(f"Body as sent: {exc}")
            else:
                notes.append(f"Body decoded from {names} ({len(message.body):,} bytes as sent)")
        else:
            notes.append(f"Body as sent, {names}-encoded")
    start = head(message)
    return RawView(start + body, len(start), tuple(notes))


def as_text(data: bytes) -> str:
    """Raw bytes for a text view: UTF-8 where valid, each other byte as
    the latin-1 character it would be, so every byte shows and none is
    dropped. NUL and other controls (except tab, CR and LF) are shown as
    the Unicode control pictures."""
    text = data.decode("utf-8", "surrogateescape")
    if text.isascii() and text.isprintable():
        return text
    return text.translate(_VISIBLE)


_VISIBLE = {
    **{c: 0x2400 + c for c in range(32) if c not in (9, 10, 13)},
    0x7F: 0x2421,
    **{0xDC00 + b: b for b in range(128, 256)},
}
