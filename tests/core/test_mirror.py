"""The window's row mirror: rows in and out by id, what is forgotten and
what stays, sort keys, and compaction of a long-running mirror, checked
against a plain dict of rows."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.core import mirror as mirror_module
from inspector.core import summary as S
from inspector.core.flow import Flow, FlowError, FlowState, Request, Response, TunnelInfo
from inspector.core.mirror import RowMirror
from inspector.core.summary import row_of, summarize


def _row(flow_id: int, **changes: Any) -> tuple[Any, ...]:
    """A summary row of a finished GET, with ``changes`` by column name."""
    flow = Flow(id=flow_id, client_addr=("127.0.0.1", 1))
    flow.request = Request(method="GET", host=f"h{flow_id % 3}.test", target=f"/{flow_id}")
    flow.response = Response(status=200, body_size=flow_id)
    flow.state = FlowState.COMPLETE
    flow.t_start, flow.t_end = 1000.0 + flow_id, 1000.5 + flow_id
    row = list(summarize(flow))
    for name, value in changes.items():
        row[getattr(S, name.upper())] = value
    return tuple(row)


def _contents(mirror: RowMirror) -> dict[int, Any]:
    return {row.id: row for row in mirror.rows()}


def test_rows_go_in_and_come_out_by_id() -> None:
    mirror = RowMirror()
    rows = [_row(i) for i in (3, 1, 2)]
    assert mirror.apply(rows, through=3) == [1, 2, 3]
    assert len(mirror) == 3 and mirror.last_id == 3 and mirror.first_id == 1
    for row in rows:
        assert mirror.get(row[S.ID]) == row_of(row)
        assert row[S.ID] in mirror
    assert mirror.get(4) is None and 4 not in mirror and 0 not in mirror


def test_a_row_applied_again_is_an_update_not_a_new_row() -> None:
    mirror = RowMirror()
    mirror.apply([_row(1, status=0, flags=0, state=0, duration=-1.0)], 1)
    assert not mirror.finished(1)
    assert mirror.apply([_row(1)], 1) == []
    assert len(mirror) == 1
    assert mirror.finished(1)
    assert mirror.get(1) == row_of(_row(1))


def test_through_makes_slots_for_flows_never_shown() -> None:
    mirror = RowMirror()
    mirror.apply([_row(2), _row(5)], through=8)
    assert mirror.last_id == 8
    assert list(mirror.ids()) == [2, 5]
    assert list(mirror.ids(3)) == [5]
    assert list(mirror.ids(1, 4)) == [2]
    assert list(mirror.ids(6, 100)) == []
    assert [row.id for row in mirror.rows(2, 5)] == [2, 5]
    mirror.apply([_row(12)])
    assert mirror.last_id == 12 and len(mirror) == 3


def test_remove() -> None:
    mirror = RowMirror()
    mirror.apply([_row(1), _row(2, error="boom", error_kind="dns")], 2)
    assert mirror.remove(2)
    assert not mirror.remove(2)
    assert not mirror.remove(9)
    assert list(mirror.ids()) == [1] and len(mirror) == 1
    assert mirror.apply([_row(2)]) == [2]
    assert mirror.get(2) is not None and mirror.get(2).error == ""  # type: ignore[union-attr]


def test_an_error_goes_when_the_row_no_longer_has_one() -> None:
    mirror = RowMirror()
    mirror.apply([_row(1, error="boom", error_kind="dns", state=3)])
    assert mirror.get(1).error == "boom"  # type: ignore[union-attr]
    mirror.apply([_row(1)])
    assert mirror.get(1).error == ""  # type: ignore[union-attr]


def test_forget_through_part_of_the_rows() -> None:
    mirror = RowMirror()
    mirror.apply([_row(i) for i in range(1, 11)], 10)
    mirror.forget_through(4)
    assert list(mirror.ids()) == list(range(5, 11))
    assert len(mirror) == 6 and mirror.first_id == 5
    assert mirror.get(4) is None and not mirror.finished(4)
    assert mirror.apply([_row(3)]) == []  # a row for a forgotten flow is ignored
    assert not mirror.remove(2)
    mirror.forget_through(2)  # behind the front: nothing happens
    assert len(mirror) == 6


@pytest.mark.parametrize("through", [10, 15])
def test_forget_through_everything_continues_the_ids(through: int) -> None:
    mirror = RowMirror()
    mirror.apply([_row(i) for i in range(1, 11)], 10)
    mirror.forget_through(through)
    assert len(mirror) == 0 and list(mirror.ids()) == []
    assert mirror.last_id == through and mirror.first_id == through + 1
    assert mirror.apply([_row(through + 1)], through + 1) == [through + 1]
    assert list(mirror.ids()) == [through + 1]


def test_forget_through_on_a_mirror_without_slots_still_moves_past_the_ids() -> None:
    """A clear can reach a window before any of the cleared rows did; a
    late row for one of those ids must still be ignored."""
    mirror = RowMirror()
    mirror.forget_through(5)
    assert mirror.last_id == 5 and mirror.first_id == 6
    assert mirror.apply([_row(3)]) == []
    assert len(mirror) == 0
    mirror.apply([_row(6)], 6)
    mirror.forget_through(6)
    mirror.forget_through(9)
    assert mirror.last_id == 9 and mirror.apply([_row(8)]) == []


def test_compaction_keeps_every_row_readable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mirror_module, "COMPACT_AFTER", 64)
    mirror = RowMirror()
    mirror.apply([_row(i, error=f"e{i}") for i in range(1, 201)], 200)
    mirror.forget_through(99)  # front 99 of 200: past COMPACT_AFTER but not half
    assert mirror.first_id == 100 and min(mirror.ids()) == 100
    mirror.forget_through(120)  # now over half: the dead front is copied away
    assert mirror._base == 120 and mirror._front == 0
    assert list(mirror.ids()) == list(range(121, 201))
    assert all(mirror.get(i) == row_of(_row(i, error=f"e{i}")) for i in range(121, 201))
    assert mirror.get(120) is None and len(mirror) == 80
    key = mirror.sort_key(S.SIZE)
    assert sorted(mirror.ids(), key=key, reverse=True)[0] == 200
    assert mirror.apply([_row(201)], 201) == [201]
    assert mirror.get(201) == row_of(_row(201))


def test_compaction_at_the_real_threshold() -> None:
    count = mirror_module.COMPACT_AFTER + 10
    mirror = RowMirror()
    mirror.apply([_row(i) for i in range(1, count + 1)], count)
    mirror.forget_through(mirror_module.COMPACT_AFTER)
    assert list(mirror.ids()) == list(range(mirror_module.COMPACT_AFTER + 1, count + 1))
    assert mirror.get(count) == row_of(_row(count))


# Sorting


def test_sort_keys_order_by_each_column() -> None:
    mirror = RowMirror()
    mirror.apply(
        [
            _row(1, status=0, flags=0, duration=-1.0, method="POST", port=8080, path="/z"),
            _row(2, status=500, content_type="text/html", error_kind="dns", error="b"),
            _row(3, status=200, path="/a", host="z.test", tunnel_mode="raw", inner=2),
        ],
        3,
    )
    ids = list(mirror.ids())

    def order(field: int) -> list[int]:
        return sorted(ids, key=mirror.sort_key(field))

    assert order(S.ID) == [1, 2, 3]
    assert order(S.STATUS) == [1, 3, 2]  # no response sorts first
    assert order(S.DURATION) == [1, 2, 3]  # unfinished first
    assert order(S.METHOD) == [2, 3, 1]
    assert order(S.HOST)[-1] == 3
    assert order(S.PORT) == [2, 3, 1]
    assert order(S.PATH) == [2, 3, 1]
    assert order(S.CONTENT_TYPE)[-1] == 2
    assert order(S.ERROR)[-1] == 2 and order(S.ERROR_KIND)[-1] == 2
    assert order(S.INNER)[-1] == 3 and order(S.TUNNEL_MODE)[-1] == 3
    assert order(S.SIZE) == [1, 2, 3] and order(S.T_START) == [1, 2, 3]
    assert order(S.REQ_SIZE) == [1, 2, 3]


def test_there_is_no_sort_key_for_an_unknown_column() -> None:
    with pytest.raises(ValueError, match="no sort key"):
        RowMirror().sort_key(S.FIELDS)


def test_out_of_range_numbers_are_kept_in_their_columns() -> None:
    mirror = RowMirror()
    mirror.apply([_row(1, port=70000, status=70000, flags=0x10104)])
    row = mirror.get(1)
    assert row is not None
    assert row.port == 70000 & 0xFFFF and row.status == 0xFFFF and row.flags == 0x104


# Against a plain dict

ops = st.lists(
    st.one_of(
        st.tuples(st.just("apply"), st.lists(st.integers(1, 60), max_size=8), st.integers(0, 70)),
        st.tuples(st.just("remove"), st.integers(0, 70)),
        st.tuples(st.just("forget"), st.integers(0, 80)),
        st.tuples(st.just("update"), st.integers(1, 80), st.integers(100, 599)),
    ),
    max_size=30,
)


@given(ops)
@settings(max_examples=150)
def test_the_mirror_holds_what_a_dict_of_rows_would(steps: list[tuple[Any, ...]]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mirror_module, "COMPACT_AFTER", 4)
        _replay(steps)


def _replay(steps: list[tuple[Any, ...]]) -> None:
    mirror = RowMirror()
    model: dict[int, tuple[Any, ...]] = {}
    forgotten = 0
    for step in steps:
        if step[0] == "apply":
            rows = [_row(i) for i in step[1]]
            fresh = mirror.apply(rows, step[2])
            wanted = sorted({i for i in step[1] if i > forgotten and i not in model})
            assert fresh == wanted
            model.update({r[S.ID]: r for r in rows if r[S.ID] > forgotten})
        elif step[0] == "remove":
            assert mirror.remove(step[1]) == (model.pop(step[1], None) is not None)
        elif step[0] == "forget":
            mirror.forget_through(step[1])
            forgotten = max(forgotten, step[1])
            model = {i: r for i, r in model.items() if i > forgotten}
        elif step[1] in model:
            row = _row(step[1], status=step[2], error="x", error_kind="k", state=3)
            assert mirror.apply([row]) == []
            model[step[1]] = row
        assert len(mirror) == len(model)
        assert _contents(mirror) == {i: row_of(r) for i, r in model.items()}
        assert list(mirror.ids()) == sorted(model)


def test_rows_of_every_kind_survive() -> None:
    tunnel = Flow(id=1, client_addr=("::1", 1))
    tunnel.request = Request(method="CONNECT", host="::1", port=443, target="[::1]:443")
    tunnel.tunnel = TunnelInfo(mode="passthrough", bytes_up=2**40, inner_flows=5)
    failed = Flow(id=2, client_addr=("::1", 1), tunnel_id=1, state=FlowState.FAILED)
    failed.error = FlowError("timeout", "upstream timed out")
    failed.t_end = 3.0
    mirror = RowMirror()
    mirror.apply([summarize(tunnel), summarize(failed)], 2)
    assert mirror.get(1) == row_of(summarize(tunnel))
    assert mirror.get(2) == row_of(summarize(failed))
    assert mirror.get(1).url == "[::1]:443"  # type: ignore[union-attr]


def test_the_version_and_addresses_come_back_from_the_mirror_and_sort() -> None:
    from inspector.core import summary as S

    mirror = RowMirror()
    first = list(_row(1))
    first[S.VERSION :] = ["1.1", "127.0.0.1:40000", "[::1]:443"]
    second = list(_row(2))
    second[S.VERSION :] = ["1.0", "10.0.0.2:50000", ""]
    mirror.apply([tuple(first), tuple(second)[: S.VERSION], tuple(second)])
    row = mirror.get(1)
    assert row is not None
    assert (row.http_version, row.client_addr, row.server_addr) == (
        "1.1",
        "127.0.0.1:40000",
        "[::1]:443",
    )
    other = mirror.get(2)
    assert other is not None and other.server_addr == "" and other.client_addr == "10.0.0.2:50000"
    by_client = sorted([1, 2], key=mirror.sort_key(S.CLIENT_ADDR))
    assert by_client == [2, 1]
    assert sorted([1, 2], key=mirror.sort_key(S.VERSION)) == [2, 1]
