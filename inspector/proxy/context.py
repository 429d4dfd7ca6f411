"""What every connection handler needs from the engine, in one object, so
handlers take one argument and the engine owns no global state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from inspector.core.events import EventSink
from inspector.core.settings import ProxySettings
from inspector.core.store import FlowStore
from inspector.proxy.tasks import TaskSet
from inspector.proxy.upstream import UpstreamPool

if TYPE_CHECKING:
    from inspector.proxy.tunnel import HostFilter, ServerContexts


class _NoHosts:
    def matches(self, host: str, port: int) -> bool:
        return False


@dataclass(slots=True)
class EngineContext:
    settings: ProxySettings
    store: FlowStore
    sink: EventSink
    pool: UpstreamPool
    tasks: TaskSet = field(default_factory=TaskSet)
    listen: str = ""
    """The address clients use, ``host:port``, for the help page."""
    certs: ServerContexts | None = None
    """Issues leaf certificates for interception; None turns it off."""
    ignore: HostFilter = field(default_factory=_NoHosts)
    """Hosts whose TLS tunnels pass through untouched."""
    stopping: bool = False
    """Set on shutdown: connections close after their current exchange."""
