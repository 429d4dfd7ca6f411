"""A flow's summary row: what the flow table shows, filters and sorts on.

The engine sends one row per changed flow in each batch (the current state,
read from the store, never a history), and the window keeps them in its
row mirror. A row is a flat tuple, positions named by the constants below;
``FlowRow`` is the same row with names, for code that reads one row at a
time (cells, filters). Anything bigger than a row (headers, bodies, TLS
details) is fetched on demand by flow id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inspector.core.flow import Flow, FlowState, authority, url
from inspector.core.timing import proxy_time

ID = 0
T_START = 1
METHOD = 2
SCHEME = 3
HOST = 4
PORT = 5
PATH = 6
"""The request target in origin form; empty for a tunnel."""
STATUS = 7
"""0 while there is no response."""
CONTENT_TYPE = 8
REQ_SIZE = 9
SIZE = 10
"""Response body bytes (tunnels: bytes moved both ways); -1 without a response."""
DURATION = 11
"""Seconds, or -1.0 while unfinished."""
STATE = 12
ERROR_KIND = 13
ERROR = 14
FLAGS = 15
TUNNEL_MODE = 16
"""The mode of a CONNECT flow; empty for other flows."""
INNER = 17
"""Requests seen inside a tunnel."""
TUNNEL_ID = 18
"""The tunnel this flow travelled in; 0 when none."""
WEBSOCKET = 19
"""A WebSocket flow's counters (``WS_*`` positions); empty for other flows."""
CLIENT = 20
"""The launched client that made the flow (``Flow.client_name``); empty for
others. Appended later: a row without it (an older session file) is whole,
and reads as an empty name."""
PROXY_TIME = 21
"""Seconds the proxy added to the flow (``core.timing.proxy_time``), -1.0
while unknown. Appended later: a row without it reads as unknown."""
VERSION = 22
"""The HTTP version spoken (the response's once there is one, else the
request's): ``1.1``, ``1.0``. Appended later, like the addresses after it:
a row without them reads them empty."""
CLIENT_ADDR = 23
"""The client's address, ``host:port``; empty when none (a replay)."""
SERVER_ADDR = 24
"""The upstream server's address, ``host:port``; empty before (or without)
a connection."""
FIELDS = 25

WS_MSGS_UP = 0
WS_MSGS_DOWN = 1
WS_BYTES_UP = 2
WS_BYTES_DOWN = 3
WS_CLOSE_CODE = 4
"""-1 until a close frame passed."""
WS_FIELDS = 5

FLAG_BODIES_DROPPED = 1
FLAG_TUNNEL = 2
FLAG_HAS_RESPONSE = 4
FLAG_WEBSOCKET = 8
FLAG_IMPORTED = 16
"""Read from a file (HAR), not captured here."""
FLAG_REPLAY = 32
"""Sent again by the engine from an earlier flow's request."""
FLAG_PAUSED = 64
"""Held at a breakpoint now."""
FLAG_COMPOSED = 128
"""Written by hand and sent by the engine (the composer)."""
FLAG_RULES = 256
"""Some rule acted on the flow."""

_INT64 = range(-(2**63), 2**63)
"""What the window's mirror keeps sizes and tunnel ids in."""

STATES = (FlowState.PENDING, FlowState.STREAMING, FlowState.COMPLETE, FlowState.FAILED)
STATE_CODES = {state: code for code, state in enumerate(STATES)}


def content_type(flow: Flow) -> str:
    """The response's media type without parameters (``text/html``)."""
    response = flow.response
    if response is None:
        return ""
    value = response.header(b"content-type")
    if value is None:
        return ""
    return value.decode("latin-1").split(";", 1)[0].strip()


