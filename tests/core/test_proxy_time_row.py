"""Proxy time on the wire: the row's appended field (absent in older
session files), the mirror's column, and the detail's optional stamps."""

from __future__ import annotations

import pytest

from inspector.core import summary as S
from inspector.core.flow import Flow, FlowState, Request, Response
from inspector.core.mirror import RowMirror
from inspector.core.wire import flow_from_wire, flow_to_wire


def _flow(flow_id: int = 1) -> Flow:
    flow = Flow(flow_id, ("127.0.0.1", 1), Request(method="GET", host="a.test", target="/"))
    flow.t_start = 100.0
    flow.t_upstream_begin = 100.004
    flow.upstream_addr = ("127.0.0.1", 80)
    flow.t_request_sent = 100.005
    flow.t_response_head = 100.010
    flow.t_response_start = 100.012
    flow.t_end = 100.020
    flow.proxy_extra = 0.001
    flow.response = Response(status=200)
    flow.state = FlowState.COMPLETE
    return flow


def test_the_row_carries_proxy_time_and_older_rows_read_as_unknown() -> None:
    row = S.summarize(_flow())
    assert len(row) == S.FIELDS and row[S.PROXY_TIME] == pytest.approx(0.007)
    assert S.row_of(row).proxy_time == pytest.approx(0.007)
    older = row[: S.PROXY_TIME]
    oldest = row[: S.CLIENT]
    assert S.check_row(older) and S.check_row(oldest)
    assert S.row_of(older).proxy_time is None and S.row_of(oldest).proxy_time is None
    assert not S.check_row((*row[: S.PROXY_TIME], "7 ms"))
    assert not S.check_row((*row[: S.PROXY_TIME], True))
    unfinished = _flow()
    unfinished.t_end = None
    assert S.summarize(unfinished)[S.PROXY_TIME] == -1.0


def test_the_mirror_keeps_the_column() -> None:
    mirror = RowMirror()
    first = S.summarize(_flow(1))
    mirror.apply([first, S.summarize(_flow(2))[: S.PROXY_TIME]], through=2)
    one, two = mirror.get(1), mirror.get(2)
    assert one is not None and one.proxy_time == pytest.approx(0.007)
    assert two is not None and two.proxy_time is None
    assert mirror.recent_proxy_times(10) == [pytest.approx(0.007)]
    key = mirror.sort_key(S.PROXY_TIME)
    assert sorted([1, 2], key=key) == [2, 1]


def test_the_detail_carries_the_new_stamps_and_older_details_still_read() -> None:
    wire = flow_to_wire(_flow())
    back = flow_from_wire(wire).flow
    assert back.t_upstream_begin == 100.004 and back.t_response_head == 100.010
    assert back.proxy_extra == 0.001
    for key in ("t_upstream_begin", "t_response_head", "proxy_extra"):
        del wire[key]
    older = flow_from_wire(wire).flow
    assert older.t_upstream_begin is None and older.t_response_head is None
    assert older.proxy_extra == 0.0
