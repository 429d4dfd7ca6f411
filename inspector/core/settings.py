"""Settings: typed objects with every default in one place.

``Settings`` is what gets persisted; ``ProxySettings`` is the part the
engine reads, ``RelaySettings`` the part the event relay reads and
``GuiSettings`` what only the window uses.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from inspector.core.upstream_proxy import DEFAULT_BYPASS, check_upstream

MiB = 1024 * 1024


@dataclass(slots=True)
class ProxySettings:
    listen_host: str = "127.0.0.1"
    listen_port: int = 8080
    allow_remote: bool = False
    """Binding anything but a loopback address needs this: a debugging proxy
    open to the network is an open relay into the user's machine."""

    proxy_auth: str | None = None
    """``USER:PASS``: when set, every request to the proxy (CONNECT too)
    must carry these credentials as Basic proxy authorization, or gets 407.
    Never persisted: it comes from the command line each run."""

    body_capture_limit: int = 8 * MiB
    """Bytes of each body kept on the flow; the rest streams through unkept."""
    body_memory_limit: int = 512 * MiB
    """Total captured body bytes kept across all flows; beyond it the oldest
    flows' bodies are dropped (counted and shown), so memory levels off."""
    max_flows: int = 200_000
    """Flows kept; past it the oldest are dropped as new ones arrive
    (counted and shown). A flow's heads and bookkeeping cost 2-4 KiB
    besides its bodies, so 200,000 flows hold well under 1 GiB, while a
    session that runs for days levels off instead of growing."""

    ws_max_messages: int = 10_000
    """WebSocket messages kept per flow; older ones are dropped (counted)."""
    ws_max_flow_bytes: int = 8 * MiB
    """WebSocket payload bytes kept per flow; older messages are dropped."""
    ws_memory_limit: int = 256 * MiB
    """WebSocket payload bytes kept across all flows; beyond it the oldest
    payloads are dropped (the messages stay, sizes and all, counted)."""

    record_session: bool = True
    """The desktop app records every flow to a session file as it goes."""
    session_max_bytes: int = 2 * 1024 * MiB
    """Past this size the oldest flows leave the session file (the live
    table's flow cap is separate)."""
    session_keep_days: int = 7
    """Recorded sessions older than this are deleted at start."""

    connect_timeout: float = 10.0
    """DNS plus TCP connect to the upstream; beyond it the client gets 504."""
    response_head_timeout: float = 60.0
    """From the request being sent to the response head; beyond it, 504."""
    request_head_timeout: float = 30.0
    """From a request's first byte to its complete head; beyond it, 408."""
    client_idle_timeout: float = 120.0
    """A keep-alive client silent this long between requests is closed."""

    upstream_idle_timeout: float = 30.0
    """Pooled upstream connections idle longer than this are closed. Shorter
    than the usual server keep-alive (nginx 75 s, Apache 5 s is the outlier),
    so a stale connection is rarely picked."""
    upstream_max_idle_per_host: int = 128
    """Idle connections kept per (scheme, host, port). Must exceed the
    client concurrency a host sees, or a burst returns more connections than
    the pool keeps and the next burst reconnects (measured: 16 here cost
    a third of throughput at 50 concurrent clients)."""

    intercept_tls: bool = True
    """Decrypt CONNECT tunnels carrying TLS (with the local CA); when off,
    or for ignored hosts, TLS tunnels pass through untouched."""
    ignore_hosts: str = ""
    """Patterns (``*.example.com``, ``host:8443``) whose tunnels pass through."""
    insecure_upstream: bool = False
    """Skip verification of upstream certificates (shown as a permanent
    warning in the UI)."""
    upstream_ca_file: str | None = None
    """Extra CA certificates (PEM) to trust for upstream servers, on top of
    the system store."""
    upstream_proxy: str | None = None
    """``http://[user:pass@]host:port``: plain HTTP goes to this proxy in
    absolute form, everything else through CONNECT tunnels it opens. Never
    taken from ``http_proxy`` or the system proxy, which may be Inspector."""
    upstream_bypass: str = DEFAULT_BYPASS
    """Patterns (``--ignore-hosts`` syntax) of hosts reached directly, not
    through the upstream proxy; empty sends everything through it."""
    tunnel_peek_timeout: float = 1.0
    """How long to wait for a tunnel client's first bytes before deciding it
    speaks a server-first protocol (SMTP, SSH) and relaying raw bytes."""

    shutdown_grace: float = 0.5
    """On stop, open connections get this long to finish before being aborted."""


@dataclass(slots=True)
class RelaySettings:
    flush_interval_ms: int = 33
    """How often the GUI drains the relay: about one frame at 30 Hz."""
    capacity: int = 50_000
    """Distinct pending flow ids before the relay degrades to a resync."""


@dataclass(slots=True)
class GuiSettings:
    saved_filters: list[list[str]] = field(default_factory=list)
    """The filter box's saved filters: ``[name, expression]`` pairs, in the
    order they are listed."""
    filter_history: list[str] = field(default_factory=list)
    """The filter box's applied expressions, most recent first."""
    system_proxy: bool = False
    """Whether the window sets the desktop's proxy to Inspector while it
    runs (``inspector/sysproxy``); restored on quit."""
    rules: list[dict[str, Any]] = field(default_factory=list)
    """Every rule, breakpoints included, in order and in the rules file's
    form (``core/rules.py``), given to every engine the window starts and
    kept in step with the engine's list (``gui.breakpoints`` in files
    written before is read as these)."""


@dataclass(slots=True)
class Settings:
    proxy: ProxySettings = field(default_factory=ProxySettings)
    relay: RelaySettings = field(default_factory=RelaySettings)
    gui: GuiSettings = field(default_factory=GuiSettings)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


POSITIVE = (
    "body_memory_limit",
    "max_flows",
    "ws_max_messages",
    "ws_max_flow_bytes",
    "ws_memory_limit",
    "session_max_bytes",
    "session_keep_days",
    "connect_timeout",
    "response_head_timeout",
    "request_head_timeout",
    "client_idle_timeout",
    "upstream_idle_timeout",
    "tunnel_peek_timeout",
)
NOT_NEGATIVE = ("body_capture_limit", "upstream_max_idle_per_host", "shutdown_grace")


def check_settings(proxy: ProxySettings, relay: RelaySettings) -> None:
    """ValueError, saying which, when a setting is out of its range. The
    engine checks what it is given before applying any of it."""
    if not 0 <= proxy.listen_port <= 65535:
        # getaddrinfo would take 70000 as 4464 (modulo 65536).
        raise ValueError(f"invalid listen port {proxy.listen_port}")
    if not proxy.allow_remote and not is_loopback(proxy.listen_host):
        raise ValueError(
            f"refusing to listen on {proxy.listen_host}, which other machines can reach, "
            "without allow_remote"
        )
    for name in POSITIVE:
        if getattr(proxy, name) <= 0:
            raise ValueError(f"{name} must be positive")
    for name in NOT_NEGATIVE:
        if getattr(proxy, name) < 0:
            raise ValueError(f"{name} must not be negative")
    check_upstream(proxy.upstream_proxy, proxy.upstream_bypass)
    if relay.flush_interval_ms < 1 or relay.capacity < 1:
        raise ValueError("the relay's flush interval and capacity must be at least 1")
