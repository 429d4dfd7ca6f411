"""The engine's reads of one flow: its details (``detail``), a range of a
body (``body``) and its WebSocket messages (``ws_messages``,
``ws_message``), answered at once from the store, or from the session
file for bodies that left memory (docs/protocol.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from inspector.core import protocol, wire, ws_wire
from inspector.core.protocol import ProtocolError, field
from inspector.core.store import FlowStore


class BodySource(Protocol):
    async def read_bodies(self, flow_id: int) -> tuple[bytes, bytes]: ...


class ReadsHost(Protocol):
    """What the reads need of the engine service."""

    @property
    def store(self) -> FlowStore: ...
    @property
    def bodies(self) -> BodySource | None: ...


class FlowReads:
    def __init__(self, host: ReadsHost) -> None:
        self._host = host
        self.handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "detail": self.detail,
            "body": self.body,
            "ws_messages": self.ws_messages,
            "ws_message": self.ws_message,
        }

    def detail(self, args: dict[str, Any]) -> dict[str, Any] | Awaitable[dict[str, Any]]:
        flow = self._host.store.get(field(args, "id", int, "detail"))
        inline = args.get("inline", wire.BODY_INLINE)
        if type(inline) is not int or inline < 0:
            raise ProtocolError("'inline' must be a byte count")
        inline = min(inline, protocol.MAX_BODY_RANGE)
        if flow is None:
            return {"flow": None}
        described = wire.flow_to_wire(flow, inline)
        if flow.bodies_on_disk and self._host.bodies is not None:
            return self._detail_from_disk(flow.id, described, inline)
        return {"flow": described}

    async def _detail_from_disk(
        self, flow_id: int, described: dict[str, Any], inline: int
    ) -> dict[str, Any]:
        bodies_source = self._host.bodies
        assert bodies_source is not None
        bodies = await bodies_source.read_bodies(flow_id)
        for side, body in zip(("request", "response"), bodies, strict=True):
            message = described.get(side)
            if message is not None:
                message["body"], message["captured"] = body[:inline], len(body)
        return {"flow": described}

    def body(self, args: dict[str, Any]) -> dict[str, Any] | Awaitable[dict[str, Any]]:
        flow = self._host.store.get(field(args, "id", int, "body"))
        side = field(args, "side", str, "body")
        offset, length = field(args, "offset", int, "body"), field(args, "length", int, "body")
        if side not in ("request", "response") or offset < 0 or length < 0:
            raise ProtocolError("'body' takes side request|response and a non-negative range")
        message = None
        if flow is not None:
            message = flow.request if side == "request" else flow.response
        if message is None or flow is None:
            return {"data": None, "captured": 0}
        length = min(length, protocol.MAX_BODY_RANGE)
        if flow.bodies_on_disk and self._host.bodies is not None:
            return self._body_from_disk(flow.id, side, offset, length)
        body = message.body
        return {"data": body[offset : offset + length], "captured": len(body)}

    async def _body_from_disk(
        self, flow_id: int, side: str, offset: int, length: int
    ) -> dict[str, Any]:
        bodies_source = self._host.bodies
        assert bodies_source is not None
        bodies = await bodies_source.read_bodies(flow_id)
        body = bodies[0] if side == "request" else bodies[1]
        return {"data": body[offset : offset + length], "captured": len(body)}

    def ws_messages(self, args: dict[str, Any]) -> dict[str, Any]:
        """A page of a WebSocket flow's kept messages after ``after``."""
        flow = self._host.store.get(field(args, "id", int, "ws_messages"))
        after = args.get("after", -1)
        limit = args.get("limit", ws_wire.MAX_PAGE)
        preview = args.get("preview", ws_wire.PREVIEW)
        if any(type(v) is not int for v in (after, limit, preview)) or limit < 0 or preview < 0:
            raise ProtocolError("'ws_messages' takes integer after, limit and preview")
        info = flow.websocket if flow is not None else None
        return ws_wire.page_to_wire(info, after, limit, min(preview, protocol.MAX_BODY_RANGE))

    def ws_message(self, args: dict[str, Any]) -> dict[str, Any]:
        """One kept message, its whole kept payload included."""
        flow = self._host.store.get(field(args, "id", int, "ws_message"))
        seq = field(args, "seq", int, "ws_message")
        info = flow.websocket if flow is not None else None
        message = info.get(seq) if info is not None else None
        if message is None:
            return {"message": None}
        return {"message": ws_wire.message_to_wire(message, len(message.payload))}
