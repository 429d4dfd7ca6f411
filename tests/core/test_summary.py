"""A flow's summary row: what ``summarize`` puts in each column, which wire
rows ``check_row`` lets through, ``row_of`` and the URL a row stands for."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.core import summary as S
from inspector.core.flow import Flow, FlowError, FlowState, Request, Response, TunnelInfo
from inspector.core.protocol import FrameReader, encode
from inspector.core.summary import check_row, row_of, summarize, url_of


def _flow(**fields: Any) -> Flow:
    flow = Flow(id=fields.pop("id", 7), client_addr=("127.0.0.1", 5000))
    flow.request = Request(method="GET", host="a.test", port=80, target="/p?q=1", body_size=3)
    flow.t_start = 100.0
    for name, value in fields.items():
        setattr(flow, name, value)
    return flow


def _wire(row: tuple[Any, ...]) -> Any:
    """``row`` as the window receives it."""
    [message] = FrameReader().feed(encode({"t": "batch", "rows": [row]}))
    return message["rows"][0]


def _failed() -> Flow:
    flow = _flow(t_end=100.5, state=FlowState.FAILED)
    flow.error = FlowError("dns", "lookup of a.test failed")
    return flow


def _tunnel() -> Flow:
    flow = _flow(t_end=102.0, state=FlowState.COMPLETE)
    flow.request = Request(
        method="CONNECT", host="b.test", port=443, target="b.test:443", body_size=3
    )
    flow.tunnel = TunnelInfo(mode="intercept", bytes_up=100, bytes_down=900, inner_flows=3)
    return flow


def _answered() -> Flow:
    response = Response(status=404, body_size=12)
    response.headers = [(b"Content-Type", b"text/html; charset=utf-8")]
    return _flow(response=response, t_end=100.25, state=FlowState.COMPLETE)


SUMMARIES = [
    (
        "pending",
        _flow,
        {S.STATUS: 0, S.SIZE: -1, S.DURATION: -1.0, S.STATE: 0, S.FLAGS: 0, S.PATH: "/p?q=1"},
    ),
    (
        "answered",
        _answered,
        {
            S.STATUS: 404,
            S.CONTENT_TYPE: "text/html",
            S.SIZE: 12,
            S.DURATION: 0.25,
            S.STATE: 2,
            S.FLAGS: S.FLAG_HAS_RESPONSE,
        },
    ),
    (
        "failed",
        _failed,
        {S.STATE: 3, S.ERROR_KIND: "dns", S.ERROR: "lookup of a.test failed", S.DURATION: 0.5},
    ),
    (
        "tunnel",
        _tunnel,
        {
            S.METHOD: "CONNECT",
            S.PATH: "",
            S.SIZE: 1000,
            S.FLAGS: S.FLAG_TUNNEL,
            S.TUNNEL_MODE: "intercept",
            S.INNER: 3,
        },
    ),
    ("inside a tunnel", lambda: _flow(tunnel_id=4), {S.TUNNEL_ID: 4}),
    ("bodies dropped", lambda: _flow(bodies_dropped=True), {S.FLAGS: S.FLAG_BODIES_DROPPED}),
    ("streaming", lambda: _flow(state=FlowState.STREAMING), {S.STATE: 1}),
]


@pytest.mark.parametrize(
    ("make", "expected"), [s[1:] for s in SUMMARIES], ids=[s[0] for s in SUMMARIES]
)
def test_summarize_fills_each_column(make: Any, expected: dict[int, Any]) -> None:
    row = summarize(make())
    assert len(row) == S.FIELDS
    assert row[S.ID] == 7 and row[S.T_START] == 100.0 and row[S.REQ_SIZE] == 3
    for index, value in expected.items():
        assert row[index] == pytest.approx(value), index
    assert check_row(row)
    assert check_row(_wire(row))


def test_content_type_without_parameters() -> None:
    flow = _answered()
    assert S.content_type(flow) == "text/html"
    assert S.content_type(_flow()) == ""
    flow.response = Response(status=200)
    assert S.content_type(flow) == ""


# Rows from the wire

GOOD = summarize(_answered())
INT64 = 2**63


def _with(index: int, value: Any) -> list[Any]:
    row = list(GOOD)
    row[index] = value
    return row


BAD_ROWS = [
    ("None", None),
    ("a map", {"id": 1}),
    ("too short", GOOD[: S.CLIENT - 1]),
    ("client not text", _with(S.CLIENT, 1)),
    ("version not text", _with(S.VERSION, 1.1)),
    ("client address not text", _with(S.CLIENT_ADDR, None)),
    ("server address not text", _with(S.SERVER_ADDR, ("a", 1))),
    ("too long", (*GOOD, 0)),
    ("id zero", _with(S.ID, 0)),
    ("id negative", _with(S.ID, -1)),
    ("id a bool", _with(S.ID, True)),
    ("id a float", _with(S.ID, 1.0)),
    ("start as text", _with(S.T_START, "now")),
    ("method as bytes", _with(S.METHOD, b"GET")),
    ("port as text", _with(S.PORT, "80")),
    ("status a float", _with(S.STATUS, 200.0)),
    ("state past the last", _with(S.STATE, len(S.STATES))),
    ("state negative", _with(S.STATE, -1)),
    ("flags None", _with(S.FLAGS, None)),
    ("inner a bool", _with(S.INNER, False)),
    ("tunnel id None", _with(S.TUNNEL_ID, None)),
    ("error as bytes", _with(S.ERROR, b"x")),
    # A row's sizes and tunnel id are 64-bit in the window's mirror.
    ("request size past int64", _with(S.REQ_SIZE, INT64)),
    ("size past int64", _with(S.SIZE, 2**64 - 1)),
    ("size below int64", _with(S.SIZE, -INT64 - 1)),
    ("tunnel id past int64", _with(S.TUNNEL_ID, INT64)),
]


@pytest.mark.parametrize("row", [b[1] for b in BAD_ROWS], ids=[b[0] for b in BAD_ROWS])
def test_check_row_refuses_a_malformed_row(row: Any) -> None:
    assert not check_row(row)


@pytest.mark.parametrize(
    "row",
    [
        _with(S.REQ_SIZE, INT64 - 1),
        _with(S.SIZE, -INT64),
        _with(S.T_START, 5),
        _with(S.DURATION, 1),
        tuple(GOOD),
        list(GOOD),
    ],
    ids=["largest size", "smallest size", "integer start", "integer duration", "tuple", "list"],
)
def test_check_row_accepts_the_edges(row: Any) -> None:
    assert check_row(row)


@given(st.lists(st.none() | st.integers() | st.floats() | st.text(max_size=3), max_size=26))
@settings(max_examples=100)
def test_check_row_never_raises(row: list[Any]) -> None:
    assert check_row(row) in (True, False)


# row_of and URLs


def test_row_of_names_every_column() -> None:
    flow = _tunnel()
    flow.bodies_dropped = True
    row = row_of(_wire(summarize(flow)))
    assert (row.id, row.method, row.host, row.port, row.path) == (7, "CONNECT", "b.test", 443, "")
    assert row.duration == pytest.approx(2.0)
    assert row.state is FlowState.COMPLETE and row.finished
    assert row.is_tunnel and row.bodies_dropped and not row.has_response
    assert (row.tunnel_mode, row.inner, row.size) == ("intercept", 3, 1000)
    assert row.url == "b.test:443"


def test_the_version_and_addresses_are_in_the_row_and_older_rows_read_empty() -> None:
    flow = _answered()
    flow.response.version = "1.0"  # type: ignore[union-attr]
    flow.upstream_addr = ("::1", 8443)
    row = row_of(_wire(summarize(flow)))
    assert (row.http_version, row.client_addr, row.server_addr) == (
        "1.0",
        "127.0.0.1:5000",
        "[::1]:8443",
    )
    older = row_of(_wire(summarize(flow)[: S.VERSION]))
    assert (older.http_version, older.client_addr, older.server_addr) == ("", "", "")
    replay = _flow()
    replay.client_addr = ("", 0)
    assert row_of(summarize(replay)).client_addr == ""


def test_row_of_an_unfinished_flow_has_no_duration() -> None:
    row = row_of(summarize(_flow()))
    assert row.duration is None
    assert row.state is FlowState.PENDING and not row.finished
    assert not row.has_response and not row.is_tunnel and not row.bodies_dropped
    failed = row_of(summarize(_failed()))
    assert failed.finished and failed.error_kind == "dns"


@pytest.mark.parametrize(
    ("scheme", "host", "port", "path", "method", "url"),
    [
        ("http", "a.test", 80, "/x", "GET", "http://a.test/x"),
        ("https", "a.test", 443, "/", "GET", "https://a.test/"),
        ("http", "a.test", 8080, "/x?y", "POST", "http://a.test:8080/x?y"),
        ("https", "a.test", 80, "/", "GET", "https://a.test:80/"),
        ("http", "::1", 80, "/", "GET", "http://[::1]/"),
        ("http", "::1", 81, "/", "GET", "http://[::1]:81/"),
        ("http", "b.test", 443, "", "CONNECT", "b.test:443"),
        ("http", "::1", 443, "", "CONNECT", "[::1]:443"),
        ("http", "", 80, "/only-a-path", "GET", "/only-a-path"),
    ],
)
def test_url_of(scheme: str, host: str, port: int, path: str, method: str, url: str) -> None:
    assert url_of(scheme, host, port, path, method) == url


@given(
    st.sampled_from(["http", "https"]),
    st.sampled_from(["a.test", "127.0.0.1", "::1", "fe80::1", ""]),
    st.integers(1, 65535),
    st.text(alphabet="/?=&abc", max_size=10),
    st.sampled_from(["GET", "POST", "HEAD"]),
)
@settings(max_examples=100)
def test_url_of_spells_it_as_the_request_does(
    scheme: str, host: str, port: int, path: str, method: str
) -> None:
    request = Request(method=method, scheme=scheme, host=host, port=port, target=path)
    assert url_of(scheme, host, port, path, method) == request.url
