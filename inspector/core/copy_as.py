"""A flow's request as code to send it again, and its messages as raw text:
the flow table's "Copy as" menu.

Each generator is pure and binary-safe: a body that is not printable UTF-8
text is written so every byte survives (a ``printf`` of octal escapes piped
into HTTPie, a ``bytes`` literal for Python, a ``Uint8Array`` for fetch).
Headers the tool computes itself (Host from the URL, Content-Length,
Transfer-Encoding, hop-by-hop headers) are left out, and proxy credentials
are never exported, as ``core.curl.as_curl`` does; Host is kept when it
differs from the URL's.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable

from inspector.core.curl import as_curl, headers_to_send, printable_text, printf_format
from inspector.core.flow import Flow, Message, Request, Response

_TRUNCATED = "the body was cut at the capture limit"


def _one_each(headers: list[tuple[str, str]]) -> dict[str, str]:
    """Headers as a map of one value a name: repeated headers join with
    commas (RFC 9110 section 5.3)."""
    merged: dict[str, str] = {}
    for name, value in headers:
        merged[name] = f"{merged[name]}, {value}" if name in merged else value
    return merged


def as_httpie(flow: Flow) -> str:
    request = flow.request
    parts = ["http"]
    text = printable_text(request.body) if request.body else None
    if text is not None:
        parts += ["--raw", shlex.quote(text)]
    parts += [shlex.quote(request.method), shlex.quote(request.url)]
    for name, value in headers_to_send(request):
        # HTTPie's "Name:value" item; an empty value needs "Name;".
        item = f"{name}:{value}" if value else f"{name};"
        parts.append(shlex.quote(item))
    command = " ".join(parts)
    if request.body and text is None:
        command = f"printf {printf_format(request.body)} | {command}"
    if request.body_truncated:
        command = f"# {_TRUNCATED}\n{command}"
    return command


def as_requests(flow: Flow) -> str:
    """A Python script using ``requests``."""
    request = flow.request
    headers = headers_to_send(request)
    lines = ["import requests", ""]
    if request.body_truncated:
        lines.append(f"# {_TRUNCATED}")
    lines += ["response = requests.request(", f"    {request.method!r},", f"    {request.url!r},"]
    if headers:
        lines.append("    headers={")
        lines += [f"        {name!r}: {value!r}," for name, value in _one_each(headers).items()]
        lines.append("    },")
    if request.body:
        text = printable_text(request.body)
        if text is not None:
            lines.append(f"    data={text!r}.encode(),")
        else:
            lines.append(f"    data={request.body!r},")
    lines += ["    allow_redirects=False,", ")", "print(response.status_code)", ""]
    return "\n".join(lines)


def as_fetch(flow: Flow) -> str:
    """JavaScript ``fetch``, for a browser console or Node."""
    request = flow.request
    headers = headers_to_send(request)
    lines = []
    if request.body_truncated:
        lines.append(f"// {_TRUNCATED}")
    lines += [
        f"await fetch({json.dumps(request.url)}, {{",
        f"  method: {json.dumps(request.method)},",
    ]
    if headers:
        lines.append("  headers: {")
        merged = _one_each(headers)
        lines += [f"    {json.dumps(name)}: {json.dumps(value)}," for name, value in merged.items()]
        lines.append("  },")
    if request.body:
        text = printable_text(request.body)
        if text is not None:
            lines.append(f"  body: {json.dumps(text, ensure_ascii=False)},")
        else:
            numbers = ", ".join(str(b) for b in request.body)
            lines.append(f"  body: new Uint8Array([{numbers}]),")
    lines += ['  redirect: "manual",', "});", ""]
    return "\n".join(lines)


def head(message: Message) -> bytes:
    """Start line and header lines as captured, CRLF-ended, and the empty
    line (RFC 9112 section 2.1)."""
    if isinstance(message, Request):
        first = f"{message.method} {message.target} HTTP/{message.version}"
    else:
        assert isinstance(message, Response)
        reason = f" {message.reason}" if message.reason else ""
        first = f"HTTP/{message.version} {message.status}{reason}"
    lines = [first.encode("latin-1")]
    lines.extend(name + b": " + value for name, value in message.headers)
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _raw(headers_block: bytes, body: bytes, truncated: bool) -> str:
    text = printable_text(body) if body else ""
    shown = f"[{len(body):,} bytes of binary body]" if text is None else text
    note = f"\n[{_TRUNCATED}]" if truncated else ""
    return headers_block.decode("latin-1") + shown + note


def raw_request(flow: Flow) -> str:
    """The request's start line, headers and body as text (a binary body
    is named, not pasted: the clipboard holds text)."""
    request = flow.request
    return _raw(head(request), request.body, request.body_truncated)


def raw_response(flow: Flow) -> str | None:
    """The response as ``raw_request`` writes the request; None without one."""
    response = flow.response
    if response is None:
        return None
    return _raw(head(response), response.body, response.body_truncated)


GENERATORS: dict[str, Callable[[Flow], str | None]] = {
    "curl": as_curl,
    "httpie": as_httpie,
    "requests": as_requests,
    "fetch": as_fetch,
    "raw_request": raw_request,
    "raw_response": raw_response,
}
"""Each "Copy as" kind and what makes it."""

LABELS = {
    "curl": "cURL",
    "httpie": "HTTPie",
    "requests": "Python requests",
    "fetch": "JavaScript fetch",
    "raw_request": "Raw request",
    "raw_response": "Raw response",
}
