"""WebSocket messages as a flow keeps them.

A WebSocket flow is the upgrade request, its 101 answer, and then the
messages each way, recorded by decoding a copy of the relayed bytes. The
flow keeps the most recent messages up to a count and a byte size (older
ones are dropped, counted); each message keeps its payload up to a cap.
Counters (messages and payload bytes each way, bytes on the wire) cover
every message, kept or not, so the row stays right for endless streams.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field

from inspector.core.flow import HeaderSeq

TEXT = 1
BINARY = 2
CLOSE = 8
PING = 9
PONG = 10
OPCODE_NAMES = {TEXT: "text", BINARY: "binary", CLOSE: "close", PING: "ping", PONG: "pong"}

MESSAGE_CAPTURE = 256 * 1024
"""Payload bytes kept of one message; its size is always known."""
DEFAULT_MAX_MESSAGES = 10_000
DEFAULT_MAX_FLOW_BYTES = 8 * 1024 * 1024
DEFAULT_MEMORY_LIMIT = 256 * 1024 * 1024
MESSAGE_COST = 200
"""Bytes a kept message's record costs besides its payload (measured:
a slotted record, its float time and sizes, and its deque slot)."""

UP = 0
"""Client to server."""
DOWN = 1
"""Server to client."""


def is_websocket_upgrade(headers: HeaderSeq) -> bool:
    """Whether request ``headers`` (raw pairs) ask to upgrade to WebSocket:
    ``Upgrade: websocket`` with ``upgrade`` among the Connection tokens."""
    upgrade = connection = False
    for name, value in headers:
        # Checked on every request: comparing lengths first keeps the
        # common case (no such field) to one len() a field.
        size = len(name)
        if size == 7 and name.lower() == b"upgrade":
            tokens = (t.strip().lower() for t in value.split(b","))
            upgrade = upgrade or any(t.split(b"/")[0] == b"websocket" for t in tokens)
        elif size == 10 and name.lower() == b"connection":
            connection = connection or any(
                t.strip().lower() == b"upgrade" for t in value.split(b",")
            )
    return upgrade and connection


@dataclass(slots=True)
class WsMessage:
    seq: int
    """Position in the flow's messages, from 0, dropped ones included."""
    direction: int
    """``UP`` (client to server) or ``DOWN``."""
    t: float
    """When the message's last byte passed."""
    opcode: int
    size: int
    """Payload bytes (after permessage-deflate)."""
    payload: bytes = b""
    """Up to ``MESSAGE_CAPTURE`` bytes; for a close frame, its reason."""
    compressed: bool = False
    close_code: int | None = None
    payload_dropped: bool = False
    """The payload went to stay within the memory budget."""

    @property
    def truncated(self) -> bool:
        return len(self.payload) < self.size and not self.payload_dropped


@dataclass(slots=True)
class WebSocketInfo:
    """What a flow's WebSocket carried; the counters cover every message."""

    tls: bool = False
    """Over TLS (``wss://``)."""
    protocol: str = ""
    """The subprotocol the server chose (Sec-WebSocket-Protocol)."""
    extensions: str = ""
    """The extensions the server accepted (Sec-WebSocket-Extensions)."""
    messages: deque[WsMessage] = field(default_factory=deque)
    """The kept messages, oldest first."""
    next_seq: int = 0
    kept_bytes: int = 0
    """Payload bytes held by ``messages``."""
    dropped: int = 0
    """Messages dropped from the front to stay within the flow's limits."""
    msgs_up: int = 0
    """Text and binary messages client to server (control frames are kept
    in ``messages`` but not counted)."""
    msgs_down: int = 0
    bytes_up: int = 0
    """Payload bytes of every message client to server."""
    bytes_down: int = 0
    wire_up: int = 0
    """Bytes relayed client to server, frames and all."""
    wire_down: int = 0
    close_code: int | None = None
    """The code of the first close frame (1005 when it had none)."""
    close_reason: str = ""
    closed_by: int | None = None
    """Who sent the first close frame (``UP`` is the client)."""
    closing_handshake: bool = False
    """Both sides sent a close frame."""
    note: str = ""
    """Why decoding stopped (the bytes still passed untouched)."""
    end: str = ""
    """How the connection ended, when it has: ``closed`` after a closing
    handshake, or what happened instead."""

    @property
    def open(self) -> bool:
        return not self.end

    def first_seq(self) -> int:
        return self.messages[0].seq if self.messages else self.next_seq

    def add(self, message: WsMessage, max_messages: int, max_bytes: int) -> int:
        """Keep ``message`` (its ``seq`` is set here), dropping the oldest
        kept messages past ``max_messages`` or ``max_bytes`` of payload;
        return the change in payload bytes held."""
        message.seq = self.next_seq
        self.next_seq += 1
        if message.opcode not in (TEXT, BINARY):
            pass  # control frames are listed, not counted as messages
        elif message.direction == UP:
            self.msgs_up += 1
            self.bytes_up += message.size
        else:
            self.msgs_down += 1
            self.bytes_down += message.size
        messages = self.messages
        messages.append(message)
        before = self.kept_bytes
        self.kept_bytes += len(message.payload)
        while len(messages) > max_messages or (self.kept_bytes > max_bytes and len(messages) > 1):
            self.kept_bytes -= len(messages.popleft().payload)
            self.dropped += 1
        if self.kept_bytes > max_bytes:
            # One message alone over the flow's budget keeps its size only.
            message.payload = b""
            message.payload_dropped = True
            self.kept_bytes = 0
        return self.kept_bytes - before

    def drop_payloads(self, need: int) -> int:
        """Drop the payloads of the oldest kept messages until ``need``
        bytes are freed (or none are left); return the bytes freed."""
        freed = 0
        for message in self.messages:
            if freed >= need:
                break
            if message.payload:
                freed += len(message.payload)
                message.payload = b""
                message.payload_dropped = True
        self.kept_bytes -= freed
        return freed

    def drop_oldest(self, count: int) -> int:
        """Drop up to ``count`` of the oldest kept messages whole; return
        how many went."""
        messages = self.messages
        count = min(count, len(messages))
        for _ in range(count):
            self.kept_bytes -= len(messages.popleft().payload)
        self.dropped += count
        return count

    def since(self, after: int) -> list[WsMessage]:
        """Kept messages with ``seq > after``."""
        messages = self.messages
        if not messages:
            return []
        start = max(after + 1 - messages[0].seq, 0)
        if start >= len(messages):
            return []
        return list(itertools.islice(messages, start, None))

    def get(self, seq: int) -> WsMessage | None:
        messages = self.messages
        if not messages:
            return None
        index = seq - messages[0].seq
        return messages[index] if 0 <= index < len(messages) else None
