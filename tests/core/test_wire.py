"""What crosses the engine protocol besides rows: a flow's details, relay
events, aggregates, metrics and settings. Each goes through the real
framing and back unchanged, and anything malformed from the wire is a
ProtocolError, never another exception."""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.core import wire
from inspector.core.events import (
    BytesTransferred,
    CAFailed,
    FlowCreated,
    ListenFailed,
    ProxyStarted,
    ProxyStopped,
    WarningRaised,
)
from inspector.core.flow import (
    Flow,
    FlowError,
    FlowState,
    Request,
    Response,
    TlsInfo,
    TunnelInfo,
)
from inspector.core.protocol import FrameReader, ProtocolError, encode
from inspector.core.relay import LowAggregate, Relay, RelayLimits
from inspector.core.settings import ProxySettings, RelaySettings


def _over_the_wire(value: Any) -> Any:
    [message] = FrameReader().feed(encode({"t": "x", "v": value}))
    return message["v"]


def _full_flow() -> Flow:
    flow = Flow(id=42, client_addr=("::1", 50000), tunnel_id=7)
    flow.request = Request(
        method="POST",
        scheme="https",
        host="api.test",
        port=8443,
        target="/v1?x=1",
        headers=[(b"Host", b"api.test"), (b"X-Bin", b"\xff\x00")],
        body=b"q" * 1000,
        body_size=1000,
    )
    flow.response = Response(
        status=201,
        reason="Created",
        version="1.0",
        headers=[(b"Content-Type", b"application/json")],
        body=b"r" * 300,
        body_size=5000,
        body_truncated=True,
    )
    flow.state = FlowState.COMPLETE
    flow.upstream_addr = ("10.0.0.1", 8443)
    flow.upstream_tls = TlsInfo("TLSv1.3", "TLS_AES_128_GCM_SHA256", "http/1.1", "api.test")
    flow.t_start, flow.t_upstream_connected, flow.t_request_sent = 1.0, 1.1, 1.2
    flow.t_response_start, flow.t_end = 1.3, 1.4
    flow.bodies_dropped = True
    flow.replay_of = 41
    return flow


def _tunnel_flow() -> Flow:
    flow = Flow(id=3, client_addr=("127.0.0.1", 1))
    flow.request = Request(method="CONNECT", host="b.test", port=443, target="b.test:443")
    flow.tunnel = TunnelInfo(
        mode="intercept",
        client_tls=TlsInfo("TLSv1.3", "c", None, "b.test"),
        upstream_tls=TlsInfo("TLSv1.2", "d", "h2", None),
        bytes_up=10,
        bytes_down=20,
        inner_flows=2,
    )
    flow.state = FlowState.FAILED
    flow.error = FlowError("tls", "handshake failed")
    return flow


# Flow details


@pytest.mark.parametrize("make", [_full_flow, _tunnel_flow, lambda: Flow(1, ("a", 1))])
def test_a_flow_survives_the_wire_whole(make: Any) -> None:
    flow = make()
    detail = wire.flow_from_wire(_over_the_wire(wire.flow_to_wire(flow)))
    assert detail.flow == flow
    assert detail.complete
    assert detail.request_captured == len(flow.request.body)


def test_a_flow_described_before_replays_existed_still_reads() -> None:
    described = wire.flow_to_wire(_full_flow())
    del described["replay_of"]
    assert wire.flow_from_wire(_over_the_wire(described)).flow.replay_of is None
    described["replay_of"] = "41"
    with pytest.raises(ProtocolError):
        wire.flow_from_wire(described)


def test_bodies_past_inline_stay_behind_and_are_counted() -> None:
    flow = _full_flow()
    detail = wire.flow_from_wire(_over_the_wire(wire.flow_to_wire(flow, inline=100)))
    assert detail.flow.request.body == b"q" * 100
    assert detail.flow.response is not None and detail.flow.response.body == b"r" * 100
    assert (detail.request_captured, detail.response_captured) == (1000, 300)
    assert detail.flow.response.body_size == 5000 and detail.flow.response.body_truncated
    assert not detail.complete
    detail.flow.request.body = flow.request.body
    assert not detail.complete
    detail.flow.response.body = flow.response.body  # type: ignore[union-attr]
    assert detail.complete


def _valid() -> dict[str, Any]:
    return dict(_over_the_wire(wire.flow_to_wire(_full_flow())))


def _set(path: str, value: Any) -> dict[str, Any]:
    """A valid wire flow with the value at ``path`` (dotted, numbers index
    into lists) replaced; ``...`` deletes it."""
    data = copy.deepcopy(_to_lists(_valid()))
    *parents, last = path.split(".")
    target: Any = data
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    key: Any = int(last) if isinstance(target, list) else last
    if value is ...:
        del target[key]
    else:
        target[key] = value
    return data


