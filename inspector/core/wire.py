"""What crosses the engine protocol besides rows: a flow's details, relay
events and aggregates, relay metrics. Each has a ``*_to_wire`` (plain
msgpack values) and a ``*_from_wire`` that checks what it is given and
raises ``ProtocolError`` rather than building anything from a bad shape.

Bodies travel apart from the rest: a detail carries at most ``inline``
bytes of each body and says how many were captured; the rest is asked for
in ranges (``MAX_BODY_RANGE`` at a time), so no one message is large.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from inspector.core.events import (
    BytesTransferred,
    CAFailed,
    CriticalEvent,
    Event,
    FlowPaused,
    FlowResumed,
    ListenFailed,
    LowEvent,
    ProxyStarted,
    ProxyStopped,
    RulesChanged,
    WarningRaised,
)
from inspector.core.flow import (
    Flow,
    FlowError,
    FlowState,
    Headers,
    Message,
    Request,
    Response,
    TlsInfo,
    TunnelInfo,
)
from inspector.core.protocol import ProtocolError
from inspector.core.relay import LowAggregate
from inspector.core.relay_metrics import ClassCounts, RelayStats
from inspector.core.ws_wire import info_from_wire, info_to_wire

BODY_INLINE = 256 * 1024
"""Body bytes sent with a flow's details; more is fetched in ranges."""

CRITICAL_EVENTS: dict[str, type[CriticalEvent]] = {
    cls.__name__: cls
    for cls in (
        ProxyStarted,
        ProxyStopped,
        ListenFailed,
        CAFailed,
        FlowPaused,
        FlowResumed,
        RulesChanged,
    )
}


def _check(condition: bool, what: str) -> None:
    if not condition:
        raise ProtocolError(f"malformed {what}")


# Flow details


def _tls_to_wire(tls: TlsInfo | None) -> list[Any] | None:
    return None if tls is None else [tls.version, tls.cipher, tls.alpn, tls.sni]


def _tls_from_wire(value: Any) -> TlsInfo | None:
    if value is None:
        return None
    _check(isinstance(value, list | tuple) and len(value) == 4, "TLS details")
    version, cipher, alpn, sni = value
    _check(isinstance(version, str) and isinstance(cipher, str), "TLS details")
    _check(alpn is None or isinstance(alpn, str), "TLS details")
    _check(sni is None or isinstance(sni, str), "TLS details")
    return TlsInfo(version, cipher, alpn, sni)


def _message_to_wire(message: Message, inline: int) -> dict[str, Any]:
    return {
        "version": message.version,
        "headers": [[name, value] for name, value in message.headers],
        "body": message.body[:inline],
        "captured": len(message.body),
        "body_size": message.body_size,
        "truncated": message.body_truncated,
    }


def _headers_from_wire(value: Any) -> Headers:
    _check(isinstance(value, list | tuple), "headers")
    headers: Headers = []
    for pair in value:
        _check(
            isinstance(pair, list | tuple)
            and len(pair) == 2
            and isinstance(pair[0], bytes)
            and isinstance(pair[1], bytes),
            "header",
        )
        headers.append((pair[0], pair[1]))
    return headers


def _fill_message(target: Message, value: Any) -> int:
    """Fill ``target`` from a wire message; return the bytes captured."""
    _check(isinstance(value, dict), "message")
    version, body = value.get("version"), value.get("body")
    captured, size = value.get("captured"), value.get("body_size")
    _check(isinstance(version, str) and isinstance(body, bytes), "message")
    _check(type(captured) is int and type(size) is int and captured >= len(body), "message")
    target.version = version
    target.headers = _headers_from_wire(value.get("headers"))
    target.body = body
    target.body_size = size
    target.body_truncated = bool(value.get("truncated"))
    return int(captured)


