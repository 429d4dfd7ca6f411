"""Human-readable renderings shared by the CLI and the GUI."""

from __future__ import annotations

from inspector.core.flow import Flow


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
    """One line per finished flow: ``GET http://host/path -> 200 64 B 3.1 ms``."""
    request = flow.request
    head = f"{request.method} {request.url}"
    if flow.error is not None:
        return f"{head} -> error: {flow.error.message}"
    response = flow.response
    if response is None:
        return f"{head} -> {flow.state.value}"
    return f"{head} -> {response.status} {size(response.body_size)} {duration(flow.duration)}"
