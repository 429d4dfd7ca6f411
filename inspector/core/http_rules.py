"""HTTP/1.1 message rules the engine enforces on top of h11.

h11 parses and frames messages but, being a general library, accepts some
inputs a proxy must refuse: a proxy that forwards a message two hops may
disagree about is a request smuggling vector (RFC 9112 section 11.2). These
functions are pure: headers in, a verdict out.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass

from inspector.core.flow import DEFAULT_PORTS, HeaderSeq

MAX_REQUEST_LINE = 8 * 1024
"""Longer request lines get 414. RFC 9112 section 3 recommends supporting at
least 8000 octets; browsers cap URLs well below this in practice."""
MAX_HEAD_SIZE = 64 * 1024
"""Longer request heads get 431 (RFC 6585 section 5)."""
MAX_HEADER_LINES = 100
"""More header fields than this get 431; real clients send a few dozen."""

# RFC 9110 section 7.6.1: "Connection" lists hop-by-hop fields; these are the
# ones every proxy removes regardless. Proxy-Authorization is consumed by the
# proxy it is addressed to and must never travel further.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authorization",
        b"proxy-authenticate",
        b"te",
        b"trailer",
        b"upgrade",
    }
)


_HOP_LENGTHS = frozenset(len(name) for name in HOP_BY_HOP)


class MessageRejected(Exception):
    """A message the proxy refuses, with the status to answer and why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def check_framing(headers: HeaderSeq, http_version: bytes = b"1.1") -> None:
    """Refuse ambiguous message framing (RFC 9112 sections 6.1 and 6.3).

    ``headers`` are raw ``(name, value)`` pairs in any case, ``http_version``
    the message's (``b"1.0"``, ``b"1.1"``). Raises MessageRejected(400) on:

    - Transfer-Encoding in a message older than HTTP/1.1, which did not
      define it: "A server or client that receives an HTTP/1.0 message
      containing a Transfer-Encoding header field MUST treat the message as
      if the framing is faulty, even if a Content-Length is present, and
      close the connection after processing the message" (section 6.1);
    - Content-Length together with Transfer-Encoding: "A server MAY reject a
      request that contains both Content-Length and Transfer-Encoding" and a
      proxy forwarding it lets the next hop pick the other one;
    - several differing Content-Length values, or one that is not 1*DIGIT
      (a list of one value repeated is that value, section 6.3 item 5);
    - chunked applied twice: "A sender MUST NOT apply the chunked transfer
      coding more than once to a message body" (section 6.1);
    - a Transfer-Encoding that is not ASCII or whose final coding is not
      chunked: "If a Transfer-Encoding header field is present in a request
      and the chunked transfer coding is not the final encoding, the
      message body length cannot be determined reliably; the server MUST
      respond with the 400 (Bad Request) status code and then close the
      connection."

    Responses are checked too, each finding a 502. A response whose final
    coding is not chunked would, by section 6.3, run until the server
    closes; but the proxy sends no TE field upstream, so it accepted no
    coding but chunked (RFC 9110 section 10.1.4), and h11 can frame no
    other: such a response is refused rather than relayed.
    """
    content_length: bytes | None = None
    transfer_encoding: list[bytes] = []
    for name, value in headers:
        # Only two names matter; comparing lengths first keeps the common
        # case (a dozen other headers) to one len() each.
        size = len(name)
        if size == 14 and name.lower() == b"content-length":
            for part in value.split(b","):
                part = part.strip()
                if not part.isdigit() or not part.isascii():
                    raise MessageRejected(400, f"invalid Content-Length {_show(value)}")
                if content_length is not None and part != content_length:
                    raise MessageRejected(400, "conflicting Content-Length values")
                content_length = part
        elif size == 17 and name.lower() == b"transfer-encoding":
            if not value.isascii():
                raise MessageRejected(400, "non-ASCII Transfer-Encoding")
            transfer_encoding.extend(
                coding.strip().lower() for coding in value.split(b",") if coding.strip()
            )
    if transfer_encoding:
        if http_version < b"1.1":
            version = http_version.decode("ascii", "replace")
            raise MessageRejected(400, f"Transfer-Encoding in an HTTP/{version} message")
        if content_length is not None:
            raise MessageRejected(400, "both Content-Length and Transfer-Encoding")
        if transfer_encoding.count(b"chunked") > 1:
            raise MessageRejected(400, "Transfer-Encoding applies chunked more than once")
        if transfer_encoding[-1] != b"chunked":
            raise MessageRejected(400, "Transfer-Encoding does not end in chunked")
        if len(transfer_encoding) > 1:
            # h11 decodes only plain chunked; anything layered under it would
            # be forwarded re-framed and misread by the next hop.
            raise MessageRejected(501, "only Transfer-Encoding: chunked is supported")


