"""The launched client's name on a flow: its row field (optional, so rows
of older sessions still read), the window's mirror, the wire, and the
``client:`` filter term."""

from __future__ import annotations

import pytest

from inspector.core import summary as S
from inspector.core.filter import FilterError, parse_filter
from inspector.core.flow import Flow, Request, Response
from inspector.core.mirror import RowMirror
from inspector.core.wire import flow_from_wire, flow_to_wire


def _flow(flow_id: int, name: str) -> Flow:
    flow = Flow(flow_id, ("127.0.0.1", 5000), Request(method="GET", host="a.test", target="/"))
    flow.response = Response(status=200)
    flow.client_name = name
    flow.t_start = 1.0
    return flow


def test_the_row_carries_the_name_and_an_older_row_reads_as_none() -> None:
    row = S.summarize(_flow(1, "chromium"))
    assert len(row) == S.FIELDS and row[S.CLIENT] == "chromium"
    assert S.check_row(row) and S.row_of(row).client == "chromium"
    older = row[: S.CLIENT]
    assert S.check_row(older) and S.row_of(older).client == ""
    assert not S.check_row((*row[: S.CLIENT], 7))


def test_the_mirror_keeps_and_sorts_by_the_name() -> None:
    mirror = RowMirror()
    mirror.apply([S.summarize(_flow(1, "firefox")), S.summarize(_flow(2, ""))])
    mirror.apply([S.summarize(_flow(3, "chromium"))[: S.CLIENT]])
    rows = {i: mirror.get(i) for i in (1, 2, 3)}
    assert {i: r.client for i, r in rows.items() if r is not None} == {
        1: "firefox",
        2: "",
        3: "",
    }
    key = mirror.sort_key(S.CLIENT)
    assert sorted([1, 2, 3], key=key) == [2, 3, 1]
    mirror.forget_through(3)
    mirror.apply([S.summarize(_flow(4, "chromium"))])
    row = mirror.get(4)
    assert row is not None and row.client == "chromium"


def test_the_wire_carries_the_name_and_a_map_without_it_reads_as_none() -> None:
    wire = flow_to_wire(_flow(5, "terminal"), 0)
    assert wire["client_name"] == "terminal"
    assert flow_from_wire(wire).flow.client_name == "terminal"
    del wire["client_name"]
    assert flow_from_wire(wire).flow.client_name == ""


@pytest.mark.parametrize(
    ("expr", "matched"),
    [
        ("client:chromium", [1]),
        ("client:CHROMIUM", [1]),
        ("client:chrom", []),
        ("client:/^(chromium|firefox)$/", [1, 2]),
        ("-client:chromium", [2, 3]),
        ("client:/^$/", [3]),
    ],
)
def test_the_client_term(expr: str, matched: list[int]) -> None:
    rows = [
        S.row_of(S.summarize(_flow(i, name)))
        for i, name in ((1, "chromium"), (2, "firefox"), (3, ""))
    ]
    test = parse_filter(expr)
    assert [row.id for row in rows if test(row)] == matched


def test_client_needs_a_value() -> None:
    with pytest.raises(FilterError):
        parse_filter("client:")
