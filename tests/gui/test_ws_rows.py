"""WebSocket rows in the flow table: the scheme, the type, the message
counts beside the path, the counters in tooltips, and an open socket
marked live until it closes."""

from __future__ import annotations

from inspector.core.events import FlowFinished
from inspector.core.websocket import TEXT, WsMessage
from inspector.gui.flow_cells import FOREGROUND, LIVE_FG, PENDING_FG, TOOLTIP, Column
from inspector.gui.flow_model import FlowTableModel
from tests.gui.feed import Feed
from tests.gui.ws_engine import add_websocket, close_websocket


def _cells(model: FlowTableModel, row: int) -> dict[Column, str]:
    return {column: model.data(model.index(row, column)) for column in Column}


def test_an_open_socket_and_then_closed() -> None:
    feed = Feed()
    feed.add()
    socket = add_websocket(feed, ups=3, downs=12)
    model = feed.model()
    cells = _cells(model, 1)
    assert cells[Column.HOST] == "wss://chat.test"
    assert cells[Column.PATH] == "/socket   3 ↑ 12 ↓"
    assert cells[Column.STATUS] == "101"
    assert cells[Column.TYPE] == "websocket"
    assert cells[Column.SIZE] == "1.5 KiB"
    assert cells[Column.DURATION] == "● open"
    assert model.data(model.index(1, Column.DURATION), FOREGROUND) == LIVE_FG
    assert model.data(model.index(1, Column.PATH), FOREGROUND) == PENDING_FG
    counters = "WebSocket: 3 messages sent (300 B), 12 received (1.2 KiB)"
    assert model.data(model.index(1, Column.SIZE), TOOLTIP) == f"{counters}; open"
    assert model.data(model.index(1, Column.PATH), TOOLTIP) == (
        f"wss://chat.test/socket\n{counters}; open"
    )
    assert model.data(model.index(1, Column.HOST), TOOLTIP) == "wss://chat.test/socket"
    assert model.data(model.index(0, Column.SIZE), TOOLTIP) is None  # plain HTTP: none

    flow = feed.store.get(socket)
    assert flow is not None and flow.websocket is not None
    flow.websocket.add(WsMessage(0, 0, flow.t_start, TEXT, 1000, b""), 100, 10**6)
    close_websocket(flow, code=1001)
    feed.relay.emit(FlowFinished(socket))
    feed.send(model)
    cells = _cells(model, 1)
    assert cells[Column.PATH] == "/socket   4 ↑ 12 ↓"
    assert cells[Column.DURATION] == "5.00 s"
    assert model.data(model.index(1, Column.DURATION), FOREGROUND) is None
    assert model.data(model.index(1, Column.TYPE), TOOLTIP) == (
        "WebSocket: 4 messages sent (1.3 KiB), 12 received (1.2 KiB); closed 1001"
    )


def test_a_socket_that_ended_without_a_close_frame() -> None:
    feed = Feed()
    socket = add_websocket(feed)
    flow = feed.store.get(socket)
    assert flow is not None
    close_websocket(flow, code=None, end="closed without a close frame")
    model = feed.model()
    assert model.data(model.index(0, Column.SIZE), TOOLTIP).endswith(
        "; ended without a close frame"
    )
    assert _cells(model, 0)[Column.PATH] == "/socket   0 ↑ 0 ↓"
