"""The id -> row index of a table sorted by anything but the id."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from inspector.gui.row_index import RowIndex


def test_rows_by_id() -> None:
    index = RowIndex.of([7, 3, 9])
    assert [index.get(i) for i in (3, 7, 9)] == [1, 0, 2]
    assert index.get(8) is None and index.get(2) is None and index.get(100) is None
    index[1] = 3  # below the range
    index[20] = 4  # above it
    assert (index.get(1), index.get(20), index.get(7)) == (3, 4, 0)
    index.place([30, 2], 5)
    assert (index.get(30), index.get(2)) == (5, 6)
    assert RowIndex().get(1) is None


@given(st.lists(st.integers(1, 5_000), unique=True, max_size=200), st.integers(0, 50))
def test_it_answers_as_a_dict_would(ids: list[int], first_row: int) -> None:
    index = RowIndex()
    index.place(ids, first_row)
    expected = {flow_id: first_row + n for n, flow_id in enumerate(ids)}
    for probe in range(0, 5_002, 7):
        assert index.get(probe) == expected.get(probe)
    for flow_id in ids:
        assert index.get(flow_id) == expected[flow_id]
