"""Phases and proxy time read from a flow's stamps (``core.timing``)."""

from __future__ import annotations

import pytest

from inspector.core.flow import Flow, FlowState, Request, Response, TlsInfo, TunnelInfo
from inspector.core.timing import (
    CONNECT,
    DNS,
    NONE,
    PROXY,
    RECEIVE,
    REUSED,
    SEND,
    TLS,
    UNKNOWN,
    WAIT,
    aggregate,
    answered_locally,
    phases,
    proxy_time,
)

T0 = 1_000.0


def _flow(**stamps: float | None) -> Flow:
    flow = Flow(id=1, client_addr=("127.0.0.1", 5), request=Request(method="GET", host="a"))
    flow.t_start = T0
    flow.upstream_addr = ("10.0.0.1", 80)
    flow.response = Response(status=200)
    flow.state = FlowState.COMPLETE
    for name, value in stamps.items():
        setattr(flow, name, None if value is None else T0 + value)
    return flow


NEW_HTTPS = {
    "t_upstream_begin": 0.002,
    "t_dns": 0.010,
    "t_connected": 0.030,
    "t_upstream_connected": 0.070,
    "t_request_sent": 0.071,
    "t_response_head": 0.171,
    "t_response_start": 0.172,
    "t_end": 0.200,
}


def _by_name(flow: Flow) -> dict[str, list[tuple[float | None, float | None, str]]]:
    named: dict[str, list[tuple[float | None, float | None, str]]] = {}
    for phase in phases(flow):
        start = None if phase.start is None else round(phase.start, 6)
        end = None if phase.end is None else round(phase.end, 6)
        named.setdefault(phase.name, []).append((start, end, phase.note))
    return named


def test_a_new_https_connection_splits_into_every_phase() -> None:
    flow = _flow(**NEW_HTTPS)
    flow.request.scheme = "https"
    flow.upstream_tls = TlsInfo("TLSv1.3", "TLS_AES_128_GCM_SHA256")
    assert [p.name for p in phases(flow)] == [PROXY, DNS, CONNECT, TLS, SEND, WAIT, PROXY, RECEIVE]
    named = _by_name(flow)
    assert named[PROXY] == [(0.0, 0.002, ""), (0.171, 0.172, "")]
    assert named[DNS] == [(0.002, 0.01, "")]
    assert named[CONNECT] == [(0.01, 0.03, "")]
    assert named[TLS] == [(0.03, 0.07, "")]
    assert named[SEND] == [(0.07, 0.071, "")]
    assert named[WAIT] == [(0.071, 0.171, "")]
    assert named[RECEIVE] == [(0.172, 0.2, "")]
    assert proxy_time(flow) == pytest.approx(0.003)


def test_a_reused_connection_says_so_and_sends_from_the_checkout() -> None:
    stamps = dict(NEW_HTTPS, t_dns=None, t_connected=None, t_upstream_connected=None)
    named = _by_name(_flow(**stamps))
    assert named[DNS] == named[CONNECT] == named[TLS] == [(None, None, REUSED)]
    assert named[SEND] == [(0.002, 0.071, "")]


def test_plain_http_to_an_address_literal_has_no_dns_and_no_tls() -> None:
    named = _by_name(_flow(**dict(NEW_HTTPS, t_dns=None)))
    assert named[DNS] == [(None, None, NONE)]
    assert named[TLS] == [(None, None, NONE)]
    assert named[CONNECT] == [(0.002, 0.03, "")]


def test_a_flow_recorded_before_the_new_stamps_is_unknown_not_zero() -> None:
    flow = _flow(**dict(NEW_HTTPS, t_upstream_begin=None, t_response_head=None))
    assert proxy_time(flow) is None
    named = _by_name(flow)
    assert named[PROXY] == [(None, None, UNKNOWN)]
    assert named[DNS] == [(None, None, UNKNOWN)]  # its start is not known
    assert named[WAIT] == [(0.071, 0.172, "")]


def test_breakpoint_held_response_and_pacing_count_as_proxy_time() -> None:
    flow = _flow(**dict(NEW_HTTPS, t_response_start=1.171, t_end=1.2))
    flow.proxy_extra = 0.25
    assert proxy_time(flow) == pytest.approx(0.002 + 1.0 + 0.25)


def test_a_locally_answered_request_is_all_proxy_time() -> None:
    flow = Flow(id=2, client_addr=("127.0.0.1", 5), request=Request(method="GET", host="a"))
    flow.t_start, flow.t_end = T0, T0 + 0.3
    assert answered_locally(flow)
    assert proxy_time(flow) == pytest.approx(0.3)
    assert [(p.name, round(p.seconds, 6)) for p in phases(flow)] == [(PROXY, 0.3)]


def test_unfinished_and_imported_flows_are_unknown() -> None:
    assert proxy_time(_flow(**dict(NEW_HTTPS, t_end=None))) is None
    imported = _flow(**NEW_HTTPS)
    imported.imported = True
    assert proxy_time(imported) is None


def test_a_tunnel_counts_its_certificate_minting() -> None:
    flow = _flow(t_response_start=0.001, t_end=5.0)
    flow.tunnel = TunnelInfo(mode="intercept")
    flow.proxy_extra = 0.004
    assert proxy_time(flow) == pytest.approx(0.004)


def test_a_connect_failure_keeps_the_phases_it_reached() -> None:
    flow = _flow(t_upstream_begin=0.001, t_end=0.5)
    flow.state = FlowState.FAILED
    flow.response = None
    flow.upstream_addr = None
    assert [p.name for p in phases(flow)] == [PROXY, CONNECT]
    assert proxy_time(flow) == pytest.approx(0.001)


def test_aggregate_median_p95_and_unknown_skipped() -> None:
    values = [i / 1000 for i in range(1, 101)] + [-1.0]
    result = aggregate(values)
    assert result is not None
    assert result.count == 100
    assert result.median == pytest.approx(0.0505)
    assert result.p95 == pytest.approx(0.095)
    assert result.maximum == pytest.approx(0.1)
    assert result.total == pytest.approx(5.05)
    assert aggregate([-1.0]) is None
