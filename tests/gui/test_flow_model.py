"""The flow table model: batches, filter, sort, deletion, model contract."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from inspector.core.filter import parse_filter
from inspector.core.flow import FlowError, FlowState, Request, Response
from inspector.core.relay import Batch
from inspector.core.store import FlowStore
from inspector.gui.flow_cells import FAILED_FG, FLOW_ID_ROLE, Column
from inspector.gui.flow_model import FlowTableModel


def _add(
    store: FlowStore,
    host: str = "a.test",
    status: int | None = 200,
    size: int = 10,
    method: str = "GET",
    failed: bool = False,
) -> int:
    flow = store.new_flow(("127.0.0.1", 1))
    flow.request = Request(method=method, host=host, port=80, target=f"/{flow.id}")
    flow.t_start = 1000.0 + flow.id
    if status is not None:
        flow.response = Response(status=status, body_size=size)
        flow.t_end = flow.t_start + 0.01
        flow.state = FlowState.COMPLETE
    if failed:
        flow.state = FlowState.FAILED
        flow.error = FlowError("dns", "lookup failed")
        flow.t_end = flow.t_start + 0.01
    return flow.id


def _ids(model: FlowTableModel) -> list[int]:
    return [model.data(model.index(r, 0), FLOW_ID_ROLE) for r in range(model.rowCount())]


def test_model_contract_under_batches(qtmodeltester: ModelTester) -> None:
    store = FlowStore()
    model = FlowTableModel(store)
    qtmodeltester.check(model)
    first = _add(store)
    _add(store, status=None)
    model.apply_batch(Batch(new_ids=range(first, store.last_id + 1)))
    qtmodeltester.check(model)
    assert model.rowCount() == 2
    assert model.data(model.index(0, Column.STATUS)) == "200"
    assert model.data(model.index(1, Column.STATUS)) == "…"
    assert model.headerData(Column.ID, Qt.Orientation.Horizontal) == "#"


def test_new_flows_are_one_insert_and_changes_one_span(qtbot: QtBot) -> None:
    store = FlowStore()
    model = FlowTableModel(store)
    ids = [_add(store, status=None) for _ in range(5)]
    inserts: list[tuple[int, int]] = []
    changes: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, a, b: inserts.append((a, b)))
    model.dataChanged.connect(lambda a, b: changes.append((a.row(), b.row())))
    model.apply_batch(Batch(new_ids=range(ids[0], ids[-1] + 1)))
    assert inserts == [(0, 4)]
    for flow_id in (ids[1], ids[3]):
        flow = store.get(flow_id)
        assert flow is not None
        flow.response = Response(status=404)
        flow.state = FlowState.COMPLETE
    model.apply_batch(Batch(changed_ids=[ids[1], ids[3]]))
    assert changes == [(1, 3)]
    assert model.data(model.index(3, Column.STATUS)) == "404"
    assert model.data(model.index(3, Column.STATUS), Qt.ItemDataRole.ForegroundRole) == FAILED_FG


def test_failed_flows_are_marked() -> None:
    store = FlowStore()
    _add(store, status=None, failed=True)
    model = FlowTableModel(store)
    assert model.data(model.index(0, Column.STATUS)) == "failed"
    assert model.data(model.index(0, Column.HOST), Qt.ItemDataRole.ForegroundRole) == FAILED_FG
    assert model.data(model.index(0, Column.HOST), Qt.ItemDataRole.ToolTipRole) == "lookup failed"


def test_resync_catches_up_from_the_store() -> None:
    store = FlowStore()
    model = FlowTableModel(store)
    for _ in range(3):
        _add(store)
    model.apply_batch(Batch(resync=True))
    assert _ids(model) == [1, 2, 3]


def test_filter_narrows_and_follows_status_changes(qtbot: QtBot) -> None:
    store = FlowStore()
    model = FlowTableModel(store)
    _add(store, host="api.test", status=200)
    _add(store, host="cdn.test", status=404)
    pending = _add(store, host="api.test", status=None)
    model.apply_batch(Batch(resync=True))
    model.set_filter(parse_filter("status:4xx"))
    model.wait_job()
    assert _ids(model) == [2]
    flow = store.get(pending)
    assert flow is not None
    flow.response = Response(status=403)
    flow.state = FlowState.COMPLETE
    model.apply_batch(Batch(changed_ids=[pending]))
    assert _ids(model) == [2, 3]
    model.set_filter(parse_filter("host:api"))
    model.wait_job()
    assert _ids(model) == [1, 3]
    new = _add(store, host="cdn.test")
    model.apply_batch(Batch(new_ids=range(new, new + 1)))
    assert _ids(model) == [1, 3]
    model.set_filter(parse_filter(""))
    model.wait_job()
    assert _ids(model) == [1, 2, 3, 4]


def test_sort_by_each_column_and_back(qtmodeltester: ModelTester) -> None:
    store = FlowStore()
    for host, status, size in [("b", 200, 30), ("a", 500, 10), ("c", 404, 20)]:
        _add(store, host=host, status=status, size=size)
    model = FlowTableModel(store)
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
    new = _add(store)
    model.apply_batch(Batch(new_ids=range(new, new + 1)))
    assert _ids(model) == [4, 3, 2, 1]
    assert model.row_of(2) == 2
    for column in Column:
        model.sort(column)
        model.wait_job()
        assert sorted(_ids(model)) == [1, 2, 3, 4]


def test_sort_keeps_the_selection_on_the_same_flow(qtbot: QtBot) -> None:
    from PySide6.QtCore import QPersistentModelIndex

    store = FlowStore()
    for host in ("c", "a", "b"):
        _add(store, host=host)
    model = FlowTableModel(store)
    selected = QPersistentModelIndex(model.index(0, 0))
    model.sort(Column.HOST)
    model.wait_job()
    assert selected.row() == 2
    assert model.data(model.index(selected.row(), 0), FLOW_ID_ROLE) == 1


def test_large_sort_runs_in_slices_with_progress(qtbot: QtBot) -> None:
    store = FlowStore()
    for i in range(50_000):
        _add(store, host=f"h{i % 97}", size=i % 1000)
    model = FlowTableModel(store)
    progress: list[int] = []
    model.progress.connect(progress.append)
    with qtbot.waitSignal(model.busy, timeout=30_000, check_params_cb=lambda label: label == ""):
        model.sort(Column.SIZE)
    assert len(progress) > 1
    sizes = [store.get(i).response.body_size for i in _ids(model)[:2000]]  # type: ignore[union-attr]
    assert sizes == sorted(sizes)
    assert model.rowCount() == 50_000


def test_delete_and_clear() -> None:
    store = FlowStore()
    for _ in range(4):
        _add(store)
    model = FlowTableModel(store)
    model.delete_rows([1, 2])
    assert _ids(model) == [1, 4]
    assert len(store) == 2
    model.clear()
    assert model.rowCount() == 0 and len(store) == 0
    new = _add(store)
    model.apply_batch(Batch(new_ids=range(new, new + 1)))
    assert _ids(model) == [5]
    assert model.rowCount(QModelIndex()) == 1


def _batch(store: FlowStore, model: FlowTableModel, first: int) -> None:
    model.apply_batch(Batch(new_ids=range(first, store.last_id + 1)))


def test_rows_of_flows_dropped_at_the_cap_go(qtmodeltester: ModelTester) -> None:
    store = FlowStore(max_flows=5)
    model = FlowTableModel(store)
    qtmodeltester.check(model)
    for _ in range(4):
        _add(store)
    _batch(store, model, 1)
    removed: list[tuple[int, int]] = []
    model.rowsRemoved.connect(lambda _p, a, b: removed.append((a, b)))
    for _ in range(3):
        _add(store)  # 1 and 2 dropped
    _batch(store, model, 5)
    assert _ids(model) == [3, 4, 5, 6, 7]
    assert removed == [(0, 1)]
    model.sort(Column.ID, Qt.SortOrder.DescendingOrder)
    model.wait_job()
    _add(store)
    _batch(store, model, 8)
    assert _ids(model) == [8, 7, 6, 5, 4]
    assert removed[-1] == (4, 4)  # 3, the last row, before 8 went in on top
    qtmodeltester.check(model)


def test_dropped_rows_go_under_any_sort_and_filter(qtmodeltester: ModelTester) -> None:
    store = FlowStore(max_flows=6)
    model = FlowTableModel(store)
    for i in range(6):
        _add(store, host="ab"[i % 2] + ".test", status=200 if i % 3 else 404)
    _batch(store, model, 1)
    model.sort(Column.HOST)
    model.wait_job()
    assert _ids(model) == [1, 3, 5, 2, 4, 6]
    for _ in range(3):
        _add(store, host="c.test")  # 1, 2, 3 dropped: rows 0, 1, 3
    _batch(store, model, 7)
    model.wait_job()
    assert sorted(_ids(model)) == [4, 5, 6, 7, 8, 9]
    assert _ids(model)[:3] == [5, 4, 6]
    model.set_filter(parse_filter("status:404"))
    model.wait_job()
    assert _ids(model) == [4]
    for _ in range(3):
        _add(store, status=404)  # 4, 5, 6 dropped
    _batch(store, model, 10)
    model.wait_job()
    assert sorted(_ids(model)) == [10, 11, 12]
    qtmodeltester.check(model)


def test_flows_dropped_while_a_filter_runs_are_not_shown(qtbot: QtBot) -> None:
    store = FlowStore(max_flows=100_000)
    for _ in range(60_000):
        _add(store)
    model = FlowTableModel(store)
    model.set_filter(parse_filter("status:200"))  # sliced: runs across batches
    assert model.job_running
    store.set_max_flows(10)
    _add(store)
    _batch(store, model, 60_001)
    model.wait_job()
    assert _ids(model) == list(range(59_992, 60_002))


def test_many_scattered_dropped_rows_reset_the_model() -> None:
    store = FlowStore(max_flows=2000)
    for i in range(2000):
        _add(store, size=(i * 7919) % 1000)  # scatters ids across the sort
    model = FlowTableModel(store)
    model.sort(Column.SIZE)
    model.wait_job()
    resets: list[bool] = []
    model.modelReset.connect(lambda: resets.append(True))
    store.set_max_flows(1000)
    _add(store)
    _batch(store, model, 2001)
    assert resets and model.rowCount() == 1000
    assert sorted(_ids(model)) == list(range(1002, 2002))


def test_multi_data_answers_as_data_does(qtbot: QtBot) -> None:
    """The delegate asks every role of a cell in one multiData call; the
    answers must be data()'s, role by role, cell by cell."""
    from PySide6.QtCore import QModelRoleData, QModelRoleDataSpan
    from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem

    store = FlowStore()
    _add(store, status=404)
    _add(store, status=None)
    _add(store, status=None, failed=True)
    model = FlowTableModel(store)
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
    from inspector.gui import flow_model

    monkeypatch.setattr(flow_model, "INDEX_CHUNK", 7)
    monkeypatch.setattr(flow_model, "SORT_CHUNK", 10)
    store = FlowStore()
    for i in range(50):
        _add(store, host=f"h{(i * 7) % 13}.test")
    model = FlowTableModel(store)
    model.sort(Column.HOST)
    assert model.job_running
    late = _add(store, host="a.test")  # arrives while the sort runs
    model.apply_batch(Batch(new_ids=range(late, late + 1)))
    model.wait_job()
    ids = _ids(model)
    assert sorted(ids) == list(range(1, 52)) and ids[-1] == late
    assert all(model.row_of(flow_id) == row for row, flow_id in enumerate(ids))