def flow_to_wire(flow: Flow, inline: int = BODY_INLINE) -> dict[str, Any]:
    request, response, tunnel = flow.request, flow.response, flow.tunnel
    wire: dict[str, Any] = {
        "id": flow.id,
        "client": list(flow.client_addr),
        "upstream": list(flow.upstream_addr) if flow.upstream_addr else None,
        "tunnel_id": flow.tunnel_id,
        "state": flow.state.value,
        "error": [flow.error.kind, flow.error.message] if flow.error else None,
        "bodies_dropped": flow.bodies_dropped,
        "bodies_on_disk": flow.bodies_on_disk,
        "times": [
            flow.t_start,
            flow.t_upstream_connected,
            flow.t_request_sent,
            flow.t_response_start,
            flow.t_end,
            flow.t_dns,
            flow.t_connected,
        ],
        # Appended later, optional (docs/protocol.md, Versioning).
        "t_upstream_begin": flow.t_upstream_begin,
        "t_response_head": flow.t_response_head,
        "proxy_extra": flow.proxy_extra,
        "imported": flow.imported,
        "replay_of": flow.replay_of,
        "composed": flow.composed,
        "client_name": flow.client_name,
        "paused": flow.paused,
        "t_paused": flow.t_paused,
        "paused_total": flow.paused_total,
        "edits": list(flow.edits),
        "applied": list(flow.applied),
        "request": {
            **_message_to_wire(request, inline),
            "method": request.method,
            "scheme": request.scheme,
            "host": request.host,
            "port": request.port,
            "target": request.target,
        },
        "response": None,
        "tunnel": None,
        "upstream_tls": _tls_to_wire(flow.upstream_tls),
        "websocket": info_to_wire(flow.websocket) if flow.websocket is not None else None,
    }
    if response is not None:
        wire["response"] = {
            **_message_to_wire(response, inline),
            "status": response.status,
            "reason": response.reason,
        }
    if tunnel is not None:
        wire["tunnel"] = {
            "mode": tunnel.mode,
            "client_tls": _tls_to_wire(tunnel.client_tls),
            "upstream_tls": _tls_to_wire(tunnel.upstream_tls),
            "bytes_up": tunnel.bytes_up,
            "bytes_down": tunnel.bytes_down,
            "inner_flows": tunnel.inner_flows,
        }
    return wire


@dataclasses.dataclass(slots=True)
class FlowDetail:
    """A flow as the engine described it, and how much of each body was
    captured there (the bodies here may be only the first part)."""

    flow: Flow
    request_captured: int
    response_captured: int

    @property
    def complete(self) -> bool:
        """Whether both bodies are here whole."""
        response = self.flow.response
        return len(self.flow.request.body) >= self.request_captured and (
            response is None or len(response.body) >= self.response_captured
        )


def _address(value: Any) -> tuple[str, int] | None:
    if value is None:
        return None
    _check(
        isinstance(value, list | tuple)
        and len(value) == 2
        and isinstance(value[0], str)
        and type(value[1]) is int,
        "address",
    )
    return (value[0], value[1])


def _time(value: Any) -> float | None:
    _check(value is None or isinstance(value, float | int), "time")
    return None if value is None else float(value)


