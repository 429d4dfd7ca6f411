"""What every connection handler needs from the engine, in one object, so
handlers take one argument and the engine owns no global state; and the
small interfaces handlers see each other through."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Protocol

from inspector.core.events import EventSink
from inspector.core.flow import Flow, TunnelInfo
from inspector.core.settings import ProxySettings
from inspector.proxy.breakpoints import Breakpoints
from inspector.proxy.recorder import FlowRecorder
from inspector.proxy.tasks import TaskSet
from inspector.proxy.upstream import UpstreamPool


class ServerContexts(Protocol):
    """Where interception gets a ready server-side SSL context per name,
    and the onboarding page its certificate."""

    def server_context(self, name: str) -> ssl.SSLContext: ...
    def ca_cert_pem(self) -> bytes: ...
    def ca_cert_der(self) -> bytes: ...
    def ca_fingerprint(self) -> str: ...


class HostFilter(Protocol):
    def matches(self, host: str, port: int) -> bool: ...


class _NoHosts:
    def matches(self, host: str, port: int) -> bool:
        return False


@dataclass(slots=True)
class TunnelContext:
    """What the HTTP inside a tunnel needs to know about it: its CONNECT
    flow, and where requests in origin form go."""

    flow: Flow
    scheme: str
    host: str
    port: int

    @property
    def info(self) -> TunnelInfo:
        info = self.flow.tunnel
        assert info is not None
        return info


@dataclass(slots=True)
class EngineContext:
    settings: ProxySettings
    recorder: FlowRecorder
    """The only way connection code changes flows."""
    sink: EventSink
    """For events that are not a flow's (the listener's, warnings)."""
    pool: UpstreamPool
    tasks: TaskSet = field(default_factory=TaskSet)
    listen: str = ""
    """The address clients use, ``host:port``, for the help page."""
    certs: ServerContexts | None = None
    """Issues leaf certificates for interception; None turns it off."""
    ignore: HostFilter = field(default_factory=_NoHosts)
    """Hosts whose TLS tunnels pass through untouched."""
    breakpoints: Breakpoints | None = None
    """The engine's breakpoints and the flows they hold (None: none)."""
    stopping: bool = False
    """Set on shutdown: connections close after their current exchange."""
