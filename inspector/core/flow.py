"""The flow model: one request/response exchange as the proxy saw it.

A flow lives in the engine and changes only through its recorder; the
window sees its summary row and, on request, its details as a copy.
Writers replace whole values (a new header list, a new body) rather than
mutating containers. Headers stay as the raw
``(name, value)`` byte pairs from the wire and bodies as raw bytes; anything
prettier is computed lazily by whoever displays them. Timestamps are plain
``time.time()`` floats so the hot path pays nothing for them.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inspector.core.websocket import WebSocketInfo

Headers = list[tuple[bytes, bytes]]
"""Headers being built, as the wire gives them."""
HeaderSeq = Sequence[tuple[bytes, bytes]]
"""Headers as a message holds them: a list, or packed once the flow is over
(``core.headers``)."""

DEFAULT_PORTS = {"http": 80, "https": 443}
_URL_PORTS = {**DEFAULT_PORTS, "ws": 80, "wss": 443}


def bracketed(host: str) -> str:
    """``host`` as an authority spells it: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host


def authority(host: str, port: int) -> str:
    """``host:port``, IPv6 in brackets."""
    return f"{bracketed(host)}:{port}"


def url(scheme: str, host: str, port: int, target: str) -> str:
    """An absolute URL, the port left out where it is the scheme's own;
    ``target`` alone when there is no host."""
    if not host:
        return target
    if _URL_PORTS.get(scheme) == port:
        return f"{scheme}://{bracketed(host)}{target}"
    return f"{scheme}://{authority(host, port)}{target}"


class FlowState(enum.Enum):
    PENDING = "pending"
    """Request head received; no response yet."""
    STREAMING = "streaming"
    """Response head sent to the client; the body is on its way."""
    COMPLETE = "complete"
    FAILED = "failed"


@dataclass(slots=True)
class FlowError:
    """Why a flow failed. ``kind`` is a short stable tag (``dns``,
    ``connect-refused``, ``timeout``, ``bad-request`` ...); ``message`` is the
    one line shown to the user and sent to the client."""

    kind: str
    message: str


@dataclass(slots=True)
class Message:
    """The parts shared by requests and responses."""

    version: str = "1.1"
    headers: HeaderSeq = field(default_factory=list)
    body: bytes = b""
    """The captured body, up to the capture limit."""
    body_size: int = 0
    """Bytes of body seen on the wire (after transfer decoding)."""
    body_truncated: bool = False
    """True when ``body_size`` exceeded the capture limit."""

    def header(self, name: bytes) -> bytes | None:
        """First value of header ``name`` (case-insensitive), or None."""
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


@dataclass(slots=True)
class Request(Message):
    method: str = ""
    scheme: str = "http"
    host: str = ""
    port: int = 80
    target: str = ""
    """The request target in origin form (path and query)."""

    @property
    def url(self) -> str:
        if self.method == "CONNECT":
            return self.target
        return url(self.scheme, self.host, self.port, self.target)


@dataclass(slots=True)
class Response(Message):
    status: int = 0
    reason: str = ""


@dataclass(slots=True, frozen=True)
class TlsInfo:
    """One side of a TLS connection, for display."""

    version: str
    cipher: str
    alpn: str | None = None
    sni: str | None = None


@dataclass(slots=True)
class TunnelInfo:
    """What a CONNECT flow became. ``mode`` is ``pending`` until the first
    bytes decide: ``intercept`` (TLS terminated here), ``passthrough``
    (TLS relayed untouched), ``http`` (plain HTTP parsed inside) or ``raw``
    (bytes relayed both ways)."""

    mode: str = "pending"
    client_tls: TlsInfo | None = None
    upstream_tls: TlsInfo | None = None
    bytes_up: int = 0
    """Client to server."""
    bytes_down: int = 0
    inner_flows: int = 0


@dataclass(slots=True)
class Flow:
    id: int
    client_addr: tuple[str, int]
    request: Request = field(default_factory=Request)
    response: Response | None = None
    state: FlowState = FlowState.PENDING
    error: FlowError | None = None
    upstream_addr: tuple[str, int] | None = None
    tunnel_id: int | None = None
    """The CONNECT flow this one travelled inside, if any."""
    tunnel: TunnelInfo | None = None
    """Set on CONNECT flows."""
    upstream_tls: TlsInfo | None = None
    """TLS details of the upstream connection, for https requests."""
    websocket: WebSocketInfo | None = None
    """Set once the flow switched to WebSocket (a 101 answer)."""
    bodies_dropped: bool = False
    """The captured bodies were dropped to keep memory under the store's
    limit (sizes and heads remain)."""
    bodies_on_disk: bool = False
    """The captured bodies left memory for the session file, which has them."""
    recorded: bool = False
    """The flow is in the session file."""

    imported: bool = False
    """Read from a file (HAR), not captured here: its times are the
    file's."""
    replay_of: int | None = None
    """The flow whose request this one sent again (a replay), if any."""
    composed: bool = False
    """Written by hand and sent by the engine (the composer, ``ctl send``)."""
    client_name: str = ""
    """The launched client whose tagged port it came in on (``chromium``,
    ``terminal``); empty for every other client."""
    paused: str = ""
    """``request`` or ``response`` while held at a breakpoint, else empty."""
    t_paused: float | None = None
    """When the current (or last) pause began."""
    paused_total: float = 0.0
    """Seconds spent held at breakpoints, all pauses together."""
    edits: list[str] = field(default_factory=list)
    """What was changed at breakpoints, one line each
    (``request: method, url``)."""
    applied: list[str] = field(default_factory=list)
    """What rules did to the flow, one line each (``Staging: map_remote
    http://a/x -> http://b/x``)."""

    t_start: float = 0.0
    """Request head complete."""
    t_upstream_begin: float | None = None
    """The engine asked for an upstream connection (pooled or new): what
    came before it (rules, breakpoints, the engine's own work) is the
    proxy's (``core.timing``)."""
    t_dns: float | None = None
    """The upstream's address resolved (None when reused, or a literal)."""
    t_connected: float | None = None
    """The upstream's TCP connection up, before any TLS handshake."""
    t_upstream_connected: float | None = None
    """Upstream connection ready, TLS included (None when a pooled
    connection was reused)."""
    t_request_sent: float | None = None
    t_response_start: float | None = None
    """The response head went to the client."""
    t_response_head: float | None = None
    """The response head arrived from the upstream; until
    ``t_response_start`` the engine held it (rules, breakpoints)."""
    t_end: float | None = None
    proxy_extra: float = 0.0
    """Seconds the engine added outside the stamped gaps: a throttle's
    pacing, minting a certificate for a tunnel (``core.timing``)."""

    @property
    def finished(self) -> bool:
        return self.state in (FlowState.COMPLETE, FlowState.FAILED)

    @property
    def duration(self) -> float | None:
        if self.t_end is None:
            return None
        return self.t_end - self.t_start