def flow_from_wire(wire: Any) -> FlowDetail:
    _check(isinstance(wire, dict), "flow")
    flow_id, client = wire.get("id"), _address(wire.get("client"))
    _check(type(flow_id) is int and client is not None, "flow")
    assert client is not None
    flow = Flow(id=flow_id, client_addr=client)
    flow.upstream_addr = _address(wire.get("upstream"))
    tunnel_id = wire.get("tunnel_id")
    _check(tunnel_id is None or type(tunnel_id) is int, "flow")
    flow.tunnel_id = tunnel_id
    try:
        flow.state = FlowState(wire.get("state"))
    except ValueError:
        raise ProtocolError("malformed flow state") from None
    error = wire.get("error")
    if error is not None:
        _check(
            isinstance(error, list | tuple)
            and len(error) == 2
            and all(isinstance(e, str) for e in error),
            "flow error",
        )
        flow.error = FlowError(error[0], error[1])
    flow.bodies_dropped = bool(wire.get("bodies_dropped"))
    flow.bodies_on_disk = bool(wire.get("bodies_on_disk"))
    times = wire.get("times")
    _check(isinstance(times, list | tuple) and len(times) == 7, "times")
    start = _time(times[0])
    _check(start is not None, "times")
    flow.t_start = start or 0.0
    flow.t_upstream_connected = _time(times[1])
    flow.t_request_sent = _time(times[2])
    flow.t_response_start = _time(times[3])
    flow.t_end = _time(times[4])
    flow.t_dns = _time(times[5])
    flow.t_connected = _time(times[6])
    flow.t_upstream_begin = _time(wire.get("t_upstream_begin"))
    flow.t_response_head = _time(wire.get("t_response_head"))
    extra = wire.get("proxy_extra", 0.0)
    _check(isinstance(extra, float | int) and not isinstance(extra, bool), "flow")
    flow.proxy_extra = float(extra)
    flow.imported = bool(wire.get("imported"))
    replay_of = wire.get("replay_of")
    _check(replay_of is None or type(replay_of) is int, "flow")
    flow.replay_of = replay_of
    flow.composed = bool(wire.get("composed"))
    client_name = wire.get("client_name", "")
    _check(isinstance(client_name, str), "flow")
    flow.client_name = client_name
    paused, t_paused = wire.get("paused", ""), wire.get("t_paused")
    _check(paused in ("", "request", "response"), "flow")
    flow.paused, flow.t_paused = paused, _time(t_paused)
    total, edits = wire.get("paused_total", 0.0), wire.get("edits", [])
    _check(isinstance(total, float | int) and not isinstance(total, bool), "flow")
    _check(isinstance(edits, list | tuple) and all(isinstance(e, str) for e in edits), "flow")
    flow.paused_total, flow.edits = float(total), list(edits)
    applied = wire.get("applied", [])
    _check(isinstance(applied, list | tuple) and all(isinstance(a, str) for a in applied), "flow")
    flow.applied = list(applied)

    req = wire.get("request")
    _check(isinstance(req, dict), "request")
    request = Request()
    request_captured = _fill_message(request, req)
    method, scheme, host = req.get("method"), req.get("scheme"), req.get("host")
    port, target = req.get("port"), req.get("target")
    _check(
        isinstance(method, str)
        and isinstance(scheme, str)
        and isinstance(host, str)
        and type(port) is int
        and isinstance(target, str),
        "request",
    )
    request.method, request.scheme, request.host = method, scheme, host
    request.port, request.target = port, target
    flow.request = request

    response_captured = 0
    resp = wire.get("response")
    if resp is not None:
        response = Response()
        response_captured = _fill_message(response, resp)
        status, reason = resp.get("status"), resp.get("reason")
        _check(type(status) is int and isinstance(reason, str), "response")
        response.status, response.reason = status, reason
        flow.response = response

    tunnel = wire.get("tunnel")
    if tunnel is not None:
        _check(isinstance(tunnel, dict), "tunnel")
        info = TunnelInfo()
        mode = tunnel.get("mode")
        counts = [tunnel.get(k) for k in ("bytes_up", "bytes_down", "inner_flows")]
        _check(isinstance(mode, str) and all(type(c) is int for c in counts), "tunnel")
        info.mode = mode
        info.bytes_up, info.bytes_down, info.inner_flows = counts
        info.client_tls = _tls_from_wire(tunnel.get("client_tls"))
        info.upstream_tls = _tls_from_wire(tunnel.get("upstream_tls"))
        flow.tunnel = info
    flow.upstream_tls = _tls_from_wire(wire.get("upstream_tls"))
    websocket = wire.get("websocket")
    if websocket is not None:
        flow.websocket = info_from_wire(websocket)
    return FlowDetail(flow, request_captured, response_captured)