def has_body(headers: HeaderSeq) -> bool:
    """Whether a request's framing announces a body."""
    for name, value in headers:
        size = len(name)
        if size == 17 and name.lower() == b"transfer-encoding":
            return True
        if size == 14 and name.lower() == b"content-length" and value.strip() != b"0":
            return True
    return False


def check_connect(headers: HeaderSeq) -> None:
    """Refuse a CONNECT request that announces content.

    "A CONNECT request message does not have content" (RFC 9110 section
    9.3.6), yet request framing "is independent of method semantics" (RFC
    9112 section 6): a Content-Length or Transfer-Encoding on CONNECT frames
    bytes that one recipient reads as a body and a tunnel takes as its first
    bytes. ``Content-Length: 0``, which some clients send, frames nothing.
    """
    if has_body(headers):
        raise MessageRejected(400, "CONNECT request with content")


WEBSOCKET_SCHEMES = {"ws": "http", "wss": "https"}

_FRAMING = frozenset({b"content-length", b"transfer-encoding"})


def relayable_response_headers(status: int, raw_headers: HeaderSeq) -> HeaderSeq:
    """The fields of an upstream response (final or 1xx) to send on to the
    client: the forwardable ones, less Content-Length and Transfer-Encoding
    on a 1xx or 204 answer.

    "A server MUST NOT send a Content-Length header field in any response
    with a status code of 1xx (Informational) or 204 (No Content)" (RFC
    9112 section 6.2), nor Transfer-Encoding (section 6.1). Such answers end
    at their head whatever they say (section 6.3), so dropping the fields
    takes nothing from the client but a reason to misread the stream.
    """
    headers = forwardable_headers(raw_headers)
    if status >= 200 and status != 204:
        return headers
    return [(name, value) for name, value in headers if name.lower() not in _FRAMING]


def upgrade_request_headers(raw_headers: HeaderSeq) -> HeaderSeq:
    """The fields of a WebSocket upgrade request to send upstream: the
    forwardable ones, with its Upgrade field and ``Connection: Upgrade``
    kept end to end for this one exchange (RFC 6455 section 4.1)."""
    return [*forwardable_headers(raw_headers), *_upgrade_fields(raw_headers)]


def upgrade_response_headers(raw_headers: HeaderSeq) -> HeaderSeq:
    """The fields of a 101 answer to a WebSocket upgrade to send on to
    the client, its Upgrade and ``Connection: Upgrade`` kept."""
    return [*relayable_response_headers(101, raw_headers), *_upgrade_fields(raw_headers)]


def _upgrade_fields(raw_headers: HeaderSeq) -> list[tuple[bytes, bytes]]:
    upgrade = [(name, value) for name, value in raw_headers if name.lower() == b"upgrade"]
    return [*upgrade, (b"Connection", b"Upgrade")]


def find_header(headers: HeaderSeq, lower_name: bytes) -> bytes | None:
    """The first value of ``lower_name`` (given in lower case)."""
    size = len(lower_name)
    for name, value in headers:
        if len(name) == size and name.lower() == lower_name:
            return value
    return None


def check_head_size(headers: HeaderSeq, request_line_length: int) -> None:
    """Enforce the request line and header count limits."""
    if request_line_length > MAX_REQUEST_LINE:
        raise MessageRejected(414, f"request line longer than {MAX_REQUEST_LINE} bytes")
    if len(headers) > MAX_HEADER_LINES:
        raise MessageRejected(431, f"more than {MAX_HEADER_LINES} header fields")


