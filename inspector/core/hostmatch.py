"""Host patterns, such as the list of hosts whose HTTPS is passed through
unintercepted ("ignore hosts").

A pattern is a host or ``host:port``: ``localhost``, ``*.example.com``,
``example.com:8443``, ``10.0.*``, ``[::1]:8080``. Matching ignores case and
a trailing dot. Without a port a pattern matches every port. ``*`` matches
any run of characters, dots included, so ``*.example.com`` matches
``a.example.com`` and ``a.b.example.com`` but not ``example.com`` itself: the
dot before the apex is literal, as in mitmproxy and in TLS wildcard names.
List both (``example.com, *.example.com``) for the domain and everything
under it. IPv6 addresses match exactly (no ``*``), in any spelling, and need
brackets only when followed by a port. Non-ASCII names are compared in their
IDNA (``xn--``) form, which is what clients send.

Patterns compile to sets (exact names) and one regular expression per port
(wildcards), so a lookup costs a hash probe and at most two regex matches.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from inspector.core.flow import authority, bracketed

_SEPARATORS = re.compile(r"[,\s]+")
_LABEL_CHARS = re.compile(r"[a-z0-9_*-]+")
"""Letters, digits, hyphen (RFC 1123), underscore (seen in real host names),
and the wildcard."""

ANY_PORT = 0
"""Port slot of a pattern without a port (0 is never a real destination)."""


class HostPatternError(ValueError):
    """A pattern is not a host, ``host:port``, or IPv6 address."""


_Fail = Callable[[str], HostPatternError]


@dataclass(frozen=True, slots=True)
class _Pattern:
    host: str
    port: int

    def __str__(self) -> str:
        return authority(self.host, self.port) if self.port != ANY_PORT else bracketed(self.host)


class HostPatterns:
    __slots__ = ("_exact", "_globs", "_patterns")

    def __init__(self, patterns: Iterable[str] = ()) -> None:
        """Raises ``HostPatternError`` naming the first invalid pattern."""
        parsed = tuple(dict.fromkeys(_parse_one(p) for p in patterns))
        self._patterns = parsed
        self._exact = frozenset((p.host, p.port) for p in parsed if "*" not in p.host)
        globs: dict[int, list[str]] = {}
        for p in parsed:
            if "*" in p.host:
                globs.setdefault(p.port, []).append(".*".join(map(re.escape, p.host.split("*"))))
        self._globs = {port: re.compile("|".join(sources)) for port, sources in globs.items()}

    @classmethod
    def parse(cls, text: str) -> HostPatterns:
        """Patterns separated by commas and/or whitespace."""
        return cls(p for p in _SEPARATORS.split(text) if p)

    @property
    def patterns(self) -> tuple[str, ...]:
        """The patterns in normalized form, duplicates dropped, in order."""
        return tuple(str(p) for p in self._patterns)

    def matches(self, host: str, port: int) -> bool:
        """Whether ``host`` (a name or an IP address, IPv6 with or without
        brackets) at ``port`` matches any pattern. Never raises."""
        name = _normalize_host(host)
        if (name, ANY_PORT) in self._exact or (name, port) in self._exact:
            return True
        for slot in (ANY_PORT, port):
            regex = self._globs.get(slot)
            if regex is not None and regex.fullmatch(name):
                return True
        return False

    def __len__(self) -> int:
        return len(self._patterns)

    def __bool__(self) -> bool:
        return bool(self._patterns)

    def __str__(self) -> str:
        return ", ".join(self.patterns)

    def __repr__(self) -> str:
        return f"HostPatterns.parse({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HostPatterns):
            return NotImplemented
        return self._patterns == other._patterns

    def __hash__(self) -> int:
        return hash(self._patterns)


def _parse_one(raw: str) -> _Pattern:
    text = raw.strip().lower()

    def fail(reason: str) -> HostPatternError:
        return HostPatternError(f"invalid host pattern {raw!r}: {reason}")

    if not text:
        raise fail("empty")
    if "/" in text:
        raise fail("'/' is not allowed; write a host, not a URL")
    port_text = ""
    if text.startswith("["):
        inside, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise fail("expected [IPv6 address] or [IPv6 address]:port")
        return _Pattern(_ipv6(inside, fail), _port(rest[1:], fail) if rest else ANY_PORT)
    if text.count(":") > 1:
        return _Pattern(_ipv6(text, fail), ANY_PORT)
    host, colon, port_text = text.partition(":")
    port = _port(port_text, fail) if colon else ANY_PORT
    if host.endswith("."):
        host = host[:-1]
    if not host:
        raise fail("no host")
    labels = host.split(".")
    for index, label in enumerate(labels):
        if not label:
            raise fail("empty label (two dots in a row, or a leading dot)")
        if not label.isascii():
            try:
                label = labels[index] = label.encode("idna").decode("ascii")
            except UnicodeError:
                raise fail(f"{label!r} is not a valid international name") from None
        if not _LABEL_CHARS.fullmatch(label):
            bad = next(c for c in label if not _LABEL_CHARS.fullmatch(c))
            raise fail(f"{bad!r} is not allowed in host names")
        if len(label) > 63:
            raise fail("a label is longer than 63 characters")
    host = ".".join(labels)
    if len(host) > 253:
        raise fail("longer than 253 characters")
    return _Pattern(host, port)


def _ipv6(text: str, fail: _Fail) -> str:
    try:
        return str(ipaddress.IPv6Address(text))
    except ValueError:
        raise fail("not an IPv6 address (with a port, write it as [::1]:8080)") from None


def _port(text: str, fail: _Fail) -> int:
    if not (text.isascii() and text.isdigit() and len(text) <= 5) or not 1 <= int(text) <= 65535:
        raise fail(f"bad port {text!r} (expected 1 to 65535)")
    return int(text)


def _normalize_host(host: str) -> str:
    name = host.strip().lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if ":" in name:
        try:
            return str(ipaddress.IPv6Address(name))
        except ValueError:
            return name
    if name.endswith("."):
        name = name[:-1]
    if not name.isascii():
        try:
            return name.encode("idna").decode("ascii")
        except UnicodeError:
            return name
    return name
