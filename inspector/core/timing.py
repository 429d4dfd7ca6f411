"""A flow's time split into phases, and the part of it the proxy added.

The engine stamps a flow's life with ``time.time()`` floats (``Flow.t_*``);
this module reads them, pure, for the Timing tab, the waterfall, the
summary row's proxy time and the status bar's aggregate.

Phases, in order, each ``(start, end)`` in seconds from ``t_start``:

- **Proxy** (request side): from the complete request head until the
  engine asked for an upstream connection: request rules and their
  delays, a breakpoint's hold, a body read whole for a rule, the engine's
  own work and its loop's lag.
- **DNS**, **Connect**, **TLS**: a new upstream connection (``reused``
  when a pooled one served; DNS ``none`` for an address literal, TLS
  ``none`` for plain HTTP).
- **Send**: the request head and body to the upstream (a body comes at the
  client's pace).
- **Wait**: until the upstream's response head arrived.
- **Proxy** (response side): the response head held by the engine
  (response rules, a breakpoint) until it went to the client.
- **Receive**: the body, until the end.

**Proxy time** is the sum of the two Proxy phases and ``Flow.proxy_extra``
(a throttle's pacing, a tunnel's certificate minting): the time a request
took that it would not have taken without Inspector in the way. A loop
stall while the flow waits on the network is not in it (the network phase
absorbs it); a stall while the engine works on the flow is. A request the
proxy answered itself (a mock or block rule, its help page, a refusal) is
all proxy time; a CONNECT tunnel's is its minting. Unknown (None) for an
unfinished flow, an imported one, and one recorded before the engine kept
these stamps.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from inspector.core.flow import Flow

PROXY, DNS, CONNECT, TLS, SEND, WAIT, RECEIVE = (
    "Proxy",
    "DNS",
    "Connect",
    "TLS",
    "Send",
    "Wait",
    "Receive",
)
PHASE_NAMES = (PROXY, DNS, CONNECT, TLS, SEND, WAIT, RECEIVE)

REUSED = "reused"
"""A pooled connection served: no DNS, connect or TLS for this flow."""
NONE = "none"
"""The phase does not apply (DNS for an address literal, TLS for http)."""
UNKNOWN = "unknown"
"""Not stamped: an imported flow, an older session, a failure before it."""


@dataclass(slots=True, frozen=True)
class Phase:
    """One phase: ``start`` and ``end`` in seconds from the flow's start,
    or both None with ``note`` saying why (``REUSED``, ``NONE``,
    ``UNKNOWN``)."""

    name: str
    start: float | None
    end: float | None
    note: str = ""

    @property
    def known(self) -> bool:
        return self.start is not None and self.end is not None

    @property
    def seconds(self) -> float:
        if self.start is None or self.end is None:
            return 0.0
        return self.end - self.start


def _span(name: str, t0: float, start: float | None, end: float | None) -> Phase:
    if start is None or end is None or end < start:
        return Phase(name, None, None, UNKNOWN)
    return Phase(name, start - t0, end - t0)


def _not(name: str, note: str) -> Phase:
    return Phase(name, None, None, note)


def answered_locally(flow: Flow) -> bool:
    """The proxy answered without the upstream (a rule, its own page, a
    refusal): no connection was asked for, nothing was sent."""
    return (
        flow.tunnel is None
        and not flow.imported
        and flow.t_upstream_begin is None
        and flow.t_request_sent is None
        and flow.upstream_addr is None
    )


def phases(flow: Flow) -> list[Phase]:
    """The flow's phases in order (both Proxy phases included); phases a
    flow never reached are left out, those that do not apply say so."""
    t0 = flow.t_start
    if flow.tunnel is not None:
        return [_span(CONNECT, t0, t0, flow.t_response_start or flow.t_upstream_connected)]
    if answered_locally(flow):
        return [_span(PROXY, t0, t0, flow.t_end)] if flow.t_end is not None else []
    begin = flow.t_upstream_begin
    result = [_span(PROXY, t0, t0, begin) if begin is not None else _not(PROXY, UNKNOWN)]
    new = flow.t_upstream_connected is not None
    if not new:
        if flow.t_request_sent is None and flow.upstream_addr is None:
            return result if flow.t_end is None else [*result, _not(CONNECT, UNKNOWN)]
        result += [_not(DNS, REUSED), _not(CONNECT, REUSED), _not(TLS, REUSED)]
        ready = begin
    else:
        resolved = flow.t_dns
        result.append(_span(DNS, t0, begin, resolved) if resolved else _not(DNS, NONE))
        tcp_from = resolved or begin
        result.append(_span(CONNECT, t0, tcp_from, flow.t_connected))
        https = flow.upstream_tls is not None or flow.request.scheme == "https"
        if https:
            result.append(_span(TLS, t0, flow.t_connected, flow.t_upstream_connected))
        else:
            result.append(_not(TLS, NONE))
        ready = flow.t_upstream_connected
    if flow.t_request_sent is None:
        return result
    result.append(_span(SEND, t0, ready, flow.t_request_sent))
    head = flow.t_response_head or flow.t_response_start
    if head is None:
        return result
    result.append(_span(WAIT, t0, flow.t_request_sent, head))
    if flow.t_response_head is not None and flow.t_response_start is not None:
        result.append(_span(PROXY, t0, flow.t_response_head, flow.t_response_start))
    if flow.t_response_start is not None and flow.t_end is not None:
        result.append(_span(RECEIVE, t0, flow.t_response_start, flow.t_end))
    return result


def proxy_time(flow: Flow) -> float | None:
    """Seconds the proxy added to the flow (the module's docstring says
    what counts), or None when unknown."""
    if flow.imported or flow.t_end is None:
        return None
    if flow.tunnel is not None:
        return flow.proxy_extra
    if answered_locally(flow):
        return max(flow.t_end - flow.t_start, 0.0) + flow.proxy_extra
    begin = flow.t_upstream_begin
    if begin is None:
        return None
    total = max(begin - flow.t_start, 0.0) + flow.proxy_extra
    head, sent = flow.t_response_head, flow.t_response_start
    if head is not None and sent is not None and sent > head:
        total += sent - head
    return total


@dataclass(slots=True, frozen=True)
class ProxyAggregate:
    """Proxy time over many flows."""

    count: int
    total: float
    median: float
    p95: float
    maximum: float


def aggregate(values: Iterable[float]) -> ProxyAggregate | None:
    """The aggregate of known proxy times (negative values, unknown, are
    skipped); None when there is none."""
    known = sorted(v for v in values if v >= 0 and not math.isnan(v))
    if not known:
        return None
    count = len(known)
    return ProxyAggregate(
        count,
        math.fsum(known),
        known[(count - 1) // 2] if count % 2 else (known[count // 2 - 1] + known[count // 2]) / 2,
        known[min(count - 1, math.ceil(0.95 * count) - 1)],
        known[-1],
    )


def short(seconds: float) -> str:
    """A phase or proxy time for display: microseconds below a millisecond
    (the proxy's own cost is often that small), else ``core.format``'s way."""
    if seconds < 0.001:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"
