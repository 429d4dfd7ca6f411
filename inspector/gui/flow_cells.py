"""What the flow table shows in each cell: its columns and headers, the
text, colour and alignment of a cell for each role (read from a flow's
summary row), and the field each column sorts by.

Roles are compared as plain ints: comparing against Qt's enum members costs
an attribute lookup each time, on the hottest path of a repaint.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from inspector.core import summary
from inspector.core.flow import FlowState
from inspector.core.format import duration, size
from inspector.core.summary import FlowRow
from inspector.core.timing import short
from inspector.gui.held_flows import Held, waited

FLOW_ID_ROLE = int(Qt.ItemDataRole.UserRole.value) + 1


class Column(enum.IntEnum):
    ID = 0
    TIME = 1
    METHOD = 2
    HOST = 3
    PATH = 4
    STATUS = 5
    TYPE = 6
    SIZE = 7
    DURATION = 8
    CLIENT = 9
    RULES = 10
    PROXY = 11
    VERSION = 12
    CLIENT_ADDR = 13
    SERVER_ADDR = 14


HEADERS = {
    Column.ID: "#",
    Column.TIME: "Time",
    Column.METHOD: "Method",
    Column.HOST: "Host",
    Column.PATH: "Path",
    Column.STATUS: "Status",
    Column.TYPE: "Content type",
    Column.SIZE: "Size",
    Column.DURATION: "Duration",
    Column.CLIENT: "Client",
    Column.RULES: "Rules",
    Column.PROXY: "Proxy time",
    Column.VERSION: "HTTP",
    Column.CLIENT_ADDR: "Client address",
    Column.SERVER_ADDR: "Server address",
}

RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
NUMERIC = frozenset(
    int(c) for c in (Column.ID, Column.STATUS, Column.SIZE, Column.DURATION, Column.PROXY)
)
DISPLAY = int(Qt.ItemDataRole.DisplayRole.value)
TOOLTIP = int(Qt.ItemDataRole.ToolTipRole.value)
ALIGN = int(Qt.ItemDataRole.TextAlignmentRole.value)
FOREGROUND = int(Qt.ItemDataRole.ForegroundRole.value)
BACKGROUND = int(Qt.ItemDataRole.BackgroundRole.value)
ROLES = frozenset({DISPLAY, TOOLTIP, ALIGN, FOREGROUND, BACKGROUND, int(FLOW_ID_ROLE)})
FAILED_FG = QColor(215, 58, 73)
FAILED_BG = QColor(215, 58, 73, 40)
PENDING_FG = QColor(128, 128, 128)
LIVE_FG = QColor(46, 160, 90)
PAUSED_FG = QColor(150, 100, 0)
PAUSED_BG = QColor(240, 180, 41, 70)
REPLAY_MARK = "↻ "
"""Before the path of a replay: its request was sent again by the proxy."""
REPLAY_TIP = "Replay: the proxy sent an earlier flow's request again"
DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}
"""Ports the Host column leaves out, by scheme."""
TUNNEL_FAILURES = {"client-untrusted": "CA rejected", "client-tls": "TLS failed"}
"""The status text of a tunnel that failed, by error kind ("failed" otherwise)."""
PROXY_TIP = (
    "Proxy time: what Inspector added to this flow (rules, breakpoints, throttling,"
    " certificates, its own work); the Timing tab splits it"
)
RULES_TEXT = "applied"
RULES_TIP = "A rule acted on this flow"


def failed_tunnel(row: FlowRow) -> bool:
    """A CONNECT whose 200 led nowhere: it reads as the failure it is."""
    return row.is_tunnel and row.state is FlowState.FAILED


def status_text(row: FlowRow) -> str:
    if failed_tunnel(row):
        return TUNNEL_FAILURES.get(row.error_kind, "failed")
    if row.has_response and row.status:
        return str(row.status)
    if row.state is FlowState.FAILED:
        return "failed"
    return "…"


def host_text(row: FlowRow) -> str:
    """``scheme://host[:port]``, the port left out where it is the
    scheme's own; a tunnel by its authority alone."""
    default = DEFAULT_PORTS.get(row.scheme)
    host = f"[{row.host}]" if ":" in row.host else row.host
    if row.port != default:
        host = f"{host}:{row.port}"
    if row.is_tunnel or not row.host or default is None:
        return host if row.host else ""
    return f"{row.scheme}://{host}"


def display_text(row: FlowRow, column: int) -> str:
    if column == Column.ID:
        return str(row.id)
    if column == Column.TIME:
        stamp = time.localtime(row.t_start)
        return time.strftime("%H:%M:%S", stamp) + f".{int(row.t_start % 1 * 1000):03d}"
    if column == Column.METHOD:
        return row.method
    if column == Column.HOST:
        return host_text(row)
    tunnel = row.is_tunnel
    if column == Column.PATH:
        if row.websocket:
            return f"{row.path}   {message_counts(row.websocket)}"
        if row.is_replay:
            return REPLAY_MARK + row.path
        if tunnel and row.state is FlowState.FAILED and row.error:
            return f"⇄ {row.error}"
        return tunnel_summary(row.tunnel_mode, row.inner) if tunnel else row.path
    if column == Column.STATUS:
        return status_text(row)
    if column == Column.TYPE:
        return f"tunnel ({row.tunnel_mode})" if tunnel else row.content_type
    if column == Column.SIZE:
        if tunnel:
            return size(row.size) if row.size > 0 else ""
        return size(row.size) if row.size >= 0 else ""
    if column == Column.DURATION:
        return "● open" if live_websocket(row) else duration(row.duration)
    if column == Column.CLIENT:
        return row.client
    if column == Column.RULES:
        return RULES_TEXT if row.ruled else ""
    if column == Column.PROXY:
        return short(row.proxy_time) if row.proxy_time is not None else ""
    if column == Column.VERSION:
        return f"HTTP/{row.http_version}" if row.http_version else ""
    if column == Column.CLIENT_ADDR:
        return row.client_addr
    if column == Column.SERVER_ADDR:
        return row.server_addr
    return ""