def forwardable_headers(raw_headers: HeaderSeq) -> HeaderSeq:
    """Drop hop-by-hop fields, including any the Connection header names.

    ``raw_headers`` keep their original name case, which is forwarded as is.
    Content-Length and Transfer-Encoding are kept: the outgoing framing
    mirrors the incoming one.
    """
    named: set[bytes] = set()
    hop = False
    for name, value in raw_headers:
        if len(name) in _HOP_LENGTHS:
            lower = name.lower()
            if lower in HOP_BY_HOP:
                hop = True
                if lower == b"connection":
                    named.update(token.strip().lower() for token in value.split(b","))
    if not hop:
        return raw_headers
    drop = set(HOP_BY_HOP) | named
    drop.discard(b"content-length")
    drop.discard(b"transfer-encoding")
    drop.discard(b"host")
    return [(name, value) for name, value in raw_headers if name.lower() not in drop]


@dataclass(slots=True, frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    """Origin form: path and query, at least ``/``."""


def parse_absolute_target(target: str) -> Target:
    """Split an absolute-form request target (RFC 9112 section 3.2.2).

    Raises MessageRejected(400) for anything malformed and 501 for schemes
    other than http (a forward proxy reaches https only through CONNECT).
    """
    scheme, sep, rest = target.partition("://")
    if not sep:
        raise MessageRejected(400, f"request target is not an absolute URL: {_show(target)}")
    # A WebSocket URL names the same exchange as its http(s) twin
    # (RFC 6455 section 3); the flow shows it as a WebSocket once upgraded.
    scheme = WEBSOCKET_SCHEMES.get(scheme.lower(), scheme.lower())
    if scheme not in DEFAULT_PORTS:
        raise MessageRejected(501, f"unsupported scheme {_show(scheme)}")
    slash = len(rest)
    for char in "/?#":
        pos = rest.find(char)
        if pos != -1 and pos < slash:
            slash = pos
    authority, path = rest[:slash], rest[slash:]
    if "@" in authority:
        # Userinfo in a forwarded URL is deprecated (RFC 9110 section
        # 4.2.4) and a classic phishing disguise; refuse rather than guess.
        raise MessageRejected(400, "user information in the request target")
    host, port = split_authority(authority, DEFAULT_PORTS[scheme])
    path = path.partition("#")[0]
    if not path.startswith("/"):
        path = "/" + path
    return Target(scheme, host, port, path)


@functools.lru_cache(maxsize=4096)
def split_authority(authority: str, default_port: int | None) -> tuple[str, int]:
    """Split ``host[:port]`` (IPv6 literals in brackets). Raises
    MessageRejected(400) on an empty host, a bad port or a bad literal."""
    if authority.startswith("["):
        end = authority.find("]")
        if end == -1:
            raise MessageRejected(400, f"invalid authority {_show(authority)}")
        host, rest = authority[1:end], authority[end + 1 :]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise MessageRejected(400, f"invalid IPv6 address {_show(host)}") from None
        if rest and not rest.startswith(":"):
            raise MessageRejected(400, f"invalid authority {_show(authority)}")
        port_text = rest[1:] if rest else ""
    else:
        host, sep, port_text = authority.rpartition(":")
        if not sep:
            host, port_text = authority, ""
        elif not port_text:
            port_text = ""
    if not host or any(c in host for c in " \t/\\@[]") or not host.isascii():
        raise MessageRejected(400, f"invalid host {_show(host)}")
    if port_text == "":
        if default_port is None:
            raise MessageRejected(400, f"missing port in {_show(authority)}")
        return host.lower(), default_port
    if not port_text.isdigit() or not port_text.isascii() or not 0 < int(port_text) < 65536:
        raise MessageRejected(400, f"invalid port {_show(port_text)}")
    return host.lower(), int(port_text)


def _show(value: str | bytes, limit: int = 60) -> str:
    """A short printable rendering of untrusted input for error messages."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    text = value.encode("unicode_escape").decode("ascii")
    return repr(text[:limit] + ("..." if len(text) > limit else ""))
