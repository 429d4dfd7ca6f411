"""The flow table model: batches, filter, sort, deletion, model contract.

Rows come as an engine sends them (``feed.Feed``: the engine's batch
builder, the wire encoding, the window's mirror)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from inspector.core.events import FlowFinished
from inspector.core.filter import parse_filter
from inspector.core.relay import Relay, RelayLimits
from inspector.gui.body_search import MATCH, NarrowedFilter, Verdicts
from inspector.gui.flow_cells import FAILED_FG, FLOW_ID_ROLE, Column
from inspector.gui.flow_model import FlowTableModel
from inspector.proxy.batches import BatchBuilder
from tests.gui.feed import Feed


def _ids(model: FlowTableModel) -> list[int]:
    return [model.data(model.index(r, 0), FLOW_ID_ROLE) for r in range(model.rowCount())]


def test_model_contract_under_batches(qtmodeltester: ModelTester) -> None:
    feed = Feed()
    model = FlowTableModel(feed.mirror)
    qtmodeltester.check(model)
    feed.add()
    feed.add(status=None)
    feed.send(model)
    qtmodeltester.check(model)
    assert model.rowCount() == 2
    assert model.data(model.index(0, Column.STATUS)) == "200"
    assert model.data(model.index(1, Column.STATUS)) == "…"
    assert model.headerData(Column.ID, Qt.Orientation.Horizontal) == "#"


def test_new_flows_are_one_insert_and_changes_one_span(qtbot: QtBot) -> None:
    feed = Feed()
    model = FlowTableModel(feed.mirror)
    ids = [feed.add(status=None) for _ in range(5)]
    inserts: list[tuple[int, int]] = []
    changes: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, a, b: inserts.append((a, b)))
    model.dataChanged.connect(lambda a, b: changes.append((a.row(), b.row())))
    feed.send(model)
    assert inserts == [(0, 4)]
    for flow_id in (ids[1], ids[3]):
        feed.respond(flow_id, 404)
    feed.send(model)
    assert changes == [(1, 3)]
    assert model.data(model.index(3, Column.STATUS)) == "404"
    assert model.data(model.index(3, Column.STATUS), Qt.ItemDataRole.ForegroundRole) == FAILED_FG


def test_failed_flows_are_marked() -> None:
    feed = Feed()
    feed.add(status=None, failed=True)
    model = feed.model()
    assert model.data(model.index(0, Column.STATUS)) == "failed"
    assert model.data(model.index(0, Column.HOST), Qt.ItemDataRole.ForegroundRole) == FAILED_FG
    assert model.data(model.index(0, Column.HOST), Qt.ItemDataRole.ToolTipRole) == "lookup failed"


def test_a_relay_resync_sends_every_row_again() -> None:
    feed = Feed()
    feed.relay = Relay(RelayLimits(max_pending_flow_ids=2))
    feed.builder = BatchBuilder(feed.store, feed.relay, budget=2)
    model = FlowTableModel(feed.mirror)
    ids = [feed.add(status=None) for _ in range(3)]
    feed.send(model)
    feed.send(model)
    assert _ids(model) == ids
    for flow_id in ids:
        feed.respond(flow_id, 201)  # three changed ids: more than the relay keeps
    batch = feed.send(model)
    assert batch.resync
    while any(model.data(model.index(r, Column.STATUS)) != "201" for r in range(3)):
        assert feed.send(model).rows, "the rescan stopped before every row was sent"
    assert _ids(model) == ids


def test_filter_narrows_and_follows_status_changes(qtbot: QtBot) -> None:
    feed = Feed()
    model = FlowTableModel(feed.mirror)
    feed.add(host="api.test", status=200)
    feed.add(host="cdn.test", status=404)
    pending = feed.add(host="api.test", status=None)
    feed.send(model)
    model.set_filter(parse_filter("status:4xx"))
    model.wait_job()
    assert _ids(model) == [2]
    feed.respond(pending, 403)
    feed.send(model)
    assert _ids(model) == [2, 3]
    model.set_filter(parse_filter("host:api"))
    model.wait_job()
    assert _ids(model) == [1, 3]
    feed.add(host="cdn.test")
    feed.send(model)
    assert _ids(model) == [1, 3]
    model.set_filter(parse_filter(""))
    model.wait_job()
    assert _ids(model) == [1, 2, 3, 4]


def test_sort_by_each_column_and_back(qtmodeltester: ModelTester) -> None:
    feed = Feed()
    for host, status, size in [("b", 200, 30), ("a", 500, 10), ("c", 404, 20)]:
        feed.add(host=host, status=status, size=size)
    model = feed.model()
    qtmodeltester.check(model)
    model.sort(Column.HOST)
    model.wait_job()
    assert _ids(model) == [2, 1, 3]
    model.sort(Column.STATUS, Qt.SortOrder.DescendingOrder)
    model.wait_job()
    assert _ids(model) == [2, 3, 1]
    model.sort(Column.SIZE)
    model.wait_job()
    assert _ids(model) == [2, 3, 1]
    model.sort(Column.ID, Qt.SortOrder.DescendingOrder)
    model.wait_job()
    assert _ids(model) == [3, 2, 1]
    feed.add()
    feed.send(model)
    assert _ids(model) == [4, 3, 2, 1]
    assert model.row_of(2) == 2
    for column in Column:
        model.sort(column)
        model.wait_job()
        assert sorted(_ids(model)) == [1, 2, 3, 4]


def test_sort_keeps_the_selection_on_the_same_flow(qtbot: QtBot) -> None:
    from PySide6.QtCore import QPersistentModelIndex

    feed = Feed()
    for host in ("c", "a", "b"):
        feed.add(host=host)
    model = feed.model()
    selected = QPersistentModelIndex(model.index(0, 0))
    model.sort(Column.HOST)
    model.wait_job()
    assert selected.row() == 2
    assert model.data(model.index(selected.row(), 0), FLOW_ID_ROLE) == 1


def test_large_sort_runs_in_slices_with_progress(qtbot: QtBot) -> None:
    feed = Feed()
    for i in range(50_000):
        feed.add(host=f"h{i % 97}", size=i % 1000)
    model = feed.model()
    progress: list[int] = []
    model.progress.connect(progress.append)
    with qtbot.waitSignal(model.busy, timeout=30_000, check_params_cb=lambda label: label == ""):
        model.sort(Column.SIZE)
    assert len(progress) > 1
    sizes = [feed.mirror.get(i).size for i in _ids(model)[:2000]]  # type: ignore[union-attr]
    assert sizes == sorted(sizes)
    assert model.rowCount() == 50_000


def test_delete_and_clear() -> None:
    feed = Feed()
    for _ in range(4):
        feed.add()
    model = feed.model()
    deleted = model.delete_rows([1, 2])
    assert sorted(deleted) == [2, 3]
    assert _ids(model) == [1, 4]
    assert len(feed.mirror) == 2
    for flow_id in deleted:  # as the engine does when asked
        feed.store.delete(flow_id)
    feed.builder.deleted(deleted)
    assert list(feed.send(model).deleted) == [3, 2]
    assert _ids(model) == [1, 4]
    feed.store.clear()
    feed.builder.cleared()
    feed.mirror.forget_through(feed.store.last_id)
    model.clear()
    assert model.rowCount() == 0 and len(feed.mirror) == 0
    feed.add()
    feed.send(model)
    assert _ids(model) == [5]
    assert model.rowCount(QModelIndex()) == 1


def test_a_row_sent_again_after_the_window_let_it_go_returns_in_place() -> None:
    feed = Feed()
    for _ in range(3):
        feed.add()
    model = feed.model()
    model.delete_rows([1])  # the engine is not told, and sends it again
    feed.relay.emit(FlowFinished(2))
    feed.send(model)
    assert _ids(model) == [1, 2, 3]


def test_rows_of_flows_dropped_at_the_cap_go(qtmodeltester: ModelTester) -> None:
    feed = Feed(max_flows=5)
    model = FlowTableModel(feed.mirror)
    qtmodeltester.check(model)
    for _ in range(4):
        feed.add()
    feed.send(model)
    removed: list[tuple[int, int]] = []
    model.rowsRemoved.connect(lambda _p, a, b: removed.append((a, b)))
    for _ in range(3):
        feed.add()  # 1 and 2 dropped
    feed.send(model)
    assert _ids(model) == [3, 4, 5, 6, 7]
    assert removed == [(0, 1)]
    model.sort(Column.ID, Qt.SortOrder.DescendingOrder)
    model.wait_job()
    feed.add()
    feed.send(model)
    assert _ids(model) == [8, 7, 6, 5, 4]
    assert removed[-1] == (4, 4)  # 3, the last row, before 8 went in on top
    qtmodeltester.check(model)


def test_dropped_rows_go_under_any_sort_and_filter(qtmodeltester: ModelTester) -> None:
    feed = Feed(max_flows=6)
    model = FlowTableModel(feed.mirror)
    for i in range(6):
        feed.add(host="ab"[i % 2] + ".test", status=200 if i % 3 else 404)
    feed.send(model)
    model.sort(Column.HOST)
    model.wait_job()
    assert _ids(model) == [1, 3, 5, 2, 4, 6]
    for _ in range(3):
        feed.add(host="c.test")  # 1, 2, 3 dropped: rows 0, 1, 3
    feed.send(model)
    model.wait_job()
    assert sorted(_ids(model)) == [4, 5, 6, 7, 8, 9]
    assert _ids(model)[:3] == [5, 4, 6]
    model.set_filter(parse_filter("status:404"))
    model.wait_job()
    assert _ids(model) == [4]
    for _ in range(3):
        feed.add(status=404)  # 4, 5, 6 dropped
    feed.send(model)
    model.wait_job()
    assert sorted(_ids(model)) == [10, 11, 12]
    qtmodeltester.check(model)


def test_flows_dropped_while_a_filter_runs_are_not_shown(qtbot: QtBot) -> None:
    feed = Feed(max_flows=100_000)
    for _ in range(60_000):
        feed.add()
    model = feed.model()
    model.set_filter(parse_filter("status:200"))  # sliced: runs across batches
    assert model.job_running
    feed.store.set_max_flows(10)
    feed.add()
    feed.send(model)
    model.wait_job()
    assert _ids(model) == list(range(59_992, 60_002))


def test_many_scattered_dropped_rows_reset_the_model() -> None:
    feed = Feed(max_flows=2000)
    for i in range(2000):
        feed.add(size=(i * 7919) % 1000)  # scatters ids across the sort
    model = feed.model()
    model.sort(Column.SIZE)
    model.wait_job()
    resets: list[bool] = []
    model.modelReset.connect(lambda: resets.append(True))
    feed.store.set_max_flows(1000)
    feed.add()
    feed.send(model)
    assert resets and model.rowCount() == 1000
    assert sorted(_ids(model)) == list(range(1002, 2002))


def test_multi_data_answers_as_data_does(qtbot: QtBot) -> None:
    """The delegate asks every role of a cell in one multiData call; the
    answers must be data()'s, role by role, cell by cell."""
    from PySide6.QtCore import QModelRoleData, QModelRoleDataSpan
    from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem

    feed = Feed()
    feed.add(status=404)
    feed.add(status=None)
    feed.add(status=None, failed=True)
    model = feed.model()
    roles = [int(r.value) for r in Qt.ItemDataRole if r.value <= 13] + [FLOW_ID_ROLE]
    for row in range(model.rowCount()):
        for column in range(model.columnCount()):
            index = model.index(row, column)
            for role in roles:
                slot = QModelRoleData(role)
                model.multiData(index, QModelRoleDataSpan(slot))
                assert slot.data() == model.data(index, role), (row, column, role)
    # And through the delegate, as a repaint does.
    option = QStyleOptionViewItem()
    delegate = QStyledItemDelegate()
    index = model.index(0, Column.STATUS)
    delegate.initStyleOption(option, index)
    assert option.text == "404"
    assert option.palette.text().color() == FAILED_FG
    assert option.displayAlignment & Qt.AlignmentFlag.AlignRight