def live_websocket(row: FlowRow) -> bool:
    return row.is_websocket and row.state is FlowState.STREAMING


def message_counts(counters: tuple[int, ...]) -> str:
    """``12 ↑ 10 ↓``: a WebSocket's messages sent and received."""
    return f"{counters[summary.WS_MSGS_UP]:,} ↑ {counters[summary.WS_MSGS_DOWN]:,} ↓"


def websocket_tooltip(row: FlowRow) -> str:
    """A WebSocket's counters, and whether it is open or how it closed."""
    counters = row.websocket
    text = (
        f"WebSocket: {counters[summary.WS_MSGS_UP]:,} messages sent"
        f" ({size(counters[summary.WS_BYTES_UP])}), {counters[summary.WS_MSGS_DOWN]:,}"
        f" received ({size(counters[summary.WS_BYTES_DOWN])})"
    )
    code = counters[summary.WS_CLOSE_CODE]
    if live_websocket(row):
        return f"{text}; open"
    return f"{text}; closed {code}" if code >= 0 else f"{text}; ended without a close frame"


def tunnel_summary(mode: str, count: int) -> str:
    requests = f"{count} request{'s' if count != 1 else ''}"
    if mode == "intercept":
        return f"⇄ {requests} (TLS)"
    if mode == "http":
        return f"⇄ {requests} (HTTP)"
    if mode == "passthrough":
        return "⇄ passed through"
    if mode == "raw":
        return "⇄ raw bytes"
    return "⇄ opening"


SORT_FIELDS = {
    Column.ID: summary.ID,
    Column.TIME: summary.T_START,
    Column.METHOD: summary.METHOD,
    Column.HOST: summary.HOST,
    Column.PATH: summary.PATH,
    Column.STATUS: summary.STATUS,
    Column.TYPE: summary.CONTENT_TYPE,
    Column.SIZE: summary.SIZE,
    Column.DURATION: summary.DURATION,
    Column.CLIENT: summary.CLIENT,
    Column.RULES: summary.FLAGS,
    Column.PROXY: summary.PROXY_TIME,
    Column.VERSION: summary.VERSION,
    Column.CLIENT_ADDR: summary.CLIENT_ADDR,
    Column.SERVER_ADDR: summary.SERVER_ADDR,
}
"""The summary field each column sorts by (``RowMirror.sort_key``):
missing values (no response, unfinished) sort first."""


NEEDS_FLOW = ROLES - {ALIGN}
"""Roles whose answer depends on the flow, not on the column alone."""


def paused_text(held: Held | None, now: float) -> str:
    """``Paused · request · 0:12``: a held flow's status cell."""
    if held is None:
        return "Paused"
    return f"Paused · {held.phase} · {waited(now - held.since)}"


NOT_HELD: Mapping[int, Held] = {}
STATUS_COLUMN = int(Column.STATUS)
PAUSED_TIP = "Held at a breakpoint: the toolbar's paused button edits it, sends it on or aborts it"


def cell(flow: FlowRow | None, column: int, role: int, held: Mapping[int, Held] = NOT_HELD) -> Any:
    """What a cell of ``column`` shows for ``role``: None for roles the
    table never answers, and for a row whose flow is gone. ``held`` says
    how long the flows held at a breakpoint have waited."""
    if role not in ROLES:
        return None
    if role == ALIGN:
        return RIGHT if column in NUMERIC else LEFT
    if flow is None:
        return None
    if column == STATUS_COLUMN and flow.flags & summary.FLAG_PAUSED and role != FLOW_ID_ROLE:
        if role == DISPLAY:
            return paused_text(held.get(flow.id), time.time())
        if role == TOOLTIP:
            return PAUSED_TIP
        return PAUSED_FG if role == FOREGROUND else PAUSED_BG
    if role == DISPLAY:
        return display_text(flow, column)
    if role == FOREGROUND:
        if flow.state is FlowState.FAILED:
            return FAILED_FG
        if column == Column.STATUS and flow.has_response and flow.status >= 400:
            return FAILED_FG
        if not flow.finished:
            if column == Column.DURATION and live_websocket(flow):
                return LIVE_FG
            return PENDING_FG
        return None
    if role == BACKGROUND:
        return FAILED_BG if flow.state is FlowState.FAILED else None
    if role == TOOLTIP:
        if column == Column.ID and flow.is_replay:
            return f"{REPLAY_TIP}\n{flow.error}" if flow.error else REPLAY_TIP
        if column == Column.PROXY:
            return PROXY_TIP
        if flow.error:
            return flow.error
        if column == Column.RULES and flow.ruled:
            return RULES_TIP
        if flow.websocket and column in (Column.PATH, Column.TYPE, Column.SIZE, Column.DURATION):
            url = f"{flow.url}\n" if column == Column.PATH else ""
            return url + websocket_tooltip(flow)
        return flow.url if column in (Column.HOST, Column.PATH) else None
    if role == FLOW_ID_ROLE:
        return flow.id
    return None
