"""The flow table view: following the newest rows."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from inspector.core.relay import Batch
from inspector.core.store import FlowStore
from inspector.gui.flow_model import FlowTableModel
from inspector.gui.flow_table import FlowTable


def _table(
    qtbot: QtBot, flows: int, height: int = 300
) -> tuple[FlowStore, FlowTableModel, FlowTable]:
    store = FlowStore()
    for _ in range(flows):
        store.new_flow(("127.0.0.1", 1))
    model = FlowTableModel(store)
    view = FlowTable(model)
    qtbot.addWidget(view)
    view.resize(500, height)
    view.show()
    qtbot.waitExposed(view)
    return store, model, view


def test_new_rows_are_followed_and_a_resize_keeps_following(qtbot: QtBot) -> None:
    store, model, view = _table(qtbot, 100, height=600)
    bar = view.verticalScrollBar()
    view.scrollToBottom()
    assert view.follow
    store.new_flow(("127.0.0.1", 1))
    model.apply_batch(Batch(new_ids=range(101, 102)))
    qtbot.waitUntil(lambda: bar.value() == bar.maximum() > 0)
    view.resize(500, 250)  # shorter: Qt alone would keep the top row in place
    qtbot.waitUntil(lambda: bar.value() == bar.maximum())
    assert view.follow


def test_scrolling_away_stops_following(qtbot: QtBot) -> None:
    store, model, view = _table(qtbot, 100)
    bar = view.verticalScrollBar()
    view.scrollToBottom()
    assert view.follow
    bar.setValue(0)
    assert not view.follow
    store.new_flow(("127.0.0.1", 1))
    model.apply_batch(Batch(new_ids=range(101, 102)))
    assert bar.value() == 0
    view.resize(500, 600)
    assert bar.value() == 0


def test_the_table_paints_inside_one_python_call() -> None:
    """FlowTable.paintEvent is a Python override on purpose: the model's
    multiData calls then run under the interpreter lock taken once, not
    once per cell from the engine's thread (see its comment)."""
    assert "paintEvent" in vars(FlowTable)
