"""Hiding secrets in traffic that leaves the app (HAR export, and later any
export or copy that shares a flow).

Redaction replaces values, never names: a reader still sees that a request
carried an ``Authorization`` header, a ``session`` cookie or a ``token``
query parameter, and every value that is not a secret stays byte for byte
(a query keeps its original percent-encoding). Secret values become
``MARKER``. What counts as a secret, matched case-insensitively:

- headers ``Authorization``, ``Proxy-Authorization``, ``Cookie``,
  ``Set-Cookie``, and any header whose name contains ``token``, ``secret``,
  ``api-key`` (or ``apikey``, ``api_key``) or ``auth``; HTTP/2
  pseudo-headers (``:authority`` names a host) are not;
- query and form parameters whose (decoded) names contain ``token``,
  ``key``, ``secret``, ``password``, ``session``, ``auth`` or ``sig``,
  wherever a URL or form appears: the URL itself, ``Referer``, ``Location``
  and ``Content-Location`` values, urlencoded and multipart bodies;
- the password of a URL's ``user:password@``.

The word lists err on hiding (``key`` also hides ``keyword``, ``auth``
also ``author``): a reader can ask for the export with secrets, but a
leaked token cannot be taken back. Every function here is pure.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from typing import Any

from inspector.core import forms

MARKER = "REDACTED"
"""What a secret value becomes: plain ASCII, so it stays valid in a URL,
a header, a cookie and a form."""

SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
SECRET_HEADER_WORDS = ("token", "secret", "api-key", "apikey", "api_key", "auth")
SECRET_PARAM_WORDS = ("token", "key", "secret", "password", "session", "sessid", "auth", "sig")
_HEADER_WORDS = re.compile("|".join(map(re.escape, SECRET_HEADER_WORDS)))
_PARAM_WORDS = re.compile("|".join(map(re.escape, SECRET_PARAM_WORDS)))
URL_HEADERS = frozenset({"referer", "location", "content-location"})
"""Headers whose value is a URL, redacted as one."""


def is_secret_header(name: str) -> bool:
    lower = name.lower()
    if lower.startswith(":"):
        return False
    return lower in SECRET_HEADERS or _HEADER_WORDS.search(lower) is not None


def is_secret_param(name: str) -> bool:
    """Whether a query or form parameter named ``name`` (decoded) holds a secret."""
    return _PARAM_WORDS.search(name.lower()) is not None


def redact_header(name: str, value: str) -> str:
    """The value to show for header ``name``: the marker for a secret
    header, the URL redacted for a header holding one, else ``value``."""
    if is_secret_header(name):
        return MARKER
    if name.lower() in URL_HEADERS:
        return redact_url(value)
    return value


def redact_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, redact_header(name, value)) for name, value in headers]


def redact_params(params: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Decoded ``(name, value)`` parameters with secret values replaced."""
    return [(name, MARKER if is_secret_param(name) else value) for name, value in params]


def redact_query(query: str) -> str:
    """A raw query string (or urlencoded form) with secret values replaced
    and everything else, encoding included, as it was."""
    if "=" not in query:
        return query
    pieces = query.split("&")
    for index, piece in enumerate(pieces):
        name, equals, _ = piece.partition("=")
        if equals and is_secret_param(forms.unquote(name)):
            pieces[index] = f"{name}={MARKER}"
    return "&".join(pieces)


def redact_url(url: str) -> str:
    """``url`` (absolute or relative) with a userinfo password and secret
    query values replaced; a fragment is treated like a query, since
    OAuth's implicit flow puts ``access_token`` there."""
    rest, hash_mark, fragment = url.partition("#")
    rest, question, query = rest.partition("?")
    result = _redact_password(rest)
    if question:
        result += "?" + redact_query(query)
    if hash_mark:
        result += "#" + redact_query(fragment)
    return result


def _redact_password(url: str) -> str:
    scheme_end = url.find("//")
    if scheme_end < 0:
        return url
    start = scheme_end + 2
    end = url.find("/", start)
    if end < 0:
        end = len(url)
    userinfo, at, hostport = url[start:end].rpartition("@")
    user, colon, _ = userinfo.partition(":")
    if not at or not colon:
        return url
    return f"{url[:start]}{user}:{MARKER}@{hostport}{url[end:]}"


def redact_multipart(body: bytes, boundary: bytes) -> bytes:
    """A multipart form body with the content of secret fields replaced."""
    marker = MARKER.encode()
    pieces = []
    at = 0
    for part in forms.multipart_parts(body, boundary):
        if part.name is not None and is_secret_param(part.name):
            pieces += [body[at : part.start], marker]
            at = part.end
    if not pieces:
        return body
    pieces.append(body[at:])
    return b"".join(pieces)


def redact_form(text: str, content_type: str) -> str:
    """A form body as text, with secret field values replaced; bodies of
    other media types are returned unchanged."""
    if forms.media_type(content_type) == forms.URLENCODED:
        return redact_query(text)
    boundary = forms.boundary(content_type)
    if boundary is None:
        return text
    return forms.text(redact_multipart(text.encode("utf-8"), boundary))


def redact_form_bytes(body: bytes, content_type: str) -> bytes:
    """``redact_form`` for a body as bytes."""
    if forms.media_type(content_type) == forms.URLENCODED:
        return redact_query(body.decode("latin-1")).encode("latin-1")
    boundary = forms.boundary(content_type)
    return body if boundary is None else redact_multipart(body, boundary)


def redact_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A HAR entry with every secret above replaced: URLs, headers, cookie
    values, query strings, posted data and the redirect URL. Response
    content and WebSocket messages are left as they are. Works on entries
    read from other tools too, so missing fields are tolerated."""
    result = dict(entry)
    request = entry.get("request")
    if isinstance(request, Mapping):
        changed = dict(request)
        changed["url"] = redact_url(str(request.get("url", "")))
        changed["headers"] = _headers(request.get("headers"))
        changed["cookies"] = _cookies(request.get("cookies"))
        changed["queryString"] = _params(request.get("queryString"))
        post = request.get("postData")
        if isinstance(post, Mapping):
            changed["postData"] = _post_data(post)
        result["request"] = changed
    response = entry.get("response")
    if isinstance(response, Mapping):
        changed = dict(response)
        changed["headers"] = _headers(response.get("headers"))
        changed["cookies"] = _cookies(response.get("cookies"))
        changed["redirectURL"] = redact_url(str(response.get("redirectURL", "")))
        result["response"] = changed
    return result


def _headers(headers: Any) -> list[Any]:
    return [
        {**h, "value": redact_header(str(h.get("name", "")), str(h.get("value", "")))}
        if isinstance(h, Mapping)
        else h
        for h in headers or ()
    ]


def _cookies(cookies: Any) -> list[Any]:
    return [{**c, "value": MARKER} if isinstance(c, Mapping) else c for c in cookies or ()]


def _params(params: Any) -> list[Any]:
    return [
        {**p, "value": MARKER}
        if isinstance(p, Mapping) and "value" in p and is_secret_param(str(p.get("name", "")))
        else p
        for p in params or ()
    ]


def _post_data(post: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(post)
    if "params" in post:
        result["params"] = _params(post["params"])
    body = post.get("text")
    content_type = str(post.get("mimeType", ""))
    if not isinstance(body, str) or not body:
        return result
    if post.get("_encoding") != "base64":
        result["text"] = redact_form(body, content_type)
        return result
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return result
    result["text"] = base64.b64encode(redact_form_bytes(raw, content_type)).decode("ascii")
    return result
