"""The upstream proxy Inspector chains to, and which route each connection
takes: its address and credentials parsed from ``http://[user:pass@]host:port``,
its text with the password masked, and the routing decision as a pure
function of plain values.

Plain HTTP goes to the upstream proxy in absolute form (RFC 9112 section
3.2.2: "a client MUST send the target URI in absolute-form as the
request-target" when it makes a request to a proxy); everything else
(HTTPS, WebSocket upgrades, passthrough and raw tunnels) goes through a
CONNECT tunnel to the origin (RFC 9110 section 9.3.6). Hosts matching the
bypass patterns go direct: by default localhost and loopback addresses,
which a proxy on another machine would take for its own.

Credentials are kept out of every text this module makes (``repr``,
errors, ``authority``); only ``authorization`` holds them, for the
``Proxy-Authorization`` header sent to the upstream proxy itself.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from urllib.parse import unquote

from inspector.core.flow import authority
from inspector.core.hostmatch import HostPatternError, HostPatterns

DEFAULT_BYPASS = "localhost, *.localhost, 127.*, ::1"
"""Hosts that go direct by default: names and addresses of this machine,
which an upstream proxy elsewhere cannot reach."""

ENV_VAR = "INSPECTOR_UPSTREAM_PROXY"
"""Sets the upstream proxy (credentials included) out of sight of ``ps``."""

MASK = "****"


class UpstreamProxyError(ValueError):
    """The upstream proxy setting is not ``http://[user:pass@]host:port``.
    The message never contains the password."""


@dataclass(frozen=True, slots=True)
class UpstreamProxy:
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def authority(self) -> str:
        """``host:port`` (IPv6 in brackets): how errors and logs name it."""
        return authority(self.host, self.port)

    @property
    def authorization(self) -> bytes | None:
        """The ``Proxy-Authorization`` value (Basic, RFC 7617), or None."""
        if self.username is None:
            return None
        pair = f"{self.username}:{self.password or ''}".encode()
        return b"Basic " + base64.b64encode(pair)

    def __str__(self) -> str:
        user = f"{self.username}:{MASK}@" if self.username is not None else ""
        return f"http://{user}{self.authority}"


def parse_upstream_proxy(text: str) -> UpstreamProxy:
    """``http://[user:pass@]host:port`` (the scheme may be left out; user
    and password may be percent-encoded). Raises UpstreamProxyError."""
    value = text.strip()
    scheme, sep, rest = value.partition("://")
    if not sep:
        scheme, rest = "http", value
    if scheme.lower() != "http":
        raise UpstreamProxyError(
            f"upstream proxy: only http:// proxies are supported, not {scheme.lower()}://"
        )
    rest = rest.rstrip("/")
    userinfo, at, hostport = rest.rpartition("@")
    if "/" in hostport or "?" in hostport or "#" in hostport:
        raise UpstreamProxyError("upstream proxy: expected http://[user:pass@]host:port, no path")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user)
        password = unquote(secret) if colon else ""
        if not username:
            raise UpstreamProxyError("upstream proxy: empty user name before '@'")
    host, port = _split_hostport(hostport)
    return UpstreamProxy(host, port, username, password)


def _split_hostport(text: str) -> tuple[str, int]:
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or not rest.startswith(":"):
            raise UpstreamProxyError("upstream proxy: expected [IPv6 address]:port")
        port_text = rest[1:]
    else:
        host, colon, port_text = text.rpartition(":")
        if not colon:
            raise UpstreamProxyError(
                f"upstream proxy: {text or 'the address'} needs a port (http://host:port)"
            )
    if not host:
        raise UpstreamProxyError("upstream proxy: no host")
    if not (port_text.isascii() and port_text.isdigit()) or not 1 <= int(port_text) <= 65535:
        raise UpstreamProxyError(f"upstream proxy: bad port {port_text!r} (expected 1 to 65535)")
    return host, int(port_text)


def mask(text: str) -> str:
    """``text`` with any password replaced by ``****``, for display; an
    unparsable value keeps only what cannot be a secret."""
    try:
        return str(parse_upstream_proxy(text))
    except UpstreamProxyError:
        return MASK if "@" in text else text


def parse_bypass(text: str) -> HostPatterns:
    try:
        return HostPatterns.parse(text)
    except HostPatternError as exc:
        raise UpstreamProxyError(f"upstream bypass: {exc}") from None


def check_upstream(proxy: str | None, bypass: str) -> None:
    """UpstreamProxyError when either setting is malformed."""
    if proxy:
        parse_upstream_proxy(proxy)
    parse_bypass(bypass)


@dataclass(frozen=True, slots=True)
class Route:
    """How to reach an origin: direct (``via`` None), through the upstream
    proxy in absolute form, or through a CONNECT tunnel it opens."""

    via: UpstreamProxy | None = None
    tunnel: bool = False

    @property
    def absolute_form(self) -> bool:
        return self.via is not None and not self.tunnel


DIRECT = Route()


def route(
    proxy: UpstreamProxy | None,
    bypass: HostPatterns,
    scheme: str,
    host: str,
    port: int,
    *,
    tunnel: bool = False,
) -> Route:
    """The route to ``host:port``. ``tunnel`` asks for a byte stream to the
    origin (a passthrough tunnel, a WebSocket): only plain ``http``
    requests that do not need one use the absolute form."""
    if proxy is None or bypass.matches(host, port):
        return DIRECT
    return Route(proxy, tunnel or scheme != "http")
