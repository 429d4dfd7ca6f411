"""The flow table model: a QAbstractTableModel over the row mirror.

The rows are the window's mirror of the engine's flows (``core.mirror``),
kept current from batches; the model never asks the engine anything.
It keeps its own list of visible flow ids in display order, because
QSortFilterProxyModel over a Python model takes seconds to filter and
minutes to sort a million rows. Batches from the relay are applied in one
go: new rows with a single ``beginInsertRows``, changed rows with a single
``dataChanged`` span. Sorting and filtering a large store run as sliced jobs
(see ``jobs.py``) with progress, so the window stays responsive.

Signals:
    rows_appended(): new rows were added by a batch (the view may follow).
    busy(str): a sort or filter job started ("" when it ended).
    progress(int): percent done of the running job.
"""

from __future__ import annotations

import bisect
from collections.abc import Generator, Iterable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QModelRoleData,
    QModelRoleDataSpan,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)

from inspector.core.filter import parse_filter
from inspector.core.mirror import RowMirror
from inspector.core.rowbatch import RowBatch
from inspector.core.summary import ID, FlowRow
from inspector.gui.flow_cells import (
    HEADERS,
    LEFT,
    NEEDS_FLOW,
    NOT_HELD,
    NUMERIC,
    RIGHT,
    SORT_FIELDS,
    Column,
    cell,
)
from inspector.gui.held_flows import Held
from inspector.gui.jobs import SlicedJob
from inspector.gui.row_index import RowIndex
from inspector.gui.table_jobs import RowFilter, runs_of, sliced_filter, sliced_sort

Index = QModelIndex | QPersistentModelIndex
INDEX_CHUNK = 50_000
RESORT_DELAY_MS = 1000
PLACE_ONE_BY_ONE = 32
"""Fewer matches than this are inserted a row at a time."""
RESET_AFTER_RUNS = 256
"""Scattered rows to remove in more runs than this: reset the model."""


