"""Edits made to a flow held at a breakpoint, checked and applied.

An edit comes as the ``resume`` request's arguments (docs/protocol.md):
method, URL, a whole new header list or headers set and removed one by
one, a body, and for a response its status and reason. ``edit_from_wire``
checks every field before anything is applied, so an invalid edit (a
header name with a space, a status of 1000) is refused whole and nothing
is sent.

A body is edited decoded: the new body is encoded again with the
Content-Encoding the message ends up with (gzip, deflate, br, zstd), or
sent as is when that header was removed (``encoding: "remove"`` removes
it). Whenever the body is replaced, Content-Length is set to its length
and Transfer-Encoding dropped.
"""

from __future__ import annotations

import gzip
import re
import zlib
from dataclasses import dataclass, field
from typing import Any

import brotli
import zstandard

from inspector.core.decode import parse_encodings
from inspector.core.flow import Headers, authority, bracketed
from inspector.core.http_rules import MessageRejected, Target, find_header, parse_absolute_target

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FIELD_VALUE = re.compile(rb"[^\x00\r\n]*")
MAX_REASON = 200


class EditError(ValueError):
    """An edit that cannot be sent; the message says which field and why."""


@dataclass(slots=True)
class Edit:
    method: str | None = None
    url: str | None = None
    headers: Headers | None = None
    """A whole new header list, in order."""
    set_headers: Headers = field(default_factory=list)
    """Each replaces every header of its name (or is added)."""
    remove_headers: list[bytes] = field(default_factory=list)
    body: bytes | None = None
    """The new body, decoded."""
    remove_encoding: bool = False
    status: int | None = None
    reason: str | None = None

    @property
    def empty(self) -> bool:
        return self == Edit()


def edit_from_wire(args: dict[str, Any], phase: str) -> Edit:
    """The edit in ``resume``'s arguments; raises EditError."""
    edit = Edit()
    method = args.get("method")
    if method is not None:
        if phase != "request":
            raise EditError("the method can only be changed on a request")
        if not isinstance(method, str) or not _TOKEN.fullmatch(method.encode("latin-1", "replace")):
            raise EditError(f"invalid method {method!r}: a method is one word of letters")
        if method.upper() == "CONNECT":
            raise EditError("a request cannot be turned into CONNECT")
        edit.method = method
    url = args.get("url")
    if url is not None:
        if phase != "request":
            raise EditError("the URL can only be changed on a request")
        if not isinstance(url, str):
            raise EditError("the URL must be text")
        target_of(url)
        edit.url = url
    if "headers" in args:
        edit.headers = _header_list(args["headers"], "headers")
    edit.set_headers = _header_list(args.get("set_headers", []), "set_headers")
    removed = args.get("remove_headers", [])
    if not isinstance(removed, list | tuple) or not all(isinstance(n, bytes) for n in removed):
        raise EditError("'remove_headers' must be a list of header names")
    for name in removed:
        _check_name(name)
    edit.remove_headers = list(removed)
    body = args.get("body")
    if body is not None and not isinstance(body, bytes):
        raise EditError("the body must be bytes")
    edit.body = body
    encoding = args.get("encoding", "keep")
    if encoding not in ("keep", "remove"):
        raise EditError("'encoding' must be keep or remove")
    edit.remove_encoding = encoding == "remove"
    status, reason = args.get("status"), args.get("reason")
    if (status is not None or reason is not None) and phase != "response":
        raise EditError("status and reason can only be changed on a response")
    if status is not None:
        if type(status) is not int or not 200 <= status <= 999:
            raise EditError(f"invalid status {status!r}: a final status is 200 to 999")
        edit.status = status
    if reason is not None:
        if (
            not isinstance(reason, str)
            or len(reason) > MAX_REASON
            or not _FIELD_VALUE.fullmatch(reason.encode("latin-1", "replace"))
            or "\t" in reason
        ):
            raise EditError("invalid reason: one line of text")
        edit.reason = reason
    return edit


