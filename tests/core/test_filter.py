from __future__ import annotations

import pytest

from inspector.core.filter import FilterError, parse_filter
from inspector.core.flow import Flow, FlowError, FlowState, Request, Response
from inspector.core.summary import FlowRow, row_of, summarize


def _flow(
    method: str = "GET",
    host: str = "api.example.com",
    target: str = "/v1/users",
    status: int | None = 200,
    failed: bool = False,
) -> FlowRow:
    flow = Flow(1, ("127.0.0.1", 1), Request(method=method, host=host, port=80, target=target))
    if status is not None:
        flow.response = Response(status=status)
        flow.state = FlowState.COMPLETE
    if failed:
        flow.state = FlowState.FAILED
        flow.error = FlowError("dns", "x")
    return row_of(summarize(flow))


def test_empty_matches_everything() -> None:
    assert parse_filter("   ")(_flow())
    assert parse_filter("").predicate is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("users", True),
        ("USERS", True),
        ("orders", False),
        ("method:get", True),
        ("method:POST", False),
        ("status:200", True),
        ("status:2xx", True),
        ("status:4xx", False),
        ("host:example", True),
        ("host:other", False),
        ("-host:example", False),
        ("-host:other", True),
        ("users method:GET status:2xx", True),
        ("users method:POST", False),
        ("example.com/v1", True),
        ('"foo:bar"', False),
    ],
)
def test_terms(text: str, expected: bool) -> None:
    assert parse_filter(text)(_flow()) is expected


def test_status_error_and_pending() -> None:
    assert parse_filter("status:error")(_flow(status=None, failed=True))
    assert not parse_filter("status:error")(_flow())
    assert parse_filter("status:pending")(_flow(status=None))
    assert not parse_filter("status:pending")(_flow())
    assert not parse_filter("status:4xx")(_flow(status=None))


@pytest.mark.parametrize("text", ["status:abc", "status:6xx", "status:", "method:", "foo:bar"])
def test_malformed_terms_raise(text: str) -> None:
    with pytest.raises(FilterError):
        parse_filter(text)


def test_uses_response() -> None:
    assert parse_filter("status:4xx").uses_response
    assert not parse_filter("host:x").uses_response