def test_the_row_index_built_in_slices_matches_the_order(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inspector.gui import flow_model, table_jobs

    monkeypatch.setattr(flow_model, "INDEX_CHUNK", 7)
    monkeypatch.setattr(table_jobs, "SORT_CHUNK", 10)
    feed = Feed()
    for i in range(50):
        feed.add(host=f"h{(i * 7) % 13}.test")
    model = feed.model()
    model.sort(Column.HOST)
    assert model.job_running
    late = feed.add(host="a.test")  # arrives while the sort runs
    feed.send(model)
    model.wait_job()
    ids = _ids(model)
    assert sorted(ids) == list(range(1, 52)) and ids[-1] == late
    assert all(model.row_of(flow_id) == row for row, flow_id in enumerate(ids))


# Body search: rows the search reveals, and rows it is asked to judge


def _narrowed(model: FlowTableModel, text: str) -> tuple[NarrowedFilter, Verdicts]:
    verdicts = Verdicts()
    narrowed = NarrowedFilter(parse_filter(text), verdicts)
    model.set_filter(narrowed)
    model.wait_job()
    return narrowed, verdicts


@pytest.mark.parametrize("order", [Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder])
@pytest.mark.parametrize("count", [5, 200])
def test_revealed_rows_go_where_the_order_puts_them(
    qtmodeltester: ModelTester, order: Qt.SortOrder, count: int
) -> None:
    feed = Feed()
    for n in range(400):
        feed.add(host="api.test" if n % 2 else "cdn.test")
    model = feed.model()
    model.sort(Column.ID, order)
    model.wait_job()
    _, verdicts = _narrowed(model, "body:x or host:cdn")
    assert model.rowCount() == 200  # the cdn rows are sure; the others wait
    table_selected = model.index(10, 0)
    persistent = QPersistentModelIndex(table_selected)
    selected_id = model.id_at(10)
    matched = list(range(2, 2 + 2 * count, 2))  # api rows (even ids)
    verdicts.set(matched, MATCH)
    model.reveal(list(reversed(matched)))
    qtmodeltester.check(model)
    ids = _ids(model)
    assert ids == sorted(ids, reverse=order == Qt.SortOrder.DescendingOrder)
    assert len(ids) == 200 + count and set(matched) <= set(ids)
    assert model.id_at(persistent.row()) == selected_id
    model.reveal(matched)  # shown already: nothing changes
    assert _ids(model) == ids


def test_rows_awaiting_a_verdict_are_asked_for_when_they_end(qtbot: QtBot) -> None:
    feed = Feed()
    done = feed.add(host="api.test")
    model = feed.model()
    wanted: list[list[int]] = []
    model.search_wanted.connect(wanted.append)
    _narrowed(model, "body:x")
    assert model.rowCount() == 0
    pending = feed.add(host="api.test", status=None)
    feed.add(host="cdn.test")
    feed.send(model)
    # The ended one is asked for at once, the unfinished one when it ends.
    assert wanted == [[pending + 1]]
    feed.respond(pending, 200)
    feed.send(model)
    assert wanted == [[pending + 1], [pending]]
    assert done not in [i for w in wanted for i in w]  # the scan judges those
