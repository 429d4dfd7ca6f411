"""Flow id -> table row, for a table ordered by anything but the id.

Ids are dense (the engine hands them out in order), so the index is one
machine integer per id in its range, not a dict entry: 8 bytes a row where
a dict of a million ints cost about 70 MB more, at the moment a sort has
the window's memory at its highest.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence

MISSING = -1


class RowIndex:
    __slots__ = ("_first", "_rows")

    def __init__(self) -> None:
        self._first = 0
        """The id in slot 0 (meaningless while there are no slots)."""
        self._rows = array("q")

    def get(self, flow_id: int) -> int | None:
        at = flow_id - self._first
        if 0 <= at < len(self._rows):
            row = self._rows[at]
            return row if row != MISSING else None
        return None

    def __setitem__(self, flow_id: int, row: int) -> None:
        self._cover(flow_id, flow_id)
        self._rows[flow_id - self._first] = row

    def place(self, ids: Sequence[int], first_row: int) -> None:
        """``ids`` are the rows from ``first_row`` on, in order."""
        if not ids:
            return
        self._cover(min(ids), max(ids))
        rows, first = self._rows, self._first
        for row, flow_id in enumerate(ids, first_row):
            rows[flow_id - first] = row

    def _cover(self, low: int, high: int) -> None:
        """Make slots for every id from ``low`` to ``high``."""
        rows = self._rows
        if not rows:
            self._first = low
        elif low < self._first:
            rows[0:0] = array("q", [MISSING]) * (self._first - low)
            self._first = low
        missing = high - self._first + 1 - len(rows)
        if missing > 0:
            rows.extend(array("q", [MISSING]) * missing)

    @classmethod
    def of(cls, ids: Sequence[int]) -> RowIndex:
        """The index of ``ids`` in their order (row 0 first)."""
        index = cls()
        index.place(ids, 0)
        return index
