"""Human-readable renderings shared by the CLI and the GUI."""

from __future__ import annotations

from inspector.core.flow import Flow, url


def size(nbytes: int) -> str:
    """``64 B``, ``1.5 KiB``, ``12.0 MiB``."""
    if nbytes < 1024:
        return f"{nbytes} B"
    value = float(nbytes)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:.1f} {unit}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


def flow_line(flow: Flow) -> str:
    """One line per finished flow: ``GET http://host/path -> 200 64 B 3.1 ms``,
    `` (replay of #N)`` after it for a replay."""
    line = _exchange_line(flow)
    if flow.replay_of is not None:
        return f"{line} (replay of #{flow.replay_of})"
    return line


def _exchange_line(flow: Flow) -> str:
    request = flow.request
    if flow.websocket is not None:
        return websocket_line(flow)
    head = f"{request.method} {request.url}"
    if flow.error is not None:
        return f"{head} -> error: {flow.error.message}"
    response = flow.response
    if response is None:
        return f"{head} -> {flow.state.value}"
    return f"{head} -> {response.status} {size(response.body_size)} {duration(flow.duration)}"


def websocket_scheme(flow: Flow) -> str:
    """``ws`` or ``wss`` for a WebSocket flow, else the request's scheme."""
    if flow.websocket is None:
        return flow.request.scheme
    return "wss" if flow.websocket.tls else "ws"


def websocket_line(flow: Flow) -> str:
    """``WS ws://host/path -> 101 closed 1000, 42 msgs up 10.2 KiB, 40 down
    9.9 KiB`` (``closed -`` when no close frame passed)."""
    info = flow.websocket
    assert info is not None
    request = flow.request
    address = url(websocket_scheme(flow), request.host, request.port, request.target)
    code = "-" if info.close_code is None else str(info.close_code)
    return (
        f"WS {address} -> 101 closed {code}, {info.msgs_up} msgs up {size(info.bytes_up)}, "
        f"{info.msgs_down} down {size(info.bytes_down)}"
    )