def target_of(url: str) -> Target:
    """The target an edited URL names; EditError unless absolute http(s)."""
    lower = url.lower()
    if not lower.startswith(("http://", "https://")):
        raise EditError(f"invalid URL {url[:80]!r}: it must start with http:// or https://")
    if any(c in url for c in " \r\n\t\x00"):
        raise EditError("invalid URL: it contains spaces or control characters")
    try:
        return parse_absolute_target(url)
    except MessageRejected as exc:
        raise EditError(f"invalid URL: {exc.message}") from None


def _header_list(value: Any, name: str) -> Headers:
    if not isinstance(value, list | tuple):
        raise EditError(f"'{name}' must be a list of [name, value] pairs")
    headers: Headers = []
    for pair in value:
        if (
            not isinstance(pair, list | tuple)
            or len(pair) != 2
            or not all(isinstance(part, bytes) for part in pair)
        ):
            raise EditError(f"'{name}' must be a list of [name, value] pairs")
        header_name, header_value = pair
        _check_name(header_name)
        if not _FIELD_VALUE.fullmatch(header_value):
            raise EditError(
                f"header {header_name.decode('latin-1')}: a value cannot hold line breaks or NUL"
            )
        headers.append((header_name, header_value.strip(b" \t")))
    return headers


def _check_name(name: bytes) -> None:
    if not _TOKEN.fullmatch(name):
        shown = name.decode("latin-1", "replace")[:60]
        raise EditError(f"invalid header name {shown!r}: letters, digits and -, no spaces")


def apply_headers(edit: Edit, headers: Headers) -> Headers:
    """The header list after ``edit``'s header changes."""
    result = list(edit.headers) if edit.headers is not None else list(headers)
    removed = {name.lower() for name in edit.remove_headers}
    removed |= {name.lower() for name, _ in edit.set_headers}
    if removed:
        result = [(n, v) for n, v in result if n.lower() not in removed]
    result.extend(edit.set_headers)
    if edit.remove_encoding:
        result = [(n, v) for n, v in result if n.lower() != b"content-encoding"]
    return result


def with_body(headers: Headers, body: bytes) -> tuple[Headers, bytes]:
    """Encode ``body`` (decoded) with the headers' Content-Encoding and
    frame it with Content-Length; EditError for an encoding that cannot
    be applied."""
    encoded = body
    for name in parse_encodings(find_header(headers, b"content-encoding")):
        encoder = _ENCODERS.get(name)
        if encoder is None:
            raise EditError(
                f"cannot encode the body as {name!r}; remove the Content-Encoding header"
            )
        encoded = encoder(encoded)
    return framed(headers, len(encoded)), encoded


def target_authority(target: Target) -> str:
    """``host[:port]`` of ``target``, the port left out where it is the
    scheme's own."""
    default = {"http": 80, "https": 443}.get(target.scheme)
    if target.port == default:
        return bracketed(target.host)
    return authority(target.host, target.port)


def with_host(headers: Headers, target: Target) -> Headers:
    """``headers`` with Host naming ``target`` (first), any other Host gone."""
    kept = [(n, v) for n, v in headers if n.lower() != b"host"]
    return [(b"Host", target_authority(target).encode("ascii")), *kept]


def framed(headers: Headers, length: int) -> Headers:
    """``headers`` with Content-Length ``length`` and no Transfer-Encoding."""
    kept = [
        (n, v) for n, v in headers if n.lower() not in (b"content-length", b"transfer-encoding")
    ]
    return [*kept, (b"Content-Length", str(length).encode("ascii"))]


_ENCODERS = {
    "gzip": lambda data: gzip.compress(data, mtime=0),
    "x-gzip": lambda data: gzip.compress(data, mtime=0),
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


def changes(edit: Edit, body_changed: bool) -> str:
    """What ``edit`` changed, for the flow's record (``method, URL, body``)."""
    parts = []
    if edit.method is not None:
        parts.append("method")
    if edit.url is not None:
        parts.append("URL")
    if edit.status is not None or edit.reason is not None:
        parts.append("status")
    if edit.headers is not None or edit.set_headers or edit.remove_headers or edit.remove_encoding:
        parts.append("headers")
    if body_changed:
        parts.append("body")
    return ", ".join(parts)