def _to_lists(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_to_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_lists(v) for k, v in value.items()}
    return value


BAD_FLOWS = [
    ("not a map", ["id", 1]),
    ("no id", _set("id", ...)),
    ("id as text", _set("id", "42")),
    ("id a bool", _set("id", True)),
    ("no client", _set("client", ...)),
    ("client port as text", _set("client.1", "1")),
    ("client of three parts", _set("client", ["a", 1, 2])),
    ("upstream a map", _set("upstream", {})),
    ("tunnel id as text", _set("tunnel_id", "7")),
    ("unknown state", _set("state", "exploded")),
    ("state a map", _set("state", {})),
    ("error of one part", _set("error", ["dns"])),
    ("error as bytes", _set("error", [b"dns", b"x"])),
    ("times too short", _set("times", [1.0])),
    ("no start time", _set("times.0", None)),
    ("time as text", _set("times.2", "soon")),
    ("no request", _set("request", None)),
    ("request a list", _set("request", [])),
    ("method as bytes", _set("request.method", b"GET")),
    ("port as text", _set("request.port", "80")),
    ("request body as text", _set("request.body", "q")),
    ("captured less than sent", _set("request.captured", 1)),
    ("captured a bool", _set("request.captured", True)),
    ("no version", _set("request.version", ...)),
    ("headers a map", _set("request.headers", {})),
    ("header of one part", _set("request.headers.0", [b"Host"])),
    ("header as text", _set("request.headers.0", ["Host", "x"])),
    ("response a list", _set("response", [])),
    ("status as text", _set("response.status", "201")),
    ("reason as bytes", _set("response.reason", b"OK")),
    ("tunnel a list", _set("tunnel", [])),
    ("tls of two parts", _set("upstream_tls", ["TLSv1.3", "x"])),
    ("tls alpn a number", _set("upstream_tls.2", 1)),
]


@pytest.mark.parametrize("value", [b[1] for b in BAD_FLOWS], ids=[b[0] for b in BAD_FLOWS])
def test_a_malformed_flow_is_a_protocol_error(value: Any) -> None:
    with pytest.raises(ProtocolError):
        wire.flow_from_wire(value)


def test_a_malformed_tunnel_is_a_protocol_error() -> None:
    good = _to_lists(_over_the_wire(wire.flow_to_wire(_tunnel_flow())))
    wire.flow_from_wire(good)
    for key, value in [
        ("mode", 1),
        ("bytes_up", "10"),
        ("client_tls", ["x"]),
        ("inner_flows", None),
    ]:
        bad = copy.deepcopy(good)
        bad["tunnel"][key] = value
        with pytest.raises(ProtocolError):
            wire.flow_from_wire(bad)


# Anything at all in place of each part

