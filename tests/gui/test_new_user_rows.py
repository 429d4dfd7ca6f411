"""Defects a new user met in the flow list, each pinned: a long download's
Size that stood still, a tunnel whose client rejected the CA that read as
a 200, the Connection tab contradicting itself for CONNECT rows, a Host
column naming the scheme for HTTPS only, and content types cut in the
middle."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QStyleOptionViewItem
from pytestqt.qtbot import QtBot

from inspector.core.filter import parse_filter
from inspector.core.flow import Flow, FlowError, FlowState, Request, Response, TunnelInfo
from inspector.core.summary import row_of, summarize
from inspector.gui.ca_hint import CaHint
from inspector.gui.column_chooser import ColumnChooser
from inspector.gui.connection_rows import connection_rows
from inspector.gui.flow_cells import Column, display_text, status_text
from inspector.gui.flow_model import FlowTableModel
from inspector.gui.flow_table import FlowTable
from inspector.proxy.recorder import FlowRecorder
from tests.gui.feed import Feed

MIB = 1024 * 1024


def _size_cell(model: FlowTableModel) -> str:
    return str(model.data(model.index(0, Column.SIZE)))


def test_a_long_downloads_size_moves_as_it_downloads(qtbot: QtBot) -> None:
    feed = Feed()
    recorder = FlowRecorder(feed.store, feed.relay)
    flow = recorder.created(("127.0.0.1", 1), Request(method="GET", host="a.test", target="/big"))
    recorder.response_started(flow, Response(status=200))
    recorder.response_bytes(flow, 128 * 1024)
    model = feed.model()
    assert _size_cell(model) == "128.0 KiB"
    sizes = []
    for mib in (5, 17, 60):
        recorder.response_bytes(flow, mib * MIB)
        feed.send(model)
        sizes.append(_size_cell(model))
    assert sizes == ["5.0 MiB", "17.0 MiB", "60.0 MiB"]


def _tunnel(kind: str, message: str) -> Flow:
    flow = Flow(1, ("127.0.0.1", 5))
    flow.request = Request(method="CONNECT", scheme="tunnel", host="example.com", port=443)
    flow.response = Response(status=200, reason="Connection Established")
    flow.tunnel = TunnelInfo(mode="intercept")
    flow.state = FlowState.FAILED
    flow.error = FlowError(kind, message)
    flow.t_start, flow.t_end = 10.0, 10.05
    return flow


UNTRUSTED = "the client does not trust Inspector's CA; install it"


def test_a_tunnel_whose_client_rejected_the_ca_reads_as_a_failure() -> None:
    row = row_of(summarize(_tunnel("client-untrusted", UNTRUSTED)))
    assert status_text(row) == "CA rejected"
    assert UNTRUSTED in display_text(row, Column.PATH)
    assert "0 requests" not in display_text(row, Column.PATH)
    assert not parse_filter("status:2xx")(row)
    assert not parse_filter("status:200")(row)
    assert parse_filter("status:error")(row)
    other = row_of(summarize(_tunnel("client-tls", "TLS handshake with the client failed")))
    assert status_text(other) == "TLS failed"


def test_a_tunnel_that_worked_still_matches_its_status() -> None:
    flow = _tunnel("x", "y")
    flow.state, flow.error = FlowState.COMPLETE, None
    row = row_of(summarize(flow))
    assert status_text(row) == "200" and parse_filter("status:2xx")(row)


def test_the_ca_hint_shows_once_for_a_rejected_ca(qtbot: QtBot) -> None:
    hint = CaHint()
    qtbot.addWidget(hint)
    fine = summarize(_tunnel("client-tls", "other"))
    hint.check([fine])
    assert hint.isHidden()
    hint.check([fine, summarize(_tunnel("client-untrusted", UNTRUSTED))])
    assert not hint.isHidden() and "example.com" in hint.text.text()
    with qtbot.waitSignal(hint.ca_requested), qtbot.waitSignal(hint.done):
        hint._install()
    assert hint.isHidden() and hint.given
    hint.check([summarize(_tunnel("client-untrusted", UNTRUSTED))])
    assert hint.isHidden()


def _rows(flow: Flow) -> dict[str, str]:
    return dict(connection_rows(flow))


def test_the_connection_tab_of_a_connect_does_not_contradict_itself() -> None:
    failed = _rows(_tunnel("client-untrusted", UNTRUSTED))
    assert "Upstream connection" not in failed
    assert failed["Upstream"].startswith("none")
    assert "Bytes up / down" not in failed
    carried = _tunnel("x", "y")
    carried.state, carried.error = FlowState.COMPLETE, None
    assert carried.tunnel is not None
    carried.tunnel.inner_flows = 1
    rows = _rows(carried)
    assert "Bytes up / down" not in rows and "Upstream connection" not in rows
    assert rows["Requests inside"].startswith("1 ")
    assert "each request" in rows["Upstream"]
    passed = _tunnel("x", "y")
    assert passed.tunnel is not None
    passed.tunnel.mode, passed.tunnel.bytes_up, passed.tunnel.bytes_down = "passthrough", 10, 20
    passed.upstream_addr, passed.t_upstream_connected = ("93.184.216.34", 443), 10.01
    rows = _rows(passed)
    assert rows["Bytes up / down"] == "10 B / 20 B"
    assert rows["Upstream"] == "93.184.216.34:443" and rows["Upstream connection"] == "new"


def test_a_flow_answered_without_an_upstream_says_so() -> None:
    flow = Flow(2, ("127.0.0.1", 5))
    flow.request = Request(method="GET", host="a.test", target="/")
    flow.response = Response(status=400)
    flow.state, flow.error = FlowState.FAILED, FlowError("bad-request", "both framings")
    rows = _rows(flow)
    assert rows["Upstream"].startswith("none") and "Upstream connection" not in rows


def _host(scheme: str, host: str, port: int) -> str:
    flow = Flow(3, ("127.0.0.1", 5))
    flow.request = Request(method="GET", scheme=scheme, host=host, port=port, target="/")
    return display_text(row_of(summarize(flow)), Column.HOST)


def test_the_host_column_names_every_scheme_and_only_unusual_ports() -> None:
    assert _host("http", "a.test", 80) == "http://a.test"
    assert _host("https", "a.test", 443) == "https://a.test"
    assert _host("http", "a.test", 8080) == "http://a.test:8080"
    assert _host("http", "a.test", 443) == "http://a.test:443"
    assert _host("https", "::1", 8443) == "https://[::1]:8443"
    assert display_text(row_of(summarize(_tunnel("x", "y"))), Column.HOST) == "example.com:443"


def test_content_types_are_cut_at_their_end(qtbot: QtBot) -> None:
    feed = Feed()
    model = feed.model()
    table = FlowTable(model)
    qtbot.addWidget(table)
    ColumnChooser(table)
    option = QStyleOptionViewItem()
    delegate = table.itemDelegateForColumn(Column.TYPE)
    delegate.initStyleOption(option, model.index(0, Column.TYPE))  # type: ignore[attr-defined]
    assert option.textElideMode == Qt.TextElideMode.ElideRight
    assert table.textElideMode() == Qt.TextElideMode.ElideMiddle  # paths keep both ends
