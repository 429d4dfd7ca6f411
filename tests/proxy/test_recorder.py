"""The FlowRecorder: each report sets the flow's state and times, emits its
one event, and accounts bodies once the flow is over; and no other engine
module changes a flow's fields."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from inspector.core.capture import BodyCapture
from inspector.core.events import (
    BytesTransferred,
    FlowCreated,
    FlowFailed,
    FlowFinished,
    FlowRequestHead,
    FlowResponseHead,
    TunnelClosed,
    TunnelFailed,
    TunnelOpened,
    TunnelPassthrough,
    TunnelTlsEstablished,
)
from inspector.core.flow import FlowError, FlowState, Request, Response, TlsInfo
from inspector.core.sinks import ListSink
from inspector.core.store import FlowStore
from inspector.proxy.recorder import PROGRESS_STEP, FlowRecorder

PROXY = Path(__file__).resolve().parents[2] / "inspector" / "proxy"
FLOW_FIELDS = {
    "request",
    "response",
    "state",
    "error",
    "upstream_addr",
    "tunnel_id",
    "tunnel",
    "upstream_tls",
    "bodies_dropped",
    "t_start",
    "t_upstream_connected",
    "t_request_sent",
    "t_response_start",
    "t_end",
}


def _recorder() -> tuple[FlowRecorder, FlowStore, ListSink]:
    store, sink = FlowStore(), ListSink()
    return FlowRecorder(store, sink), store, sink


def test_an_exchange_from_head_to_end() -> None:
    recorder, store, sink = _recorder()
    flow = recorder.created(("127.0.0.1", 5), Request(method="GET", host="a", target="/"))
    assert store.get(flow.id) is flow and flow.t_start > 0 and flow.state is FlowState.PENDING
    recorder.upstream_connected(flow, ("10.0.0.1", 80), None, new=True)
    assert flow.upstream_addr == ("10.0.0.1", 80) and flow.t_upstream_connected is not None
    recorder.request_head_sent(flow)
    body = BodyCapture(4)
    body.add(b"hello")
    recorder.request_sent(flow, body)
    assert (flow.request.body, flow.request.body_size, flow.request.body_truncated) == (
        b"hell",
        5,
        True,
    )
    recorder.response_started(flow, Response(status=200))
    assert flow.state is FlowState.STREAMING and flow.t_response_start is not None
    recorder.response_bytes(flow, PROGRESS_STEP - 1)
    recorder.response_bytes(flow, PROGRESS_STEP + 1)  # crosses a MiB: one progress event
    recorder.response_bytes(flow, PROGRESS_STEP + 2)
    recorder.finished(flow)
    assert flow.state is FlowState.COMPLETE and flow.duration is not None
    kinds = [type(e) for e in sink.events]
    assert kinds == [
        FlowCreated,
        FlowRequestHead,
        FlowResponseHead,
        BytesTransferred,
        FlowFinished,
    ]
    assert store.body_bytes == 4  # accounted once over


def test_a_reused_connection_is_not_timed() -> None:
    recorder, _, _ = _recorder()
    flow = recorder.created(("127.0.0.1", 5), Request())
    recorder.upstream_connected(flow, ("10.0.0.1", 80), None, new=False)
    assert flow.t_upstream_connected is None and flow.upstream_addr == ("10.0.0.1", 80)


def test_failures_and_refusals() -> None:
    recorder, store, sink = _recorder()
    flow = recorder.created(("127.0.0.1", 5), Request())
    recorder.failed(flow, "dns", "no such host", Response(status=502))
    assert flow.state is FlowState.FAILED and flow.error == FlowError("dns", "no such host")
    assert flow.response is not None and flow.response.status == 502
    refused = recorder.refused(
        ("127.0.0.1", 6), Request(method="BAD"), Response(status=400), "bad-request", "x"
    )
    assert store.get(refused.id) is refused and refused.state is FlowState.FAILED
    assert [type(e) for e in sink.events] == [FlowCreated, FlowFailed, FlowCreated, FlowFailed]


@pytest.mark.parametrize("error", [None, FlowError("tunnel-reset", "reset")])
def test_a_tunnel_from_open_to_close(error: FlowError | None) -> None:
    recorder, _, sink = _recorder()
    flow = recorder.created(("127.0.0.1", 5), Request(method="CONNECT", host="h", port=443))
    info = recorder.tunnel_opened(flow)
    assert flow.tunnel is info and flow.response is not None and flow.response.status == 200
    recorder.tunnel_mode(flow, "intercept")
    recorder.tunnel_tls(flow, "client", TlsInfo("TLSv1.3", "X"))
    inner = recorder.created(("127.0.0.1", 5), Request(), tunnel=flow)
    assert inner.tunnel_id == flow.id and info.inner_flows == 1
    recorder.tunnel_tls(flow, "upstream", TlsInfo("TLSv1.3", "Y"))
    recorder.tunnel_relaying(flow, ("10.0.0.2", 443))
    recorder.tunnel_bytes(flow, up=3)
    recorder.tunnel_bytes(flow, down=4)
    recorder.tunnel_closed(flow, error)
    assert (info.mode, info.bytes_up, info.bytes_down) == ("intercept", 3, 4)
    assert info.client_tls is not None and info.upstream_tls is not None
    assert flow.state is (FlowState.COMPLETE if error is None else FlowState.FAILED)
    assert [type(e) for e in sink.events] == [
        FlowCreated,
        TunnelOpened,
        TunnelTlsEstablished,
        FlowCreated,
        TunnelTlsEstablished,
        TunnelPassthrough,
        TunnelClosed if error is None else TunnelFailed,
    ]


def test_a_tunnel_that_never_opened_still_ends_as_a_tunnel() -> None:
    recorder, _, _ = _recorder()
    flow = recorder.created(("127.0.0.1", 5), Request(method="CONNECT"))
    recorder.tunnel_closed(flow, FlowError("client-closed", "gone"))
    assert flow.tunnel is not None and flow.state is FlowState.FAILED


def _assigned_flow_fields(path: Path) -> list[str]:
    """``x.field = ...`` (or ``+=``) of a flow field on anything but ``self``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign):
            targets = [node.target]
        for target in targets:
            for item in target.elts if isinstance(target, ast.Tuple) else [target]:
                if (
                    isinstance(item, ast.Attribute)
                    and item.attr in FLOW_FIELDS
                    and isinstance(item.value, ast.Name)
                    and item.value.id in ("flow", "old")
                ):
                    found.append(f"{path.name}:{item.lineno} {item.value.id}.{item.attr}")
    return found


def test_only_the_recorder_changes_flows() -> None:
    wrong = []
    for path in sorted(PROXY.glob("*.py")):
        if path.name != "recorder.py":
            wrong += _assigned_flow_fields(path)
    assert wrong == []


def test_the_source_check_sees_an_assignment(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f(flow):\n    flow.state = 1\n    flow.t_end += 2\n")
    assert _assigned_flow_fields(sample) == ["sample.py:2 flow.state", "sample.py:3 flow.t_end"]
