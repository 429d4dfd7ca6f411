"""A flow's WebSocket on the engine protocol.

The flow's details carry what the WebSocket is (subprotocol, extensions,
counters, how it closed) without its messages; the messages come by the
``ws_messages`` command, a page at a time after a sequence number, each
with a preview of its payload, and a whole payload by ``ws_message``.
So a window following a socket of 10,000 messages asks only for what is
new since it last looked.
"""

from __future__ import annotations

from typing import Any

from inspector.core.protocol import ProtocolError
from inspector.core.websocket import DOWN, UP, WebSocketInfo, WsMessage

MAX_PAGE = 2000
"""Messages in one ``ws_messages`` reply at most."""
PREVIEW = 256
"""Payload bytes sent with each message of a page."""

F_COMPRESSED = 1
F_DROPPED = 2

_COUNTERS = (
    "next_seq",
    "dropped",
    "kept_bytes",
    "msgs_up",
    "msgs_down",
    "bytes_up",
    "bytes_down",
    "wire_up",
    "wire_down",
)


def info_to_wire(info: WebSocketInfo) -> dict[str, Any]:
    wire: dict[str, Any] = {name: getattr(info, name) for name in _COUNTERS}
    wire.update(
        tls=info.tls,
        protocol=info.protocol,
        extensions=info.extensions,
        close_code=info.close_code,
        close_reason=info.close_reason,
        closed_by=info.closed_by,
        closing_handshake=info.closing_handshake,
        note=info.note,
        end=info.end,
    )
    return wire


def _fail(what: str) -> ProtocolError:
    return ProtocolError(f"malformed {what}")


def info_from_wire(value: Any) -> WebSocketInfo:
    if not isinstance(value, dict):
        raise _fail("websocket")
    info = WebSocketInfo()
    for name in _COUNTERS:
        number = value.get(name)
        if type(number) is not int or number < 0:
            raise _fail("websocket")
        setattr(info, name, number)
    for name in ("protocol", "extensions", "close_reason", "note", "end"):
        text = value.get(name)
        if not isinstance(text, str):
            raise _fail("websocket")
        setattr(info, name, text)
    code, by = value.get("close_code"), value.get("closed_by")
    if (code is not None and type(code) is not int) or by not in (None, UP, DOWN):
        raise _fail("websocket")
    info.close_code, info.closed_by = code, by
    info.tls = bool(value.get("tls"))
    info.closing_handshake = bool(value.get("closing_handshake"))
    return info


def message_to_wire(message: WsMessage, preview: int) -> list[Any]:
    flags = (F_COMPRESSED if message.compressed else 0) | (
        F_DROPPED if message.payload_dropped else 0
    )
    return [
        message.seq,
        message.direction,
        message.t,
        message.opcode,
        message.size,
        message.payload[:preview],
        flags,
        message.close_code,
    ]


def message_from_wire(value: Any) -> WsMessage:
    """A message of a page; its payload is the preview (or, from
    ``ws_message``, all that was kept)."""
    if not isinstance(value, list | tuple) or len(value) != 8:
        raise _fail("message")
    seq, direction, t, opcode, size, payload, flags, code = value
    if (
        type(seq) is not int
        or seq < 0
        or direction not in (UP, DOWN)
        or not isinstance(t, float | int)
        or type(opcode) is not int
        or type(size) is not int
        or size < 0
        or not isinstance(payload, bytes)
        or type(flags) is not int
        or (code is not None and type(code) is not int)
    ):
        raise _fail("message")
    return WsMessage(
        seq,
        direction,
        float(t),
        opcode,
        size,
        payload,
        bool(flags & F_COMPRESSED),
        code,
        bool(flags & F_DROPPED),
    )


def page_to_wire(
    info: WebSocketInfo | None, after: int, limit: int, preview: int
) -> dict[str, Any]:
    """The ``ws_messages`` reply: kept messages with ``seq > after``."""
    if info is None:
        return {"messages": [], "first_seq": 0, "next_seq": 0, "open": False}
    page = info.since(after)[: max(0, min(limit, MAX_PAGE))]
    return {
        "messages": [message_to_wire(m, preview) for m in page],
        "first_seq": info.first_seq(),
        "next_seq": info.next_seq,
        "open": info.open,
    }