# Relay events, aggregates and metrics


def critical_to_wire(event: Event) -> dict[str, Any]:
    fields = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}  # type: ignore[arg-type]
    return {"kind": type(event).__name__, **fields}


def critical_from_wire(value: Any) -> CriticalEvent:
    _check(isinstance(value, dict), "event")
    kind = value.get("kind")
    cls = CRITICAL_EVENTS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ProtocolError(f"unknown event {value.get('kind')!r}")
    kwargs = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        item = value.get(f.name)
        wanted = int if f.type in ("int", int) else str
        _check(isinstance(item, wanted) and not isinstance(item, bool), f"{cls.__name__}")
        kwargs[f.name] = item
    return cls(**kwargs)


def aggregate_to_wire(aggregate: LowAggregate) -> list[Any]:
    latest = aggregate.latest
    message = latest.message if isinstance(latest, WarningRaised) else None
    nbytes = latest.nbytes if isinstance(latest, BytesTransferred) else None
    return [aggregate.kind, aggregate.key, aggregate.count, message, nbytes]


def aggregate_from_wire(value: Any) -> LowAggregate:
    _check(isinstance(value, list | tuple) and len(value) == 5, "warning")
    kind, key, count, message, nbytes = value
    _check(isinstance(kind, str) and isinstance(key, str) and type(count) is int, "warning")
    latest: LowEvent
    if isinstance(message, str):
        latest = WarningRaised(kind, key, message)
    else:
        _check(type(nbytes) is int, "warning")
        latest = BytesTransferred(kind, key, nbytes)
    return LowAggregate(kind, key, count, latest, 0.0)


_CLASSES = ("critical", "flow", "low")


def stats_to_wire(stats: RelayStats) -> dict[str, Any]:
    return stats.as_dict()


def stats_from_wire(value: Any) -> RelayStats:
    _check(isinstance(value, dict), "stats")
    counts: dict[str, Any] = {}
    for name in _CLASSES:
        item = value.get(name)
        _check(isinstance(item, dict), "stats")
        fields = {}
        for f in dataclasses.fields(ClassCounts):
            number = item.get(f.name)
            _check(type(number) is int, "stats")
            fields[f.name] = number
        counts[name] = ClassCounts(**fields)
    rest = counts
    for f in dataclasses.fields(RelayStats):
        if f.name in _CLASSES:
            continue
        number = value.get(f.name)
        if f.type in ("bool", bool):
            _check(isinstance(number, bool), "stats")
        else:
            _check(isinstance(number, int | float) and not isinstance(number, bool), "stats")
        rest[f.name] = number
    return RelayStats(**rest)


# Settings


def settings_to_wire(settings: Any) -> dict[str, Any]:
    """A settings dataclass (``ProxySettings``, ``RelaySettings``) as a map."""
    return dataclasses.asdict(settings)


def settings_from_wire(cls: type[Any], value: Any) -> Any:
    """A ``cls`` settings object from a map: every field optional (the
    default stays), each checked against its default's type."""
    _check(isinstance(value, dict), "settings")
    settings = cls()
    names = {f.name for f in dataclasses.fields(cls)}
    for name, item in value.items():
        if name not in names:
            raise ProtocolError(f"unknown setting {name!r}")
        default = getattr(settings, name)
        if default is None:
            ok = item is None or isinstance(item, str)
        elif isinstance(default, bool):
            ok = isinstance(item, bool)
        elif isinstance(default, int):
            ok = type(item) is int
        elif isinstance(default, float):
            ok = isinstance(item, float | int) and not isinstance(item, bool)
            item = float(item) if ok else item
        else:
            ok = isinstance(item, type(default))
        if not ok:
            raise ProtocolError(f"setting {name!r} has the wrong type")
        setattr(settings, name, item)
    return settings
