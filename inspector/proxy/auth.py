"""Proxy authentication: with ``--auth USER:PASS`` every request a client
sends to the proxy, CONNECT included, must carry those credentials in a
``Proxy-Authorization: Basic`` header (RFC 9110 section 11.7.1, RFC 7617),
or it is answered 407 with a ``Proxy-Authenticate`` challenge.

Credentials are compared in constant time: both sides are hashed first, so
``hmac.compare_digest`` sees equal lengths and neither the length nor any
prefix of the password leaks through timing. The header is consumed here:
it is hop-by-hop (``http_rules.HOP_BY_HOP``), never forwarded, and flows
keep only a redacted copy.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac

from inspector.core.flow import Headers, HeaderSeq
from inspector.core.http_rules import find_header

REALM = "Inspector"
CHALLENGE: tuple[bytes, bytes] = (b"Proxy-Authenticate", f'Basic realm="{REALM}"'.encode())
REDACTED = b"[redacted]"


def parse_credentials(text: str) -> str:
    """Check ``USER:PASS`` (the password may contain colons, the user may
    not, as RFC 7617 section 2 requires); ValueError when malformed."""
    user, sep, _password = text.partition(":")
    if not sep or not user:
        raise ValueError("--auth takes USER:PASS")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise ValueError("--auth must not contain control characters")
    return text


@functools.lru_cache(maxsize=4)
def _digest(credentials: str) -> bytes:
    return hashlib.sha256(credentials.encode("utf-8")).digest()


def is_authorized(headers: HeaderSeq, credentials: str) -> bool:
    """Whether ``headers`` carry ``credentials`` (``USER:PASS``) as Basic
    proxy authorization."""
    value = find_header(headers, b"proxy-authorization")
    if value is None:
        return False
    scheme, _, token = value.strip().partition(b" ")
    if scheme.lower() != b"basic":
        return False
    try:
        given = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(hashlib.sha256(given).digest(), _digest(credentials))


def redact(headers: HeaderSeq) -> HeaderSeq:
    """``headers`` with proxy credentials replaced, the scheme kept, for
    recording on a flow (what the user sees and exports)."""
    if find_header(headers, b"proxy-authorization") is None:
        return headers
    redacted: Headers = []
    for name, value in headers:
        if name.lower() == b"proxy-authorization":
            scheme = value.strip().partition(b" ")[0]
            value = scheme + b" " + REDACTED if scheme else REDACTED
        redacted.append((name, value))
    return redacted
