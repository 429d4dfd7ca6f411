"""The flow table view: following the newest rows."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from inspector.gui.flow_model import FlowTableModel
from inspector.gui.flow_table import FlowTable
from tests.gui.feed import Feed


def _table(qtbot: QtBot, flows: int, height: int = 300) -> tuple[Feed, FlowTableModel, FlowTable]:
    feed = Feed()
    for _ in range(flows):
        feed.add()
    model = feed.model()
    view = FlowTable(model)
    qtbot.addWidget(view)
    view.resize(500, height)
    view.show()
    qtbot.waitExposed(view)
    return feed, model, view


def test_new_rows_are_followed_and_a_resize_keeps_following(qtbot: QtBot) -> None:
    feed, model, view = _table(qtbot, 100, height=600)
    bar = view.verticalScrollBar()
    view.scrollToBottom()
    assert view.follow
    feed.add()
    feed.send(model)
    qtbot.waitUntil(lambda: bar.value() == bar.maximum() > 0)
    view.resize(500, 250)  # shorter: Qt alone would keep the top row in place
    qtbot.waitUntil(lambda: bar.value() == bar.maximum())
    assert view.follow


def test_scrolling_away_stops_following(qtbot: QtBot) -> None:
    feed, model, view = _table(qtbot, 100)
    bar = view.verticalScrollBar()
    view.scrollToBottom()
    assert view.follow
    bar.setValue(0)
    assert not view.follow
    feed.add()
    feed.send(model)
    assert bar.value() == 0
    view.resize(500, 600)
    assert bar.value() == 0


def test_the_table_paints_inside_one_python_call() -> None:
    """FlowTable.paintEvent is a Python override on purpose: the model's
    multiData calls then run under the interpreter lock taken once, not
    once per cell from the engine's thread (see its comment)."""
    assert "paintEvent" in vars(FlowTable)
