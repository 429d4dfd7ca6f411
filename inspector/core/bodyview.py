"""Deciding how to show a body, and rendering it as text.

The viewer picks JSON (pretty-printed), text, image or hex from the
Content-Type and, when that is missing or generic, from the bytes
themselves. Rendering is pure and may be slow for large bodies, so the GUI
runs it off the GUI thread; the results are plain strings.
"""

from __future__ import annotations

import codecs
import enum
import json
from dataclasses import dataclass

from inspector.core.decode import DecodeError, decode_body
from inspector.core.flow import Message

PREVIEW_LIMIT = 1024 * 1024
"""Bodies longer than this open truncated, with a "show all" action."""
HEX_WIDTH = 16


class BodyKind(enum.Enum):
    EMPTY = "empty"
    JSON = "json"
    TEXT = "text"
    IMAGE = "image"
    BINARY = "binary"


_TEXT_TYPES = ("text/", "application/xml", "application/javascript", "application/x-www-form")
_IMAGE_MAGIC = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"GIF87a",
    b"GIF89a",
    b"RIFF",
    b"BM",
)


@dataclass(slots=True, frozen=True)
class BodyView:
    kind: BodyKind
    data: bytes
    """The decoded body (Content-Encoding undone)."""
    text: str
    """What the text viewer shows (empty for images)."""
    note: str
    """One line about what was done: decoded, truncated, a decode error."""
    truncated: bool
    """Only the first PREVIEW_LIMIT bytes are rendered."""


def media_type(message: Message) -> str:
    value = message.header(b"content-type")
    if value is None:
        return ""
    return value.decode("latin-1").split(";", 1)[0].strip().lower()


def charset(message: Message) -> str:
    value = message.header(b"content-type")
    if value is not None:
        for param in value.decode("latin-1").split(";")[1:]:
            key, _, val = param.partition("=")
            if key.strip().lower() == "charset":
                return val.strip().strip('"') or "utf-8"
    return "utf-8"


def classify(mime: str, data: bytes) -> BodyKind:
    if not data:
        return BodyKind.EMPTY
    if mime == "application/json" or mime.endswith("+json"):
        return BodyKind.JSON
    if mime.startswith("image/") and mime != "image/svg+xml":
        return BodyKind.IMAGE
    if mime.startswith(_TEXT_TYPES) or mime.endswith("+xml") or mime == "image/svg+xml":
        return BodyKind.TEXT
    head = data[:512]
    if any(head.startswith(magic) for magic in _IMAGE_MAGIC):
        return BodyKind.IMAGE
    stripped = head.lstrip()
    if stripped[:1] in (b"{", b"[") and _is_json(data[:PREVIEW_LIMIT]):
        return BodyKind.JSON
    if _looks_textual(head):
        return BodyKind.TEXT
    return BodyKind.BINARY


def render(message: Message, show_all: bool = False) -> BodyView:
    """Decode and render ``message``'s captured body for display."""
    notes: list[str] = []
    data = message.body
    try:
        decoded = decode_body(data, message.header(b"content-encoding"))
    except DecodeError as exc:
        notes.append(f"{exc}; showing the raw bytes")
    else:
        data = decoded.data
        if decoded.encodings:
            notes.append(f"decoded from {', '.join(decoded.encodings)}")
        if decoded.truncated:
            notes.append("decoding stopped early")
    if message.body_truncated:
        notes.append(f"capture kept {len(message.body):,} of {message.body_size:,} bytes")
    kind = classify(media_type(message), data)
    shown = data if show_all else data[:PREVIEW_LIMIT]
    truncated = len(shown) < len(data)
    if truncated:
        notes.append(f"showing the first {len(shown):,} of {len(data):,} bytes")
    if kind is BodyKind.JSON:
        text = _pretty_json(shown, charset(message)) if not truncated else None
        if text is None:
            kind = BodyKind.TEXT
            text = shown.decode(_codec(charset(message)), "replace")
    elif kind is BodyKind.TEXT:
        text = shown.decode(_codec(charset(message)), "replace")
    elif kind is BodyKind.BINARY:
        text = hexdump(shown)
    else:
        text = ""
    return BodyView(kind, data, text, "; ".join(notes), truncated)


def hexdump(data: bytes) -> str:
    lines = []
    for offset in range(0, len(data), HEX_WIDTH):
        row = data[offset : offset + HEX_WIDTH]
        hexes = " ".join(f"{b:02x}" for b in row)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in row)
        lines.append(f"{offset:08x}  {hexes:<{HEX_WIDTH * 3 - 1}}  {text}")
    return "\n".join(lines)


def _pretty_json(data: bytes, encoding: str) -> str | None:
    try:
        value = json.loads(data.decode(_codec(encoding)))
    except (ValueError, UnicodeDecodeError):
        return None
    return json.dumps(value, indent=2, ensure_ascii=False)


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return False
    return True


def _looks_textual(head: bytes) -> bool:
    if b"\0" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is fine.
        return exc.start >= len(head) - 3
    return True


def _codec(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        return "utf-8"