class FlowTableModel(QAbstractTableModel):
    rows_appended = Signal()
    busy = Signal(str)
    progress = Signal(int)
    search_wanted = Signal(list)

    def __init__(self, mirror: RowMirror, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._mirror = mirror
        self._ids: list[int] = []
        self._seen = 0
        """Highest flow id the model has considered."""
        self._dropped_seen = 0
        """Rows up to this id were removed for flows the engine dropped."""
        self._filter: RowFilter = parse_filter("")
        self._sort_column = Column.ID
        self._sort_order = Qt.SortOrder.AscendingOrder
        self._index: RowIndex | None = None
        """id -> row, kept only when sorted by a column other than #."""
        self._undecided: set[int] = set()
        """Unfinished flows the filter rejected but may accept once done."""
        self._job: SlicedJob | None = None
        self._job_arrivals: list[int] = []
        """Ids inserted while a job runs (it must keep them)."""
        self._job_removed: set[int] = set()
        """Ids removed while a job runs (it must drop them)."""
        self._job_revealed: list[int] = []
        """Ids a search matched while a filter job ran."""
        self._resort = QTimer(self)
        self._resort.setSingleShot(True)
        self._resort.setInterval(RESORT_DELAY_MS)
        self._resort.timeout.connect(lambda: self.sort(self._sort_column, self._sort_order))
        self.held: Mapping[int, Held] = NOT_HELD
        """Flows held at a breakpoint: their phase and since when."""
        self._catch_up(list(mirror.ids()))

    # Qt model interface

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole and 0 <= section < len(Column):
                return HEADERS[Column(section)]
            if role == Qt.ItemDataRole.TextAlignmentRole and 0 <= section < len(Column):
                return RIGHT if section in NUMERIC else LEFT
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Called for every visible cell and every role the delegate asks,
        # so the flow is looked up only for roles that depend on it.
        flow = self._flow_of(index) if role in NEEDS_FLOW else None
        return cell(flow, index.column(), role, self.held)

    def multiData(self, index: Index, roleDataSpan: QModelRoleDataSpan | QModelRoleData) -> None:
        """Every role the delegate wants for a cell, in one call.

        A repaint asks each visible cell for seven roles; through ``data``
        that is seven calls from C++ into Python per cell, each taking the
        interpreter lock, which an engine on a thread of this process
        (``--engine thread``) holds much of the time under load: every
        hand-over costs a wait. One call per cell cuts those hand-overs
        sevenfold, and costs a seventh of the calls in any layout."""
        flow = self._flow_of(index)
        column = index.column()
        if isinstance(roleDataSpan, QModelRoleData):
            slots = [roleDataSpan]
        else:  # the stubs know neither its len() nor its [] (both exist)
            slots = [roleDataSpan[i] for i in range(roleDataSpan.size())]  # type: ignore[index]
        held = self.held
        for slot in slots:
            value = cell(flow, column, slot.role(), held)
            if value is None:
                slot.clearData()
            else:
                slot.setData(value)

    def _flow_of(self, index: Index) -> FlowRow | None:
        row = index.row()
        if not 0 <= row < len(self._ids) or not index.isValid():
            return None
        return self._mirror.get(self._ids[row])

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self._resort.stop()
        self._sort_column = Column(column)
        self._sort_order = order
        self._start_job("Sorting", self._sort_steps(list(self._ids)))

    # Reading

    def flow_at(self, row: int) -> FlowRow | None:
        if 0 <= row < len(self._ids):
            return self._mirror.get(self._ids[row])
        return None

    def id_at(self, row: int) -> int | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def shown_ids(self) -> list[int]:
        """The ids of the rows shown (the filter's), in the table's order."""
        return list(self._ids)

    def row_of(self, flow_id: int) -> int | None:
        if self._sort_column == Column.ID:
            descending = self._sort_order == Qt.SortOrder.DescendingOrder
            if descending:
                pos = bisect.bisect_left(self._ids, -flow_id, key=lambda v: -v)
            else:
                pos = bisect.bisect_left(self._ids, flow_id)
            if pos < len(self._ids) and self._ids[pos] == flow_id:
                return pos
            return None
        if self._index is None:
            self._index = RowIndex.of(self._ids)
        return self._index.get(flow_id)

    @property
    def filter(self) -> RowFilter:
        return self._filter

    @property
    def job_running(self) -> bool:
        return self._job is not None and not self._job.done

    # Applying batches

    def apply_batch(self, batch: RowBatch, show: bool = True) -> list[int]:
        """Bring the mirror up to date with ``batch`` (deleted and dropped
        flows out, rows in) and, when ``show``, the table with it (a paused
        display does not). Returns the ids of the rows the batch carried."""
        mirror = self._mirror
        if batch.deleted:
            for flow_id in batch.deleted:
                mirror.remove(flow_id)
            self.remove_ids(batch.deleted)
        if batch.dropped_through >= mirror.first_id:
            # Even paused, rows of flows the engine dropped at its cap go:
            # they could only show stale.
            mirror.forget_through(batch.dropped_through)
            self.forget_dropped(batch.dropped_through)
        fresh = mirror.apply(batch.rows, batch.through)
        carried = [row[ID] for row in batch.rows]
        if show:
            new = set(fresh)
            changed = [i for i in carried if i not in new] if new else carried
            self.apply_rows(fresh, changed, batch.resync)
        return carried

    def apply_rows(
        self, fresh: Sequence[int], changed: Iterable[int], resync: bool = False
    ) -> None:
        """Show what a batch brought to the mirror: ``fresh`` ids got their
        first row (ascending), ``changed`` ones a new one. After a resync
        every row is repainted."""
        self._catch_up(fresh)
        if resync:
            self._refresh_all()
        else:
            self._refresh(changed)

    def resume(self) -> None:
        """Show what arrived while the display was paused."""
        self._catch_up(list(self._mirror.ids(self._seen + 1)))
        self._refresh_all()

    def _catch_up(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        mirror, accept = self._mirror, self._filter
        undecided = accept.uses_response
        awaits = getattr(accept, "awaits", None)
        fresh: list[int] = []
        late: list[int] = []
        wanted: list[int] = []
        seen = self._seen
        for flow_id in ids:
            row = mirror.get(flow_id)
            if row is None:
                continue
            if accept(row):
                (fresh if flow_id > seen else late).append(flow_id)
            elif undecided and not row.finished:
                self._undecided.add(flow_id)
            elif awaits is not None and awaits(row):
                wanted.append(flow_id)
        self._seen = max(seen, ids[-1])
        if wanted:
            self.search_wanted.emit(wanted)
        if fresh:
            self._insert(fresh)
        for flow_id in late:
            # A row for an id below the newest shown (the engine sent it
            # again after the window had let it go): placed where it goes.
            if self.row_of(flow_id) is None:
                self._place(flow_id)

    def _insert(self, fresh: list[int]) -> None:
        """Insert ids newer than every id shown, in one beginInsertRows."""
        count = len(self._ids)
        if self._sort_column == Column.ID and self._sort_order == Qt.SortOrder.DescendingOrder:
            self.beginInsertRows(QModelIndex(), 0, len(fresh) - 1)
            self._ids[0:0] = reversed(fresh)
            self.endInsertRows()
            if self.job_running:
                self._job_arrivals.extend(fresh)
        else:
            self.beginInsertRows(QModelIndex(), count, count + len(fresh) - 1)
            self._ids.extend(fresh)
            if self.job_running:
                self._job_arrivals.extend(fresh)
            if self._index is not None:
                for offset, flow_id in enumerate(fresh):
                    self._index[flow_id] = count + offset
            self.endInsertRows()
            if self._sort_column != Column.ID and not self._resort.isActive():
                self._resort.start()
        self.rows_appended.emit()

    def _refresh(self, changed: Iterable[int]) -> None:
        rows: list[int] = []
        recheck = self._filter.uses_response
        for flow_id in changed:
            row = self.row_of(flow_id)
            if row is not None:
                rows.append(row)
            elif recheck and flow_id in self._undecided:
                self._reconsider(flow_id)
        if recheck and rows:
            rows = self._drop_rejected(rows)
        if rows:
            last = len(Column) - 1
            self.dataChanged.emit(self.index(min(rows), 0), self.index(max(rows), last))

    def _reconsider(self, flow_id: int) -> None:
        flow = self._mirror.get(flow_id)
        if flow is None:
            self._undecided.discard(flow_id)
            return
        if flow.finished:
            self._undecided.discard(flow_id)
        if not self._filter(flow):
            awaits = getattr(self._filter, "awaits", None)
            if flow.finished and awaits is not None and awaits(flow):
                self.search_wanted.emit([flow_id])
            return
        self._undecided.discard(flow_id)
        self._place(flow_id)

    def _place(self, flow_id: int) -> None:
        """Insert one row where the current order puts it (by id), or last."""
        if self._sort_column == Column.ID:
            descending = self._sort_order == Qt.SortOrder.DescendingOrder
            key = (lambda v: -v) if descending else None
            row = bisect.bisect_left(self._ids, -flow_id if descending else flow_id, key=key)
        else:
            row = len(self._ids)
            self._index = None
        self.beginInsertRows(QModelIndex(), row, row)
        self._ids.insert(row, flow_id)
        self.endInsertRows()
        if self.job_running:
            self._job_arrivals.append(flow_id)

    def _drop_rejected(self, rows: list[int]) -> list[int]:
        """Remove rows the filter no longer accepts; return the rest."""
        keep: list[int] = []
        for row in sorted(rows, reverse=True):
            flow = self._mirror.get(self._ids[row])
            if flow is not None and self._filter(flow):
                keep.append(row)
                continue
            self.beginRemoveRows(QModelIndex(), row, row)
            if self.job_running:
                self._job_removed.add(self._ids[row])
            del self._ids[row]
            self.endRemoveRows()
            self._index = None
            keep = [r - 1 for r in keep]
        return keep

    def reveal(self, flow_ids: list[int]) -> None:
        """Show these flows, which a search found to match, where the
        filter now accepts them and they are not shown yet."""
        if self.job_running:
            self._job_revealed.extend(flow_ids)
        else:
            self._show_revealed(flow_ids)

    def _show_revealed(self, flow_ids: list[int]) -> None:
        mirror, accept = self._mirror, self._filter
        new = sorted(
            i
            for i in set(flow_ids)
            if i <= self._seen and (flow := mirror.get(i)) is not None and accept(flow)
        )
        new = [i for i in new if self.row_of(i) is None]
        if not new:
            return
        if len(new) <= PLACE_ONE_BY_ONE:
            for flow_id in new:
                self._place(flow_id)
            return
        # Many at once: merged into the order in one layout change, the
        # selection kept.
        if self._sort_column == Column.ID:
            descending = self._sort_order == Qt.SortOrder.DescendingOrder
            self._relayout(sorted(self._ids + new, reverse=descending), None)
        else:
            self._relayout(self._ids + new, None)
            if not self._resort.isActive():
                self._resort.start()
        self.rows_appended.emit()

    def _relayout(self, ids: list[int], index: RowIndex | None) -> None:
        """Show ``ids`` in this order (``index`` their id -> row, or None
        to build it when needed) in one layout change, the rows the view
        holds on to (the selection, the current row) following their ids."""
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        old_ids = [self._ids[p.row()] if 0 <= p.row() < len(self._ids) else -1 for p in persistent]
        self._ids = ids
        self._index = index
        for pindex, flow_id in zip(persistent, old_ids, strict=True):
            row = self.row_of(flow_id) if flow_id >= 0 else None
            target = QModelIndex() if row is None else self.index(row, pindex.column())
            self.changePersistentIndex(pindex, target)
        self.layoutChanged.emit()

    def forget_dropped(self, through: int) -> None:
        """Remove the rows of flows with ids up to ``through``, which the
        engine dropped at its cap (always the oldest ids)."""
        if through <= self._dropped_seen:
            return
        self._dropped_seen = through
        if self._undecided:
            self._undecided = {i for i in self._undecided if i > through}
        ids = self._ids
        if self._sort_column == Column.ID:
            if self._sort_order == Qt.SortOrder.DescendingOrder:
                first = bisect.bisect_left(ids, -through, key=lambda v: -v)
                self._remove_run(first, len(ids) - 1)
            else:
                self._remove_run(0, bisect.bisect_right(ids, through) - 1)
            return
        rows = [row for row, flow_id in enumerate(ids) if flow_id <= through]
        if not rows:
            return
        runs = runs_of(rows)
        self._index = None
        if len(runs) > RESET_AFTER_RUNS:
            if self.job_running:
                self._job_removed.update(ids[row] for row in rows)
            self.beginResetModel()
            self._ids = [i for i in ids if i > through]
            self.endResetModel()
            return
        for first, last in reversed(runs):
            self._remove_run(first, last)

    def _remove_run(self, first: int, last: int) -> None:
        if first > last:
            return
        self.beginRemoveRows(QModelIndex(), first, last)
        if self.job_running:
            self._job_removed.update(self._ids[first : last + 1])
        del self._ids[first : last + 1]
        if self._index is not None and self._sort_column != Column.ID:
            self._index = None
        self.endRemoveRows()

    def refresh_ids(self, flow_ids: Iterable[int], column: int) -> None:
        """Repaint one column of these flows' rows (a held flow's clock)."""
        for flow_id in flow_ids:
            row = self.row_of(flow_id)
            if row is not None:
                index = self.index(row, column)
                self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole])

    def _refresh_all(self) -> None:
        if self._ids:
            last = len(Column) - 1
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._ids) - 1, last))

    # Editing

    def delete_rows(self, rows: Iterable[int]) -> list[int]:
        """Remove rows from the table and their flows from the mirror;
        return the flow ids (the engine is to delete them too)."""
        deleted: list[int] = []
        for row in sorted(set(rows), reverse=True):
            if 0 <= row < len(self._ids):
                self.beginRemoveRows(QModelIndex(), row, row)
                flow_id = self._ids.pop(row)
                self._mirror.remove(flow_id)
                deleted.append(flow_id)
                if self.job_running:
                    self._job_removed.add(flow_id)
                self.endRemoveRows()
        self._index = None
        return deleted

    def remove_ids(self, flow_ids: Iterable[int]) -> None:
        """Remove the rows of these flows, if shown (deleted elsewhere)."""
        rows = [row for row in map(self.row_of, flow_ids) if row is not None]
        if rows:
            self.delete_rows(rows)

    def clear(self) -> None:
        """Empty the table (the mirror was cleared)."""
        if self._job is not None and not self._job.done:
            self._job.cancel()
            self.busy.emit("")
        self.beginResetModel()
        self._ids = []
        self._index = None
        self._undecided.clear()
        self._seen = self._mirror.last_id
        self.endResetModel()

    # Filter and sort jobs

    def set_filter(self, flow_filter: RowFilter) -> None:
        self._filter = flow_filter
        self._start_job("Filtering", self._filter_steps(flow_filter))

    def wait_job(self) -> None:
        """Finish the running job synchronously (tests)."""
        if self._job is not None and not self._job.done:
            self._job.run_to_end()

    def _start_job(self, label: str, steps: Generator[int, None, None]) -> None:
        if self._job is not None and not self._job.done:
            self._job.cancel()
        self._job_arrivals = []
        self._job_removed = set()
        self._job_revealed = []
        job = SlicedJob(steps, self)
        job.progress.connect(self.progress)
        job.finished.connect(lambda: self.busy.emit(""))
        self._job = job
        self.busy.emit(label)
        job.start()

    def _filter_steps(self, flow_filter: RowFilter) -> Generator[int, None, None]:
        upto = self._seen
        kept, undecided = yield from sliced_filter(self._mirror, flow_filter, upto)
        oldest = kept[0] if kept else upto + 1
        ordered = yield from self._ordered(kept)
        removed = self._job_removed
        dropped = self._dropped_seen
        if removed or oldest <= dropped:
            # Deleted or dropped by the store while the job ran.
            ordered = [i for i in ordered if i not in removed and i > dropped]
        self.beginResetModel()
        self._ids = ordered
        self._index = None
        self._undecided = undecided
        self.endResetModel()
        # Rows that arrived while the job ran, and those a search found.
        self._catch_up(list(self._mirror.ids(upto + 1)))
        revealed, self._job_revealed = self._job_revealed, []
        if revealed:
            self._show_revealed(revealed)

    def _sort_steps(self, ids: list[int]) -> Generator[int, None, None]:
        ordered = yield from self._ordered(ids)
        # The id -> row index for the new order, in slices too: built in the
        # last step it cost 240 ms at 500,000 rows, a freeze at the end.
        index: RowIndex | None = None
        if self._sort_column != Column.ID:
            index = RowIndex()
            for start in range(0, len(ordered), INDEX_CHUNK):
                index.place(ordered[start : start + INDEX_CHUNK], start)
                yield 100
        # Rows added while sorting go after the sorted ones; deleted ones go.
        removed = self._job_removed
        extra = [i for i in self._job_arrivals if i not in removed]
        if removed:
            ordered = [i for i in ordered if i not in removed]
            index = None  # rows moved up: rebuilt when needed
        if extra:
            if index is not None:
                index.place(extra, len(ordered))
            ordered.extend(extra)
        self._relayout(ordered, index)

    def _ordered(self, ids: list[int]) -> Generator[int, None, list[int]]:
        """Order ``ids`` by the current sort, in slices (``table_jobs.py``);
        yields progress and returns the order."""
        column, descending = self._sort_column, self._sort_order == Qt.SortOrder.DescendingOrder
        if column == Column.ID:
            ids.sort(reverse=descending)
            yield 100
            return ids
        mirror = self._mirror
        key = mirror.sort_key(SORT_FIELDS[column])
        return (yield from sliced_sort(ids, key, descending, mirror.__contains__))