wild = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats()
    | st.text(max_size=5)
    | st.binary(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
FLOW_PATHS = [
    "id", "client", "upstream", "tunnel_id", "state", "error", "times", "times.0", "request",
    "request.headers", "request.body", "request.captured", "response", "response.status",
    "tunnel", "upstream_tls", "bodies_dropped",
]  # fmt: skip


@given(st.sampled_from(FLOW_PATHS), wild)
@settings(max_examples=200)
def test_any_value_anywhere_in_a_flow_is_taken_or_refused_cleanly(path: str, value: Any) -> None:
    with contextlib.suppress(ProtocolError):
        wire.flow_from_wire(_over_the_wire(_set(path, value)))


@given(wild)
@settings(max_examples=100)
def test_any_value_as_an_event_aggregate_or_stats_is_taken_or_refused_cleanly(
    value: Any,
) -> None:
    value = _over_the_wire(value)
    for decode in (wire.critical_from_wire, wire.aggregate_from_wire, wire.stats_from_wire):
        with contextlib.suppress(ProtocolError):
            decode(value)


# Events, aggregates, metrics


@pytest.mark.parametrize(
    "event",
    [
        ProxyStarted("127.0.0.1", 8080),
        ProxyStopped(),
        ListenFailed("::1", 80, "address already in use"),
        CAFailed("cannot write the key"),
    ],
)
def test_critical_events_survive_the_wire(event: Any) -> None:
    assert wire.critical_from_wire(_over_the_wire(wire.critical_to_wire(event))) == event


@pytest.mark.parametrize(
    "value",
    [
        None,
        [],
        {},
        {"kind": "FlowCreated", "flow_id": 1},
        {"kind": "Nonsense"},
        {"kind": 5},
        {"kind": {}},
        {"kind": ["ProxyStarted"]},
        {"kind": "ProxyStarted", "host": "h"},
        {"kind": "ProxyStarted", "host": "h", "port": "80"},
        {"kind": "ProxyStarted", "host": "h", "port": True},
        {"kind": "CAFailed", "message": b"x"},
    ],
)
def test_a_malformed_critical_event_is_a_protocol_error(value: Any) -> None:
    with pytest.raises(ProtocolError):
        wire.critical_from_wire(_over_the_wire(value))


def test_aggregates_survive_the_wire() -> None:
    warning = LowAggregate("reset", "a.test", 3, WarningRaised("reset", "a.test", "boom"), 5.0)
    progress = LowAggregate("bytes", "7", 9, BytesTransferred("bytes", "7", 4096), 5.0)
    for aggregate in (warning, progress):
        back = wire.aggregate_from_wire(_over_the_wire(wire.aggregate_to_wire(aggregate)))
        assert (back.kind, back.key, back.count, back.latest) == (
            aggregate.kind,
            aggregate.key,
            aggregate.count,
            aggregate.latest,
        )


@pytest.mark.parametrize(
    "value",
    [
        None,
        ["reset", "k", 1, "m"],
        ["reset", "k", 1, "m", None, None],
        [b"reset", "k", 1, "m", None],
        ["reset", "k", "1", "m", None],
        ["reset", "k", True, "m", None],
        ["bytes", "k", 1, None, None],
        ["bytes", "k", 1, None, "4096"],
    ],
)
def test_a_malformed_aggregate_is_a_protocol_error(value: Any) -> None:
    with pytest.raises(ProtocolError):
        wire.aggregate_from_wire(_over_the_wire(value))


def _stats() -> Any:
    relay = Relay(RelayLimits())
    for i in range(1, 6):
        relay.emit(FlowCreated(i))
    relay.emit(WarningRaised("reset", "k", "m"))
    relay.drain()
    relay.emit(ProxyStopped())
    return relay.snapshot()


def test_relay_stats_survive_the_wire() -> None:
    stats = _stats()
    assert wire.stats_from_wire(_over_the_wire(wire.stats_to_wire(stats))) == stats


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("flow", ...),
        ("flow", [1, 2]),
        ("flow.emitted", "5"),
        ("flow.pending", True),
        ("depth", None),
        ("resync_pending", 0),
        ("flush_p50", "fast"),
        ("events_per_second", True),
    ],
)
def test_malformed_stats_are_a_protocol_error(path: str, value: Any) -> None:
    data = _to_lists(_over_the_wire(wire.stats_to_wire(_stats())))
    *parent, last = path.split(".")
    target = data[parent[0]] if parent else data
    if value is ...:
        del target[last]
    else:
        target[last] = value
    with pytest.raises(ProtocolError):
        wire.stats_from_wire(data)


# Settings


def test_settings_survive_the_wire() -> None:
    proxy = ProxySettings(
        listen_port=9, ignore_hosts="*.a.test", upstream_ca_file="/ca.pem", connect_timeout=2.5
    )
    relay = RelaySettings(flush_interval_ms=50, capacity=7)
    back = wire.settings_from_wire(ProxySettings, _over_the_wire(wire.settings_to_wire(proxy)))
    assert back == proxy
    assert wire.settings_from_wire(RelaySettings, wire.settings_to_wire(relay)) == relay


def test_settings_not_given_keep_their_defaults() -> None:
    partial = wire.settings_from_wire(ProxySettings, {"listen_port": 0, "connect_timeout": 3})
    assert partial == ProxySettings(listen_port=0, connect_timeout=3.0)
    assert isinstance(partial.connect_timeout, float)
    assert wire.settings_from_wire(RelaySettings, {}) == RelaySettings()


@pytest.mark.parametrize(
    "value",
    [
        None,
        [("listen_port", 1)],
        {"no_such_setting": 1},
        {b"listen_port": 1},
        {"listen_port": "8080"},
        {"listen_port": True},
        {"listen_port": 80.0},
        {"allow_remote": 1},
        {"connect_timeout": True},
        {"connect_timeout": "1"},
        {"ignore_hosts": None},
        {"upstream_ca_file": 5},
        {"proxy_auth": b"u:p"},
    ],
)
def test_malformed_settings_are_a_protocol_error(value: Any) -> None:
    with pytest.raises(ProtocolError):
        wire.settings_from_wire(ProxySettings, value)


def test_optional_text_settings_take_none_or_text() -> None:
    for value in (None, "/x.pem"):
        got = wire.settings_from_wire(ProxySettings, {"upstream_ca_file": value})
        assert got.upstream_ca_file == value
