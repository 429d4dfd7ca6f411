"""WebSocket flows for the window's tests, in memory.

``WsEngine`` stands in for the engine behind ``EngineLink``: it holds
flows in a real store and answers ``detail``, ``ws_messages`` and
``ws_message`` as the engine's service does, with the same core encoding,
each reply through msgpack and back. It records what it was asked, and a
test may hold its replies (``hold``) to see what is asked while one is in
flight. ``add_websocket`` puts a WebSocket flow in a ``Feed`` for the
table's tests.
"""

from __future__ import annotations

import asyncio
from typing import Any

from inspector.core import ws_wire
from inspector.core.events import FlowCreated
from inspector.core.flow import Flow, FlowState, Request, Response
from inspector.core.protocol import MAX_BODY_RANGE, FrameReader, encode
from inspector.core.store import FlowStore
from inspector.core.websocket import (
    CLOSE,
    DEFAULT_MAX_FLOW_BYTES,
    DEFAULT_MAX_MESSAGES,
    TEXT,
    WebSocketInfo,
    WsMessage,
)
from inspector.core.wire import flow_to_wire
from tests.gui.feed import Feed


def websocket_flow(flow: Flow, tls: bool = False, protocol: str = "", extensions: str = "") -> None:
    """Make ``flow`` an open WebSocket to ``chat.test/socket``."""
    flow.request = Request(
        method="GET",
        scheme="https" if tls else "http",
        host="chat.test",
        port=443 if tls else 80,
        target="/socket",
    )
    flow.response = Response(status=101, reason="Switching Protocols")
    flow.t_start = 1_700_000_000.0 + flow.id
    flow.state = FlowState.STREAMING
    flow.websocket = WebSocketInfo(tls=tls, protocol=protocol, extensions=extensions)


def close_websocket(flow: Flow, code: int | None = 1000, by: int = 0, end: str = "closed") -> None:
    info = flow.websocket
    assert info is not None
    info.close_code, info.closed_by, info.end = code, by, end
    flow.state = FlowState.COMPLETE
    flow.t_end = flow.t_start + 5.0


class WsEngine:
    def __init__(
        self, max_messages: int = DEFAULT_MAX_MESSAGES, max_bytes: int = DEFAULT_MAX_FLOW_BYTES
    ) -> None:
        self.store = FlowStore()
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.connected = True
        self.asked: list[tuple[str, dict[str, Any]]] = []
        self._held: asyncio.Event | None = None
        self.waiting = 0
        """Replies held back at the moment."""

    def open(self, tls: bool = False, protocol: str = "", extensions: str = "") -> Flow:
        flow = self.store.new_flow(("127.0.0.1", 50000))
        websocket_flow(flow, tls, protocol, extensions)
        return flow

    def http(self) -> Flow:
        flow = self.store.new_flow(("127.0.0.1", 50000))
        flow.request = Request(method="GET", host="plain.test", port=80, target="/")
        flow.response = Response(status=200)
        flow.state = FlowState.COMPLETE
        flow.t_end = flow.t_start + 0.01
        return flow

    def send(
        self,
        flow: Flow,
        direction: int,
        payload: bytes | str,
        opcode: int = TEXT,
        close_code: int | None = None,
        size: int | None = None,
    ) -> WsMessage:
        """A message passed on ``flow``'s socket (``size`` larger than the
        payload: only the payload's bytes were captured)."""
        data = payload.encode() if isinstance(payload, str) else payload
        info = flow.websocket
        assert info is not None
        message = WsMessage(
            0,
            direction,
            flow.t_start + 0.25 * (info.next_seq + 1),
            opcode,
            len(data) if size is None else size,
            data,
            close_code=close_code,
        )
        info.add(message, self.max_messages, self.max_bytes)
        if opcode == CLOSE and info.close_code is None:
            info.close_code, info.closed_by = close_code, direction
            info.close_reason = data.decode()
        return message

    def hold(self) -> None:
        """Replies wait until ``release``."""
        self._held = asyncio.Event()

    def release(self) -> None:
        if self._held is not None:
            self._held.set()
        self._held = None

    def asked_for(self, op: str) -> list[dict[str, Any]]:
        return [args for each, args in self.asked if each == op]

    async def request(self, op: str, **args: Any) -> Any:
        self.asked.append((op, args))
        held = self._held
        if held is not None:
            self.waiting += 1
            try:
                await held.wait()
            finally:
                self.waiting -= 1
        flow = self.store.get(args["id"])
        info = flow.websocket if flow is not None else None
        if op == "detail":
            reply: Any = {"flow": flow_to_wire(flow) if flow is not None else None}
        elif op == "ws_messages":
            preview = min(args.get("preview", ws_wire.PREVIEW), MAX_BODY_RANGE)
            reply = ws_wire.page_to_wire(
                info, args.get("after", -1), args.get("limit", ws_wire.MAX_PAGE), preview
            )
        elif op == "ws_message":
            message = info.get(args["seq"]) if info is not None else None
            wire = ws_wire.message_to_wire(message, len(message.payload)) if message else None
            reply = {"message": wire}
        else:
            raise AssertionError(f"unexpected request {op}")
        [framed] = FrameReader().feed(encode({"t": "reply", "result": reply}))
        return framed["result"]


def add_websocket(feed: Feed, ups: int = 0, downs: int = 0, closed: bool = False) -> int:
    """A WebSocket flow in ``feed``'s store with ``ups`` and ``downs``
    messages of 100 bytes each way, open unless ``closed``."""
    flow = feed.store.new_flow(("127.0.0.1", 1))
    websocket_flow(flow, tls=True)
    info = flow.websocket
    assert info is not None
    for direction, count in ((0, ups), (1, downs)):
        for _ in range(count):
            info.add(WsMessage(0, direction, flow.t_start, TEXT, 100, b"x" * 100), 100, 10**6)
    if closed:
        close_websocket(flow)
    feed.relay.emit(FlowCreated(flow.id))
    return flow.id