def summarize(flow: Flow) -> tuple[Any, ...]:
    """The row for ``flow``, as it is now."""
    request, response, tunnel, error = flow.request, flow.response, flow.tunnel, flow.error
    flags = FLAG_BODIES_DROPPED if flow.bodies_dropped else 0
    if response is not None:
        flags |= FLAG_HAS_RESPONSE
    if flow.imported:
        flags |= FLAG_IMPORTED
    if flow.replay_of is not None:
        flags |= FLAG_REPLAY
    if flow.paused:
        flags |= FLAG_PAUSED
    if flow.composed:
        flags |= FLAG_COMPOSED
    if flow.applied:
        flags |= FLAG_RULES
    scheme = request.scheme
    kind = content_type(flow)
    websocket: tuple[int, ...] = ()
    ws = flow.websocket
    if tunnel is not None:
        flags |= FLAG_TUNNEL
        size = tunnel.bytes_up + tunnel.bytes_down
    elif ws is not None:
        flags |= FLAG_WEBSOCKET
        size = ws.bytes_up + ws.bytes_down
        scheme = "wss" if ws.tls else "ws"
        kind = "websocket"
        close = ws.close_code if ws.close_code is not None else -1
        websocket = (ws.msgs_up, ws.msgs_down, ws.bytes_up, ws.bytes_down, close)
    else:
        size = response.body_size if response is not None else -1
    return (
        flow.id,
        flow.t_start,
        request.method,
        scheme,
        request.host,
        request.port,
        "" if tunnel is not None else request.target,
        response.status if response is not None else 0,
        kind,
        request.body_size,
        size,
        flow.t_end - flow.t_start if flow.t_end is not None else -1.0,
        STATE_CODES[flow.state],
        error.kind if error is not None else "",
        error.message if error is not None else "",
        flags,
        tunnel.mode if tunnel is not None else "",
        tunnel.inner_flows if tunnel is not None else 0,
        flow.tunnel_id or 0,
        websocket,
        flow.client_name,
        _or_unknown(proxy_time(flow)),
        response.version if response is not None else request.version,
        _address(flow.client_addr),
        _address(flow.upstream_addr),
    )


def _address(address: tuple[str, int] | None) -> str:
    return authority(*address) if address is not None and address[0] else ""


def _or_unknown(seconds: float | None) -> float:
    return -1.0 if seconds is None else seconds


def check_row(row: Any) -> bool:
    """Whether ``row`` (from the wire) has the shape of a summary row."""
    return (
        isinstance(row, tuple | list)
        # The client and the proxy time, appended later, may be missing
        # (an older session).
        and CLIENT <= len(row) <= FIELDS
        and (len(row) <= CLIENT or isinstance(row[CLIENT], str))
        and (len(row) <= PROXY_TIME or _is_number(row[PROXY_TIME]))
        and all(
            isinstance(row[i], str) for i in (VERSION, CLIENT_ADDR, SERVER_ADDR) if i < len(row)
        )
        and type(row[ID]) is int
        and row[ID] > 0
        and isinstance(row[T_START], float | int)
        and isinstance(row[METHOD], str)
        and isinstance(row[SCHEME], str)
        and isinstance(row[HOST], str)
        and type(row[PORT]) is int
        and isinstance(row[PATH], str)
        and type(row[STATUS]) is int
        and isinstance(row[CONTENT_TYPE], str)
        and type(row[REQ_SIZE]) is int
        and row[REQ_SIZE] in _INT64
        and type(row[SIZE]) is int
        and row[SIZE] in _INT64
        and isinstance(row[DURATION], float | int)
        and type(row[STATE]) is int
        and 0 <= row[STATE] < len(STATES)
        and isinstance(row[ERROR_KIND], str)
        and isinstance(row[ERROR], str)
        and type(row[FLAGS]) is int
        and isinstance(row[TUNNEL_MODE], str)
        and type(row[INNER]) is int
        and type(row[TUNNEL_ID]) is int
        and row[TUNNEL_ID] in _INT64
        and _check_websocket(row[WEBSOCKET])
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, float | int) and not isinstance(value, bool)


def _check_websocket(value: Any) -> bool:
    return isinstance(value, tuple | list) and (
        not value
        or (len(value) == WS_FIELDS and all(type(v) is int and v in _INT64 for v in value))
    )


