"""Proxy time in the window: the table's column (text, sort, tooltip),
the status bar's aggregate over the newest flows, and the Timing tab's
phases with what did not happen named."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from inspector.core.flow import Flow, FlowState, Request, Response
from inspector.gui.flow_cells import DISPLAY, TOOLTIP, Column, cell
from inspector.gui.proxy_time_label import ProxyTimeLabel
from inspector.gui.timing_view import TimingView
from tests.gui.feed import Feed


def _feed(times: list[float | None]) -> Feed:
    feed = Feed()
    for added in times:
        flow_id = feed.add()
        flow = feed.store.get(flow_id)
        assert flow is not None and flow.t_end is not None
        if added is None:
            flow.imported = True  # unknown
        else:
            flow.t_upstream_begin = flow.t_start + added
            flow.upstream_addr = ("127.0.0.1", 80)
    return feed


def test_the_column_shows_sorts_and_explains_proxy_time() -> None:
    feed = _feed([0.0004, 0.012, None])
    model = feed.model()
    rows = [feed.mirror.get(i) for i in (1, 2, 3)]
    assert [cell(r, Column.PROXY, DISPLAY) for r in rows] == ["400 µs", "12.0 ms", ""]
    assert "Proxy time" in cell(rows[0], Column.PROXY, TOOLTIP)
    assert model.headerData(Column.PROXY, Qt.Orientation.Horizontal) == "Proxy time"
    model.sort(Column.PROXY, Qt.SortOrder.DescendingOrder)
    model.wait_job()
    assert model.shown_ids() == [2, 1, 3]
    model.sort(Column.PROXY)
    model.wait_job()
    assert model.shown_ids() == [3, 1, 2]  # unknown first


def test_the_status_bar_aggregates_the_newest_finished_flows(qtbot: QtBot) -> None:
    feed = _feed([0.001 * i for i in range(1, 21)] + [None])
    feed.model()
    label = ProxyTimeLabel(feed.mirror)
    qtbot.addWidget(label)
    label.refresh()
    assert label.text() == "Proxy added: median 10.5 ms, p95 19.0 ms"
    assert "20 finished flows" in label.toolTip() and "worst 20.0 ms" in label.toolTip()
    empty = ProxyTimeLabel(Feed().mirror)
    qtbot.addWidget(empty)
    empty.refresh()
    assert empty.text() == ""


def test_the_timing_tab_names_a_reused_connection_and_the_proxy_time(qtbot: QtBot) -> None:
    flow = Flow(1, ("127.0.0.1", 1), Request(method="GET", host="a.test", target="/"))
    flow.t_start = 100.0
    flow.t_upstream_begin = 100.005
    flow.upstream_addr = ("127.0.0.1", 80)
    flow.t_request_sent = 100.006
    flow.t_response_head = 100.050
    flow.t_response_start = 100.051
    flow.t_end = 100.060
    flow.response = Response(status=200)
    flow.state = FlowState.COMPLETE
    view = TimingView()
    qtbot.addWidget(view)
    view.set_flow(flow)
    rows = dict(view.rows()[:3])
    assert rows == {"Proxy": "5.0 ms", "DNS": "reused connection", "Connect": "reused connection"}
    assert view.rows()[-2:] == [("Total", "60.0 ms"), ("Proxy time", "6.0 ms")]
    view.resize(500, 300)
    view.grab()
    view.set_flow(None)
    assert view.rows() == []
