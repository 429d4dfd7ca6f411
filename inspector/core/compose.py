"""A request written by hand, checked and made ready to send.

The composer (and ``inspector ctl``) hand the engine a method, an absolute
URL, headers in order and a body; ``composed_request`` says in one line
what is wrong with them (``ComposeError``), or returns the request as it
will go out: the framing is the proxy's to decide, so any Content-Length
or Transfer-Encoding given is dropped and Content-Length recomputed from
the body, and Host is added from the URL when absent. The window runs the
same checks as the user types, so what it flags is exactly what the engine
would refuse.
"""

from __future__ import annotations

import re

from inspector.core.flow import Request, bracketed
from inspector.core.http_rules import MessageRejected, Target, parse_absolute_target
from inspector.core.websocket import is_websocket_upgrade

TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
"""RFC 9110 section 5.6.2: ``token = 1*tchar``, for methods and field names."""
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
"""Methods that usually carry content: they get ``Content-Length: 0``
even with an empty body, as curl and browsers send them (RFC 9110 section
8.6: a user agent SHOULD send it when the method defines a meaning for
content)."""
_FRAMING = frozenset({b"content-length", b"transfer-encoding"})
_BAD_VALUE = re.compile(rb"[\r\n\x00]")


class ComposeError(ValueError):
    """What is wrong with a composed request, in one line."""


def check_method(method: str) -> None:
    if not TOKEN.fullmatch(method):
        raise ComposeError(f"the method {method!r} is not an HTTP token (letters, digits, -._~…)")
    if method.upper() == "CONNECT":
        raise ComposeError("CONNECT opens a tunnel and cannot be composed")


def check_url(url: str) -> Target:
    """The URL's parts; it must be absolute, http or https."""
    scheme, sep, _rest = url.partition("://")
    if not sep or not scheme:
        raise ComposeError(f"the URL {url!r} is not absolute (http://host/path)")
    if scheme.lower() not in ("http", "https"):
        raise ComposeError(f"the URL's scheme {scheme!r} is not http or https")
    for position, char in enumerate(url):
        if char.isspace() or not char.isprintable() or not char.isascii():
            raise ComposeError(
                f"the URL has {char!r} at position {position + 1}: percent-encode it"
            )
    try:
        return parse_absolute_target(url)
    except MessageRejected as exc:
        raise ComposeError(f"the URL is not valid: {exc.message}") from None


def check_header(name: bytes, value: bytes) -> None:
    shown = name.decode("latin-1")
    if not TOKEN.fullmatch(shown):
        raise ComposeError(f"the header name {shown!r} is not a token (no spaces or ':')")
    if _BAD_VALUE.search(value):
        raise ComposeError(f"the {shown} header's value holds a line break or NUL")


def composed_request(
    method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes
) -> tuple[Request, Target]:
    """The request as it goes out, and where to. Raises ComposeError."""
    check_method(method)
    target = check_url(url)
    for name, value in headers:
        check_header(name, value)
    if is_websocket_upgrade(headers):
        raise ComposeError("a WebSocket upgrade cannot be composed")
    kept = [(n, v) for n, v in headers if n.lower() not in _FRAMING]
    if not any(n.lower() == b"host" for n, _ in kept):
        kept.insert(0, (b"Host", _host(target).encode("ascii")))
    if body or method.upper() in BODY_METHODS:
        kept.append((b"Content-Length", str(len(body)).encode("ascii")))
    request = Request(
        method=method,
        scheme=target.scheme,
        host=target.host,
        port=target.port,
        target=target.path,
        headers=kept,
        body=body,
        body_size=len(body),
    )
    return request, target


def _host(target: Target) -> str:
    """The Host field for ``target``: the port left out where it is the
    scheme's own (RFC 9110 section 7.2)."""
    default = 443 if target.scheme == "https" else 80
    host = bracketed(target.host)
    return host if target.port == default else f"{host}:{target.port}"
