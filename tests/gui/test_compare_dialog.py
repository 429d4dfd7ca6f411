"""The Compare dialog: what differs between two flows, coloured, and the
"Only differences" switch; the table's Compare action wants two flows."""

from __future__ import annotations

import json

from pytestqt.qtbot import QtBot

from inspector.core.flow import Flow, Request, Response
from inspector.core.flow_diff import compare
from inspector.gui.compare_dialog import COLORS, CompareDialog
from inspector.gui.flow_table import FlowTable
from tests.gui.feed import Feed


def _flow(flow_id: int, query: str, user: dict[str, object]) -> Flow:
    flow = Flow(flow_id, ("127.0.0.1", 1))
    flow.request = Request(
        method="GET",
        host="api.test",
        target=f"/users?{query}",
        headers=[(b"Host", b"api.test"), (b"Accept", b"application/json")],
    )
    flow.response = Response(
        status=200,
        reason="OK",
        headers=[(b"Content-Type", b"application/json")],
        body=json.dumps(user).encode(),
    )
    return flow


def test_the_dialog_shows_changes_by_side(qtbot: QtBot) -> None:
    left = _flow(3, "id=1&v=2", {"name": "ann", "roles": ["a"], "age": 3})
    right = _flow(9, "id=2&v=2", {"name": "bob", "roles": ["a", "b"]})
    dialog = CompareDialog(compare(left, right))
    qtbot.addWidget(dialog)
    assert dialog.windowTitle() == "Compare #3 and #9"
    request = dialog.request_view.toPlainText()
    assert "id" in request and "1" in request and "2" in request
    html = dialog.response_view.toHtml()
    response = dialog.response_view.toPlainText()
    assert "$.name" in response and '"ann"' in response and '"bob"' in response
    assert "$.age" in response and "$.roles[1]" in response
    assert "Content-Type" in response
    dialog.only_changes.setChecked(True)
    assert "Content-Type" not in dialog.response_view.toPlainText()
    assert "no differences" in dialog.response_view.toPlainText()
    assert html  # rendered
    assert COLORS["changed"]


def test_the_compare_action_wants_exactly_two_flows(qtbot: QtBot) -> None:
    feed = Feed()
    for _ in range(3):
        feed.add()
    table = FlowTable(feed.model())
    qtbot.addWidget(table)
    asked: list[list[int]] = []
    table.compare_requested.connect(asked.append)
    table.selectAll()
    table.compare_action.trigger()
    assert asked == []
    table.clearSelection()
    table.selectRow(0)
    sm = table.selectionModel()
    sm.select(table.model().index(2, 0), sm.SelectionFlag.Select | sm.SelectionFlag.Rows)
    table.compare_action.trigger()
    assert asked == [[1, 3]]