def url_of(scheme: str, host: str, port: int, path: str, method: str) -> str:
    """The URL a row stands for, as ``Request.url`` spells it (a tunnel
    by its authority)."""
    if method == "CONNECT":
        return authority(host, port)
    return url(scheme, host, port, path)


@dataclass(slots=True)
class FlowRow:
    """One row, by name. Built on demand from the mirror's columns."""

    id: int
    t_start: float
    method: str
    scheme: str
    host: str
    port: int
    path: str
    status: int
    content_type: str
    req_size: int
    size: int
    duration: float | None
    state: FlowState
    error_kind: str
    error: str
    flags: int
    tunnel_mode: str
    inner: int
    tunnel_id: int
    websocket: tuple[int, ...] = ()
    """Counters by ``WS_*`` position; empty unless a WebSocket flow."""
    client: str = ""
    """The launched client that made the flow, or empty."""
    proxy_time: float | None = None
    """Seconds the proxy added (``core.timing``), None while unknown."""
    http_version: str = ""
    client_addr: str = ""
    server_addr: str = ""

    @property
    def is_websocket(self) -> bool:
        return bool(self.flags & FLAG_WEBSOCKET)

    @property
    def finished(self) -> bool:
        return self.state is FlowState.COMPLETE or self.state is FlowState.FAILED

    @property
    def has_response(self) -> bool:
        return bool(self.flags & FLAG_HAS_RESPONSE)

    @property
    def is_tunnel(self) -> bool:
        return bool(self.flags & FLAG_TUNNEL)

    @property
    def is_imported(self) -> bool:
        return bool(self.flags & FLAG_IMPORTED)

    @property
    def is_replay(self) -> bool:
        return bool(self.flags & FLAG_REPLAY)

    @property
    def is_paused(self) -> bool:
        return bool(self.flags & FLAG_PAUSED)

    @property
    def is_composed(self) -> bool:
        return bool(self.flags & FLAG_COMPOSED)

    @property
    def ruled(self) -> bool:
        """Some rule acted on the flow."""
        return bool(self.flags & FLAG_RULES)

    @property
    def bodies_dropped(self) -> bool:
        return bool(self.flags & FLAG_BODIES_DROPPED)

    @property
    def url(self) -> str:
        return url_of(self.scheme, self.host, self.port, self.path, self.method)


def row_of(values: tuple[Any, ...]) -> FlowRow:
    """A wire row (checked with ``check_row``) as a ``FlowRow``."""
    duration = float(values[DURATION])
    return FlowRow(
        values[ID],
        float(values[T_START]),
        values[METHOD],
        values[SCHEME],
        values[HOST],
        values[PORT],
        values[PATH],
        values[STATUS],
        values[CONTENT_TYPE],
        values[REQ_SIZE],
        values[SIZE],
        duration if duration >= 0 else None,
        STATES[values[STATE]],
        values[ERROR_KIND],
        values[ERROR],
        values[FLAGS],
        values[TUNNEL_MODE],
        values[INNER],
        values[TUNNEL_ID],
        tuple(values[WEBSOCKET]),
        client_of(values),
        proxy_time_of(values),
        text_at(values, VERSION),
        text_at(values, CLIENT_ADDR),
        text_at(values, SERVER_ADDR),
    )


def text_at(values: tuple[Any, ...] | list[Any], field: int) -> str:
    """A wire row's text field appended later; empty when the row predates it."""
    return str(values[field]) if len(values) > field else ""


def client_of(values: tuple[Any, ...] | list[Any]) -> str:
    """A wire row's client name; empty when the row predates the field."""
    return values[CLIENT] if len(values) > CLIENT else ""


def proxy_time_of(values: tuple[Any, ...] | list[Any]) -> float | None:
    """A wire row's proxy time; None when unknown or the row predates it."""
    if len(values) <= PROXY_TIME:
        return None
    seconds = float(values[PROXY_TIME])
    return seconds if seconds >= 0 else None
