"""The FlowRecorder: the one place where a flow's state changes.

Connection code (the client connection, forwarding, tunnels) says what
happened, "the response head went to the client", "the tunnel closed",
and the recorder creates the flow in the store, stamps the time, sets the
fields and the state, emits the matching event, and once the flow is over
packs its headers and accounts its bodies. No other engine code assigns a flow's fields, so
each state change has one owner and a window's notification can never be
forgotten or sent twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from inspector.core.capture import BodyCapture
from inspector.core.events import (
    BytesTransferred,
    EventSink,
    FlowCreated,
    FlowFailed,
    FlowFinished,
    FlowHeld,
    FlowPaused,
    FlowRequestHead,
    FlowResponseHead,
    FlowResumed,
    TunnelClosed,
    TunnelFailed,
    TunnelOpened,
    TunnelPassthrough,
    TunnelTlsEstablished,
    WebSocketMessage,
    WebSocketOpened,
)
from inspector.core.flow import (
    Flow,
    FlowError,
    FlowState,
    Message,
    Request,
    Response,
    TlsInfo,
    TunnelInfo,
)
from inspector.core.headers import PackedHeaders
from inspector.core.store import FlowStore
from inspector.core.websocket import UP, WebSocketInfo, WsMessage
from inspector.core.ws_decode import Decoded

PROGRESS_STEP = 1024 * 1024
"""A byte-progress event each time a response body crosses another MiB."""


class FlowRecorder:
    def __init__(
        self, store: FlowStore, sink: EventSink, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.sink = sink
        self.clock = clock
        """Every stamp's time source: a test injects one to check what
        ``core.timing`` makes of a stall."""
        self.on_settled: Callable[[Flow], None] | None = None
        """Told of each flow once it is over (the session writer)."""

    # Exchanges

    def created(
        self,
        client_addr: tuple[str, int],
        request: Request,
        tunnel: Flow | None = None,
        replay_of: int | None = None,
        client_name: str = "",
        composed: bool = False,
    ) -> Flow:
        """A request head arrived (inside the CONNECT flow ``tunnel``, if
        any, whose client it shares), or the engine is about to send flow
        ``replay_of``'s request again, or a request written by hand
        (``composed``)."""
        flow = self.store.new_flow(client_addr)
        flow.request = request
        flow.replay_of = replay_of
        flow.composed = composed
        flow.client_name = tunnel.client_name if tunnel is not None else client_name
        flow.t_start = self.clock()
        if tunnel is not None:
            flow.tunnel_id = tunnel.id
            assert tunnel.tunnel is not None
            tunnel.tunnel.inner_flows += 1
        self.sink.emit(FlowCreated(flow.id))
        return flow

    def sending_replay(self, flow: Flow) -> None:
        """A replay's turn came: its time starts now, not when it was
        queued with the others."""
        flow.t_start = self.clock()

    def aimed_at_proxy(self, flow: Flow, host: str, port: int) -> None:
        """The request is for the proxy itself (its help page)."""
        flow.request.host, flow.request.port = host, port

    def upstream_wanted(self, flow: Flow) -> None:
        """The engine asks for an upstream connection (pooled or new); the
        proxy's work on the request is over."""
        flow.t_upstream_begin = self.clock()

    def proxy_added(self, flow: Flow, seconds: float) -> None:
        """The engine added ``seconds`` outside the stamped gaps (a
        throttle's pacing, minting a certificate)."""
        if seconds > 0:
            flow.proxy_extra += seconds

    def upstream_connected(
        self,
        flow: Flow,
        address: tuple[str, int],
        tls: TlsInfo | None,
        new: bool,
        t_dns: float | None = None,
        t_connected: float | None = None,
    ) -> None:
        """A connection for the request: a new one (timed: resolved at
        ``t_dns``, TCP up at ``t_connected``, ready now) or one reused
        from the pool."""
        if new:
            flow.t_upstream_connected = self.clock()
            flow.t_dns, flow.t_connected = t_dns, t_connected
        flow.upstream_addr = address
        flow.upstream_tls = tls

    # Breakpoints

    def request_held(self, flow: Flow, body: bytes, truncated: bool) -> None:
        """The request was read (``body``, all of it unless ``truncated``)
        to be held at a breakpoint."""
        flow.request.body = body
        flow.request.body_size = len(body)
        flow.request.body_truncated = truncated

    def response_held(self, flow: Flow, response: Response) -> None:
        """The response head (and as much of its body as will be held)
        arrived; it goes to the client once a breakpoint lets it."""
        flow.response = response
        flow.t_response_start = self.clock()

    def paused(self, flow: Flow, phase: str) -> None:
        """A breakpoint holds the flow at ``phase``."""
        now = self.clock()
        flow.paused, flow.t_paused = phase, now
        self.sink.emit(FlowHeld(flow.id))
        self.sink.emit(FlowPaused(flow.id, phase, int(now * 1000)))

    def unpaused(self, flow: Flow, outcome: str, changed: str = "") -> None:
        """The held flow goes on (``outcome``: resumed, edited, aborted,
        gone); ``changed`` names what the edit changed."""
        phase = flow.paused
        if not phase:
            return
        if flow.t_paused is not None:
            flow.paused_total += self.clock() - flow.t_paused
        flow.paused = ""
        if changed:
            flow.edits.append(f"{phase}: {changed}")
        self.sink.emit(FlowHeld(flow.id))
        self.sink.emit(FlowResumed(flow.id, phase, outcome))

    def rule_applied(self, flow: Flow, rule: str, note: str) -> None:
        """Rule ``rule`` acted on the flow (``note`` says how)."""
        flow.applied.append(f"{rule}: {note}")

    def request_edited(
        self, flow: Flow, method: str, scheme: str, host: str, port: int, target: str
    ) -> None:
        request = flow.request
        request.method, request.scheme, request.host = method, scheme, host
        request.port, request.target = port, target

    def request_head_sent(self, flow: Flow) -> None:
        self.sink.emit(FlowRequestHead(flow.id))

    def request_sent(self, flow: Flow, body: BodyCapture | None = None) -> None:
        """The whole request went upstream (with ``body``, what was captured of it)."""
        if body is not None:
            _keep(flow.request, body)
        flow.t_request_sent = self.clock()

    def response_head_received(self, flow: Flow) -> None:
        """The upstream's response head arrived (the engine may hold it
        before it goes to the client)."""
        flow.t_response_head = self.clock()

    def response_started(self, flow: Flow, response: Response) -> None:
        """The response head went to the client; its body follows."""
        flow.response = response
        flow.t_response_start = self.clock()
        flow.state = FlowState.STREAMING
        self.sink.emit(FlowResponseHead(flow.id))

    def response_bytes(self, flow: Flow, size: int) -> None:
        """``size`` bytes of the response body have passed so far."""
        response = flow.response
        assert response is not None
        before, response.body_size = response.body_size, size
        if size // PROGRESS_STEP > before // PROGRESS_STEP:
            self.sink.emit(BytesTransferred("progress", str(flow.id), size))

    def response_body(self, flow: Flow, body: BodyCapture) -> None:
        """The response body ended (or was cut): what was captured of it."""
        assert flow.response is not None
        _keep(flow.response, body)

    def finished(self, flow: Flow, response: Response | None = None) -> None:
        """The exchange completed (answered locally with ``response``)."""
        if response is not None:
            flow.response = response
        flow.t_end = self.clock()
        flow.state = FlowState.COMPLETE
        self.sink.emit(FlowFinished(flow.id))
        self._settle(flow)

    def failed(self, flow: Flow, kind: str, message: str, response: Response | None = None) -> None:
        """The exchange failed (answered with ``response``, if one was sent)."""
        if response is not None:
            flow.response = response
        flow.error = FlowError(kind, message)
        flow.t_end = self.clock()
        flow.state = FlowState.FAILED
        self.sink.emit(FlowFailed(flow.id))
        self._settle(flow)

    def refused(
        self,
        client_addr: tuple[str, int],
        request: Request,
        response: Response,
        kind: str,
        message: str,
        client_name: str = "",
    ) -> Flow:
        """A head too broken to parse: recorded as made and failed at once."""
        flow = self.created(client_addr, request, client_name=client_name)
        self.failed(flow, kind, message, response)
        return flow

    # Tunnels (a CONNECT flow)

    def tunnel_opened(self, flow: Flow) -> TunnelInfo:
        """The client was told the tunnel is established."""
        info = TunnelInfo()
        flow.tunnel = info
        flow.response = Response(status=200, reason="Connection Established")
        flow.t_response_start = self.clock()
        self.sink.emit(TunnelOpened(flow.id))
        return info

    def tunnel_mode(self, flow: Flow, mode: str) -> None:
        """What the tunnel turned out to carry (``TunnelInfo.mode``)."""
        assert flow.tunnel is not None
        flow.tunnel.mode = mode

    def tunnel_tls(self, flow: Flow, side: str, tls: TlsInfo) -> None:
        """TLS is up on ``side`` (``client`` or ``upstream``)."""
        info = flow.tunnel
        assert info is not None
        if side == "client":
            info.client_tls = tls
        else:
            info.upstream_tls = tls
        self.sink.emit(TunnelTlsEstablished(flow.id, side))

    def tunnel_relaying(self, flow: Flow, address: tuple[str, int]) -> None:
        """Bytes now pass untouched to ``address``."""
        flow.upstream_addr = address
        flow.t_upstream_connected = self.clock()
        self.sink.emit(TunnelPassthrough(flow.id))

    def tunnel_bytes(self, flow: Flow, up: int = 0, down: int = 0) -> None:
        info = flow.tunnel
        assert info is not None
        info.bytes_up += up
        info.bytes_down += down

    def tunnel_closed(self, flow: Flow, error: FlowError | None = None) -> None:
        """The tunnel ended (with ``error``, if it failed), opened or not."""
        if flow.tunnel is None:
            flow.tunnel = TunnelInfo()
        flow.t_end = self.clock()
        if error is None:
            flow.state = FlowState.COMPLETE
            self.sink.emit(TunnelClosed(flow.id))
        else:
            flow.error = error
            flow.state = FlowState.FAILED
            self.sink.emit(TunnelFailed(flow.id))
        self._settle(flow)

    # WebSocket (a flow whose request upgraded)

    def websocket_opened(self, flow: Flow, info: WebSocketInfo) -> None:
        """The 101 went to the client; messages follow."""
        flow.websocket = info
        self.sink.emit(WebSocketOpened(flow.id))

    def websocket_bytes(self, flow: Flow, direction: int, size: int) -> None:
        """``size`` bytes were relayed in ``direction`` (frames and all)."""
        info = flow.websocket
        assert info is not None
        if direction == UP:
            info.wire_up += size
        else:
            info.wire_down += size

    def websocket_messages(
        self,
        flow: Flow,
        direction: int,
        decoded: list[Decoded],
        max_messages: int,
        max_bytes: int,
    ) -> None:
        """Messages completed in ``direction``; kept within the flow's
        limits and the store's budget."""
        info = flow.websocket
        assert info is not None
        now = self.clock()
        for item in decoded:
            message = WsMessage(
                0,
                direction,
                now,
                item.opcode,
                item.size,
                item.payload,
                item.compressed,
                item.close_code,
            )
            info.add(message, max_messages, max_bytes)
            if item.close_code is not None:
                if info.close_code is None:
                    info.close_code = item.close_code
                    info.close_reason = item.payload.decode("utf-8", "replace")
                    info.closed_by = direction
                elif info.closed_by != direction:
                    info.closing_handshake = True
        self.store.account_ws(flow)
        self.sink.emit(WebSocketMessage(flow.id))

    def websocket_undecodable(self, flow: Flow, direction: int, why: str) -> None:
        """Decoding stopped for ``direction``; the bytes still pass."""
        info = flow.websocket
        assert info is not None
        if not info.note:
            side = "client" if direction == UP else "server"
            info.note = f"decoding stopped ({side} side): {why}"
        self.sink.emit(WebSocketMessage(flow.id))

    def websocket_closed(self, flow: Flow, end: str, error: FlowError | None = None) -> None:
        """The WebSocket connection ended: ``end`` says how."""
        info = flow.websocket
        assert info is not None
        info.end = end
        flow.t_end = self.clock()
        if error is None:
            flow.state = FlowState.COMPLETE
            self.sink.emit(FlowFinished(flow.id))
        else:
            flow.error = error
            flow.state = FlowState.FAILED
            self.sink.emit(FlowFailed(flow.id))
        self._settle(flow)

    def _settle(self, flow: Flow) -> None:
        """The flow is over: its headers are packed (they no longer change,
        and packed they cost a fraction of the memory) and its bodies
        counted against the store's limit."""
        flow.request.headers = PackedHeaders.of(flow.request.headers)
        if flow.response is not None:
            flow.response.headers = PackedHeaders.of(flow.response.headers)
        self.store.account(flow)
        if self.on_settled is not None:
            self.on_settled(flow)


def _keep(message: Message, body: BodyCapture) -> None:
    message.body, message.body_size = body.value(), body.size
    message.body_truncated = body.truncated
