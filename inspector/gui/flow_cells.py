"""What the flow table shows in each cell: its columns and headers, the
text, colour and alignment of a cell for each role, and the sort keys.

Roles are compared as plain ints: comparing against Qt's enum members costs
an attribute lookup each time, on the hottest path of a repaint.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from inspector.core.flow import Flow, FlowState, TunnelInfo
from inspector.core.format import duration, size

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
}

RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
NUMERIC = frozenset(int(c) for c in (Column.ID, Column.STATUS, Column.SIZE, Column.DURATION))
DISPLAY = int(Qt.ItemDataRole.DisplayRole.value)
TOOLTIP = int(Qt.ItemDataRole.ToolTipRole.value)
ALIGN = int(Qt.ItemDataRole.TextAlignmentRole.value)
FOREGROUND = int(Qt.ItemDataRole.ForegroundRole.value)
BACKGROUND = int(Qt.ItemDataRole.BackgroundRole.value)
ROLES = frozenset({DISPLAY, TOOLTIP, ALIGN, FOREGROUND, BACKGROUND, int(FLOW_ID_ROLE)})
FAILED_FG = QColor(215, 58, 73)
FAILED_BG = QColor(215, 58, 73, 40)
PENDING_FG = QColor(128, 128, 128)


def content_type(flow: Flow) -> str:
    response = flow.response
    if response is None:
        return ""
    value = response.header(b"content-type")
    if value is None:
        return ""
    return value.decode("latin-1").split(";", 1)[0].strip()


def status_text(flow: Flow) -> str:
    if flow.response is not None and flow.response.status:
        return str(flow.response.status)
    if flow.state is FlowState.FAILED:
        return "failed"
    return "…"


def display_text(flow: Flow, column: int) -> str:
    if column == Column.ID:
        return str(flow.id)
    if column == Column.TIME:
        stamp = time.localtime(flow.t_start)
        return time.strftime("%H:%M:%S", stamp) + f".{int(flow.t_start % 1 * 1000):03d}"
    if column == Column.METHOD:
        return flow.request.method
    if column == Column.HOST:
        request = flow.request
        host = request.host if request.port in (80, 443) else f"{request.host}:{request.port}"
        return f"https://{host}" if request.scheme == "https" else host
    tunnel = flow.tunnel
    if column == Column.PATH:
        if tunnel is not None:
            return tunnel_summary(tunnel)
        return flow.request.target
    if column == Column.STATUS:
        return status_text(flow)
    if column == Column.TYPE:
        return f"tunnel ({tunnel.mode})" if tunnel is not None else content_type(flow)
    if column == Column.SIZE:
        if tunnel is not None:
            moved = tunnel.bytes_up + tunnel.bytes_down
            return size(moved) if moved else ""
        return size(flow.response.body_size) if flow.response is not None else ""
    if column == Column.DURATION:
        return duration(flow.duration)
    return ""


def tunnel_summary(tunnel: TunnelInfo) -> str:
    count = tunnel.inner_flows
    requests = f"{count} request{'s' if count != 1 else ''}"
    if tunnel.mode == "intercept":
        return f"⇄ {requests} (TLS)"
    if tunnel.mode == "http":
        return f"⇄ {requests} (HTTP)"
    if tunnel.mode == "passthrough":
        return "⇄ passed through"
    if tunnel.mode == "raw":
        return "⇄ raw bytes"
    return "⇄ opening"


def sort_key(column: int) -> Callable[[Flow], Any]:
    """A key for sorting flows by ``column``; missing values sort first.
    Keys are plain strings and numbers (see ``FlowTableModel._ordered``)."""
    keys: dict[int, Callable[[Flow], Any]] = {
        Column.ID: lambda f: f.id,
        Column.TIME: lambda f: f.t_start,
        Column.METHOD: lambda f: f.request.method,
        Column.HOST: lambda f: f.request.host,
        Column.PATH: lambda f: f.request.target,
        Column.STATUS: lambda f: f.response.status if f.response is not None else -1,
        Column.TYPE: content_type,
        Column.SIZE: lambda f: f.response.body_size if f.response is not None else -1,
        Column.DURATION: lambda f: f.duration if f.duration is not None else -1.0,
    }
    return keys[column]


NEEDS_FLOW = ROLES - {ALIGN}
"""Roles whose answer depends on the flow, not on the column alone."""


def cell(flow: Flow | None, column: int, role: int) -> Any:
    """What a cell of ``column`` shows for ``role``: None for roles the
    table never answers, and for a row whose flow is gone."""
    if role not in ROLES:
        return None
    if role == ALIGN:
        return RIGHT if column in NUMERIC else LEFT
    if flow is None:
        return None
    if role == DISPLAY:
        return display_text(flow, column)
    if role == FOREGROUND:
        if flow.state is FlowState.FAILED:
            return FAILED_FG
        if column == Column.STATUS and flow.response is not None and flow.response.status >= 400:
            return FAILED_FG
        if not flow.finished:
            return PENDING_FG
        return None
    if role == BACKGROUND:
        return FAILED_BG if flow.state is FlowState.FAILED else None
    if role == TOOLTIP:
        if flow.error is not None:
            return flow.error.message
        return flow.request.url if column in (Column.HOST, Column.PATH) else None
    if role == FLOW_ID_ROLE:
        return flow.id
    return None
