"""Lifecycle events the engine reports, and the sink interface it reports to.

Events are past-tense facts and carry ids, not state: "flow 42 changed", not
what changed. Whoever consumes them reads the flow's current state from the
store, which is what lets a relay coalesce and drop notifications without
losing data.

Every event class declares its ``priority``, which decides its policy under
load (see DESIGN.md, "The relay"):

- ``CRITICAL``: never dropped or coalesced, delivered in order.
- ``FLOW``: coalesced by ``flow_id``; at most one notification per id per batch.
- ``LOW``: aggregated by ``(kind, key)`` into counts; dropped under load.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar, Protocol


class Priority(enum.IntEnum):
    CRITICAL = 0
    FLOW = 1
    LOW = 2


class Event:
    __slots__ = ()
    priority: ClassVar[Priority]


class FlowEvent(Event):
    """An event about one flow (a tunnel is a flow too)."""

    __slots__ = ()
    priority: ClassVar[Priority] = Priority.FLOW
    flow_id: int


# Flow events. Plain (non-frozen) slotted dataclasses: they are built on the
# hot path and a frozen dataclass's __init__ costs several times more.


@dataclass(slots=True)
class FlowCreated(FlowEvent):
    flow_id: int


@dataclass(slots=True)
class FlowRequestHead(FlowEvent):
    """The request head was sent upstream."""

    flow_id: int


@dataclass(slots=True)
class FlowResponseHead(FlowEvent):
    flow_id: int


@dataclass(slots=True)
class FlowFinished(FlowEvent):
    flow_id: int


@dataclass(slots=True)
class FlowFailed(FlowEvent):
    flow_id: int


@dataclass(slots=True)
class FlowHeld(FlowEvent):
    """The flow was held at a breakpoint, or let go (its row changed)."""

    flow_id: int


# Tunnel events: a CONNECT tunnel is a flow too (method CONNECT), so these
# coalesce by its id like any flow event.


@dataclass(slots=True)
class TunnelOpened(FlowEvent):
    flow_id: int


@dataclass(slots=True)
class TunnelTlsEstablished(FlowEvent):
    """TLS is up on one side: ``side`` is ``client`` or ``upstream``."""

    flow_id: int
    side: str


@dataclass(slots=True)
class TunnelPassthrough(FlowEvent):
    """The tunnel relays bytes untouched (ignored host, non-TLS protocol)."""

    flow_id: int


@dataclass(slots=True)
class TunnelClosed(FlowEvent):
    flow_id: int


@dataclass(slots=True)
class TunnelFailed(FlowEvent):
    flow_id: int


# WebSocket events: messages coalesce by flow id like any flow event, so a
# chatty socket costs one row update per batch, however many messages.


@dataclass(slots=True)
class WebSocketOpened(FlowEvent):
    """The flow switched to WebSocket (101 relayed)."""

    flow_id: int


@dataclass(slots=True)
class WebSocketMessage(FlowEvent):
    """A message (or control frame) passed; the counters changed."""

    flow_id: int


# Low-priority events.


class LowEvent(Event):
    """Aggregated by ``(kind, key)``; only counts survive a busy interval."""

    __slots__ = ()
    priority: ClassVar[Priority] = Priority.LOW
    kind: str
    key: str


@dataclass(slots=True)
class WarningRaised(LowEvent):
    """Something worth telling the user that is not a flow's own failure
    (a client reset, a slow client, a discarded pooled connection)."""

    kind: str
    key: str
    message: str


@dataclass(slots=True)
class BytesTransferred(LowEvent):
    """Body progress on a long transfer; ``key`` is the flow id as text."""

    kind: str
    key: str
    nbytes: int


# Critical events.


class CriticalEvent(Event):
    __slots__ = ()
    priority: ClassVar[Priority] = Priority.CRITICAL


@dataclass(slots=True)
class ProxyStarted(CriticalEvent):
    host: str
    port: int


@dataclass(slots=True)
class ProxyStopped(CriticalEvent):
    pass


@dataclass(slots=True)
class CAFailed(CriticalEvent):
    """The CA could not be loaded or created; HTTPS passes through."""

    message: str


@dataclass(slots=True)
class ListenFailed(CriticalEvent):
    host: str
    port: int
    message: str


@dataclass(slots=True)
class FlowPaused(CriticalEvent):
    """A breakpoint holds flow ``flow_id`` at ``phase`` (request or
    response) since ``since_ms`` (milliseconds since the epoch)."""

    flow_id: int
    phase: str
    since_ms: int


@dataclass(slots=True)
class FlowResumed(CriticalEvent):
    """A held flow went on: ``outcome`` is resumed, edited, aborted or
    gone (the client left while it was held)."""

    flow_id: int
    phase: str
    outcome: str


@dataclass(slots=True)
class RulesChanged(CriticalEvent):
    """The engine's rules (breakpoints included) changed; ``count`` of them now."""

    count: int


class EventSink(Protocol):
    """Where the engine reports events.

    ``emit`` is synchronous, O(1), never awaits, never blocks on a consumer
    and never raises: it is called on the request path.
    """

    def emit(self, event: Event) -> None: ...
