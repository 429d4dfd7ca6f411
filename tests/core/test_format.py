from __future__ import annotations

from inspector.core.flow import Flow, FlowError, Request, Response
from inspector.core.format import duration, flow_line, size


def test_size() -> None:
    assert size(64) == "64 B"
    assert size(1536) == "1.5 KiB"
    assert size(12 * 1024 * 1024) == "12.0 MiB"
    assert size(3 * 1024**4) == "3072.0 GiB"


def test_duration() -> None:
    assert duration(None) == ""
    assert duration(0.0031) == "3.1 ms"
    assert duration(2.5) == "2.50 s"


def test_flow_line() -> None:
    flow = Flow(1, ("127.0.0.1", 5), Request(method="GET", host="h", port=80, target="/p"))
    flow.t_start, flow.t_end = 10.0, 10.0031
    flow.response = Response(status=200, body_size=64)
    assert flow_line(flow) == "GET http://h/p -> 200 64 B 3.1 ms"
    flow.error = FlowError("dns", "DNS lookup for h failed")
    assert flow_line(flow) == "GET http://h/p -> error: DNS lookup for h failed"
    flow.error, flow.replay_of = None, 7
    assert flow_line(flow) == "GET http://h/p -> 200 64 B 3.1 ms (replay of #7)"


def test_request_url_forms() -> None:
    assert Request(host="h", port=8080, target="/").url == "http://h:8080/"
    assert Request(scheme="https", host="h", port=443, target="/").url == "https://h/"
    assert Request(host="::1", port=80, target="/").url == "http://[::1]/"
    assert Request(target="/only").url == "/only"
