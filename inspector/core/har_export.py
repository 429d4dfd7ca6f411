"""HAR 1.2 export: flows written as an HTTP Archive, one entry at a time.

``write_har`` streams: it writes the ``log`` head, then each flow's entry as
it is made, then the closing brackets, so exporting a million flows holds
one entry in memory, never the document. Entries follow the HAR 1.2 spec
(http://www.softwareishard.com/blog/har-12-spec/) and, where the spec is
silent, what Chrome writes, since most readers were tested on Chrome's
files. Fields of our own start with ``_``, as the spec asks. Entries come
in the order given (the spec prefers oldest first: flow ids are).

Choices a reader may want to know:

- CONNECT flows are not entries. A tunnel is not an HTTP exchange a HAR
  reader can show or replay; Chrome and Firefox never write one. Requests
  made inside an intercepted tunnel are flows of their own and are
  exported; the bytes of a passthrough tunnel are not in the file.
- Bodies are decoded (Content-Encoding undone) as the spec asks:
  ``content.size`` is the decoded size, ``compression`` the bytes saved
  and ``bodySize`` the size on the wire. Text in its charset becomes
  text; anything else is base64 with ``encoding: "base64"``. Posted
  bodies that are not text are base64 too, marked ``_encoding: "base64"``
  (HAR 1.2 has no ``postData.encoding``).
- ``postData`` carries ``text`` and, for urlencoded and multipart forms,
  ``params`` as well, as Chrome, Firefox and mitmproxy write it (the spec
  calls the two exclusive, but readers replay from ``text``).
- A body cut at the capture limit says so: ``_truncated: true`` and a
  comment with the sizes. A flow with no response has status 0; a failed
  flow's response carries ``_error`` (the message, a string as in Chrome's
  files) and ``_errorKind``.
- A WebSocket's entry is its upgrade request (a ``ws://`` or ``wss://``
  URL) and 101 answer, with ``_resourceType: "websocket"`` and
  ``_webSocketMessages`` as Chrome writes them: ``{type: "send" |
  "receive", time, opcode, data}``, time in epoch seconds, text frames as
  text and every other opcode as base64 of the payload (a close frame's
  code included), as in Chrome's protocol. The entry's timings end at the
  101; the socket's life is in its messages.
- Timings: ``dns``, ``connect`` (TLS included, as the spec asks) and
  ``ssl`` for a new upstream connection, -1 for a reused one; ``send``,
  ``wait`` and ``receive`` from the flow's stamps. Time not accounted for
  by a failed flow goes to the phase it failed in (``blocked`` before any
  connection, as Chrome does).
- Secrets are redacted unless asked for (``core.redact``).
"""

from __future__ import annotations

import base64
import codecs
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO

from inspector import __version__
from inspector.core import forms
from inspector.core.bodyview import BodyKind, charset, classify, media_type
from inspector.core.cookies import SetCookie, cookie_pairs, parse_set_cookie
from inspector.core.decode import DecodeError, decode_body, parse_encodings
from inspector.core.flow import Flow, HeaderSeq, Message, url
from inspector.core.redact import redact_entry
from inspector.core.websocket import CLOSE, TEXT, UP, WsMessage

Entry = dict[str, Any]

HAR_VERSION = "1.2"
_PRINTABLE = re.compile(r"[\x21-\x7e]*")
UNKNOWN_MIME = "x-unknown"
"""``content.mimeType`` when the response named none (Chrome's word)."""


def write_har(
    flows: Iterable[Flow],
    out: BinaryIO,
    *,
    include_secrets: bool = False,
    creator: tuple[str, str] = ("Inspector", __version__),
) -> int:
    """Write ``flows`` to the binary stream ``out`` as a HAR 1.2 document
    in UTF-8, and return the number of entries written (CONNECT flows are
    skipped). ``out`` is binary so the encoding is always the one the spec
    requires, whatever opened the file; wrap it (``gzip.open``) to compress.
    """
    name, version = creator
    out.write(
        b'{\n  "log": {\n    "version": '
        + _json(HAR_VERSION)
        + b',\n    "creator": '
        + _json({"name": name, "version": version})
        + b',\n    "pages": [],\n    "entries": ['
    )
    count = 0
    for flow in flows:
        entry = har_entry(flow, include_secrets=include_secrets)
        if entry is None:
            continue
        out.write((b",\n      " if count else b"\n      ") + _json(entry))
        count += 1
    out.write(b"\n    ]\n  }\n}\n" if count else b"]\n  }\n}\n")
    return count


def _json(value: Any) -> bytes:
    # A lone surrogate (text read from another tool's file may hold one) has
    # no UTF-8 form; "backslashreplace" writes it as the JSON escape \udXXX,
    # which a JSON reader takes back as the same character.
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8", "backslashreplace")


def is_tunnel(flow: Flow) -> bool:
    return flow.tunnel is not None or flow.request.method == "CONNECT"


def har_entry(flow: Flow, *, include_secrets: bool = False) -> Entry | None:
    """The HAR entry for ``flow`` (None for a CONNECT flow), redacted
    unless ``include_secrets``."""
    if is_tunnel(flow):
        return None
    timings = har_timings(flow)
    entry: Entry = {
        "startedDateTime": _iso(flow.t_start),
        "time": round(sum(v for k, v in timings.items() if k != "ssl" and v > 0), 3),
        "request": _request(flow),
        "response": _response(flow),
        "cache": {},
        "timings": timings,
    }
    if flow.upstream_addr is not None and flow.upstream_addr[0]:
        # Without brackets, as Chrome writes IPv6 (RFC 4291 section 2.2).
        entry["serverIPAddress"] = flow.upstream_addr[0]
    if flow.client_addr[1]:
        # The client's port names its connection to us (the spec allows it).
        entry["connection"] = str(flow.client_addr[1])
    ws = flow.websocket
    if ws is not None:
        entry["_resourceType"] = "websocket"
        entry["_webSocketMessages"] = [_ws_message(m) for m in ws.messages]
        if ws.dropped:
            entry["comment"] = f"the first {ws.dropped:,} WebSocket messages were not kept"
    return entry if include_secrets else redact_entry(entry)


# Timings


def har_timings(flow: Flow) -> dict[str, float]:
    """The entry's ``timings`` in milliseconds, -1 where a phase did not
    happen: DNS, connect and TLS only for a new upstream connection."""
    timings: dict[str, float] = {"blocked": -1, "dns": -1, "connect": -1, "ssl": -1}
    at = flow.t_start
    ready = flow.t_upstream_connected
    if ready is not None:
        if flow.t_dns is not None:
            timings["dns"], at = _span(at, flow.t_dns)
        tcp = flow.t_connected
        if tcp is not None and _tls(flow):
            timings["ssl"] = _span(max(at, tcp), ready)[0]
        timings["connect"], at = _span(at, ready)
    send = wait = receive = 0.0
    if flow.t_request_sent is not None:
        send, at = _span(at, flow.t_request_sent)
    if flow.t_response_start is not None:
        wait, at = _span(at, flow.t_response_start)
    if flow.t_end is not None and flow.websocket is None:
        # A WebSocket's entry is its handshake; its life is in its messages.
        rest = _span(at, flow.t_end)[0]
        if flow.t_response_start is not None:
            receive = rest
        elif flow.t_request_sent is not None:
            wait += rest
        elif ready is not None:
            send += rest
        else:
            timings["blocked"] = rest
    timings.update(send=send, wait=wait, receive=receive)
    return timings


def _span(start: float, end: float) -> tuple[float, float]:
    """Milliseconds from ``start`` to ``end`` (never negative: stamps from
    two sources may cross) and the later of the two."""
    end = max(start, end)
    elapsed = (end - start) * 1000
    return (round(elapsed, 3) if math.isfinite(elapsed) else 0.0), end


def _tls(flow: Flow) -> bool:
    return flow.upstream_tls is not None or flow.request.scheme == "https"


def _iso(stamp: float) -> str:
    try:
        moment = datetime.fromtimestamp(stamp, UTC)
    except (OverflowError, OSError, ValueError):
        moment = datetime.fromtimestamp(0, UTC)
    return moment.isoformat(timespec="milliseconds")


# Request and response


def _request(flow: Flow) -> Entry:
    request = flow.request
    wire_target = request.target.partition("#")[0]
    target = _url_target(wire_target)
    scheme = request.scheme
    if flow.websocket is not None:
        scheme = "wss" if flow.websocket.tls else "ws"
    query = target.partition("?")[2]
    version = _version(request.version)
    result: Entry = {
        "method": request.method,
        "url": url(scheme, request.host, request.port, target),
        "httpVersion": version,
        "cookies": _request_cookies(request.headers),
        "headers": _headers(request.headers),
        "queryString": [{"name": n, "value": v} for n, v in forms.parse_urlencoded(query)],
        "headersSize": -1
        if flow.imported
        else _head_size(f"{request.method} {wire_target} {version}", request.headers),
        "bodySize": request.body_size,
    }
    if request.body_size or request.body:
        result["postData"] = _post_data(request, flow.bodies_dropped)
    return result


def _post_data(request: Message, dropped: bool) -> Entry:
    content_type = _header(request, b"content-type")
    body = _body(request, dropped)
    post: Entry = {"mimeType": content_type, "text": body.text or ""}
    if body.base64:
        post["_encoding"] = "base64"
    if body.text is not None:
        params = _form_params(body.data, content_type)
        if params is not None:
            post["params"] = params
    if body.truncated:
        post["_truncated"] = True
    if body.notes:
        post["comment"] = "; ".join(body.notes)
    return post


def _form_params(data: bytes, content_type: str) -> list[Entry] | None:
    if forms.media_type(content_type) == forms.URLENCODED:
        return [{"name": n, "value": v} for n, v in forms.parse_urlencoded(forms.text(data))]
    boundary = forms.boundary(content_type)
    if boundary is None:
        return None
    params = []
    for part in forms.multipart_parts(data, boundary):
        if part.name is None:
            continue
        param: Entry = {"name": part.name}
        if part.filename is None:
            param["value"] = forms.text(data[part.start : part.end])
        else:
            param["fileName"] = part.filename
            if part.content_type:
                param["contentType"] = part.content_type
        params.append(param)
    return params


def _response(flow: Flow) -> Entry:
    response = flow.response
    result: Entry
    if response is None:
        result = {
            "status": 0,
            "statusText": "",
            "httpVersion": "",
            "cookies": [],
            "headers": [],
            "content": {"size": 0, "mimeType": UNKNOWN_MIME},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
        }
        if flow.error is None:
            result["comment"] = "no response yet"
    else:
        body = _body(response, flow.bodies_dropped)
        mime = _header(response, b"content-type") or UNKNOWN_MIME
        content: Entry = {"size": body.size, "mimeType": mime}
        if body.compression is not None:
            content["compression"] = body.compression
        if body.text is not None:
            content["text"] = body.text
        if body.base64:
            content["encoding"] = "base64"
        if body.truncated:
            content["_truncated"] = True
        if body.notes:
            content["comment"] = "; ".join(body.notes)
        version = _version(response.version)
        result = {
            "status": response.status,
            "statusText": _wire_text(response.reason),
            "httpVersion": version,
            "cookies": _response_cookies(response.headers, flow.t_response_start or flow.t_start),
            "headers": _headers(response.headers),
            "content": content,
            "redirectURL": _header(response, b"location"),
            "headersSize": -1
            if flow.imported
            else _head_size(f"{version} {response.status} {response.reason}", response.headers),
            "bodySize": response.body_size,
        }
    if flow.error is not None:
        result["_error"] = flow.error.message
        result["_errorKind"] = flow.error.kind
        result["comment"] = f"failed ({flow.error.kind}): {flow.error.message}"
    return result


def _url_target(target: str) -> str:
    """The request target as a URL holds it: bytes outside printable ASCII
    (some clients send them raw) percent-encoded, so the URL is valid and
    decodes to the bytes that were sent. The proxy read the target as
    latin-1; an imported one may hold any character, taken as UTF-8."""
    if _PRINTABLE.fullmatch(target):
        return target
    try:
        raw = target.encode("latin-1")
    except UnicodeEncodeError:
        raw = target.encode("utf-8", "surrogatepass")
    return "".join(chr(b) if 0x20 < b < 0x7F else f"%{b:02X}" for b in raw)


def _wire_text(value: str) -> str:
    """Text the proxy read as latin-1 (a reason phrase), shown as UTF-8
    where its bytes are UTF-8."""
    try:
        return forms.text(value.encode("latin-1"))
    except UnicodeEncodeError:
        return value


def _version(version: str) -> str:
    """``1.1`` -> ``HTTP/1.1``; a version already spelled out (an imported
    ``http/2.0`` or ``h3``) stays as it is."""
    return f"HTTP/{version}" if version[:1].isdigit() else version


def _head_size(first_line: str, headers: HeaderSeq) -> int:
    """Bytes of the head up to and including its blank line, as written."""
    size = len(first_line.encode("latin-1", "replace")) + 4
    for name, value in headers:
        size += len(name) + len(value) + 4
    return size


def _headers(headers: HeaderSeq) -> list[Entry]:
    return [{"name": forms.text(name), "value": forms.text(value)} for name, value in headers]


def _header(message: Message, name: bytes) -> str:
    value = message.header(name)
    return "" if value is None else forms.text(value)


# Bodies


@dataclass(slots=True)
class _Body:
    text: str | None
    """What the HAR holds (None when the body was not kept)."""
    base64: bool
    data: bytes
    """The body, decoded."""
    size: int
    compression: int | None = None
    truncated: bool = False
    notes: list[str] = field(default_factory=list)


def _body(message: Message, dropped: bool) -> _Body:
    if dropped:
        note = "body not kept (dropped to stay within the memory limit)"
        return _Body(None, False, b"", message.body_size, notes=[note])
    data = message.body
    body = _Body(None, False, data, message.body_size, truncated=message.body_truncated)
    if message.body_truncated:
        body.notes.append(f"capture kept {len(data):,} of {message.body_size:,} bytes")
    encoding = message.header(b"content-encoding")
    if data and parse_encodings(encoding):
        try:
            decoded = decode_body(data, encoding)
        except DecodeError as exc:
            body.notes.append(f"{exc}; the bytes are as received")
        else:
            body.data = decoded.data
            body.size = len(decoded.data)
            body.truncated = body.truncated or decoded.truncated
            if not body.truncated:
                body.compression = body.size - message.body_size
            body.notes.append(f"decoded from {', '.join(decoded.encodings)}")
    text = None
    if classify(media_type(message), body.data) in (BodyKind.EMPTY, BodyKind.JSON, BodyKind.TEXT):
        text = _decode_text(body.data, charset(message), body.truncated)
    if text is None:
        body.text, body.base64 = base64.b64encode(body.data).decode("ascii"), True
    else:
        body.text = text
    return body


def _decode_text(data: bytes, encoding: str, cut: bool) -> str | None:
    """``data`` in ``encoding`` (UTF-8 when that is unknown or not a text
    encoding), or None when it is not valid there. A body cut at the
    capture limit may end inside a character; that piece is left out."""
    for name in (encoding, "utf-8"):
        try:
            return data.decode(name)
        except LookupError:
            continue
        except UnicodeDecodeError as exc:
            if not cut or exc.end < len(data):
                return None
            try:
                return data[: exc.start].decode(name)
            except UnicodeDecodeError:
                return None
    return None


# Cookies


def _request_cookies(headers: HeaderSeq) -> list[Entry]:
    return [
        {"name": name, "value": value}
        for key, raw in headers
        if key.lower() == b"cookie"
        for name, value in cookie_pairs(forms.text(raw))
    ]


def _response_cookies(headers: HeaderSeq, received: float) -> list[Entry]:
    cookies = []
    for key, raw in headers:
        if key.lower() == b"set-cookie":
            cookie = parse_set_cookie(forms.text(raw), received)
            if cookie is not None:
                cookies.append(har_cookie(cookie))
    return cookies


def har_cookie(cookie: SetCookie) -> Entry:
    """A response cookie as HAR writes it; SameSite, which HAR 1.2 lacks,
    as ``_sameSite``."""
    result: Entry = {"name": cookie.name, "value": cookie.value}
    if cookie.path is not None:
        result["path"] = cookie.path
    if cookie.domain is not None:
        result["domain"] = cookie.domain
    if cookie.expires is not None:
        result["expires"] = cookie.expires.isoformat(timespec="milliseconds")
    result["httpOnly"] = cookie.http_only
    result["secure"] = cookie.secure
    if cookie.same_site is not None:
        result["_sameSite"] = cookie.same_site
    return result


# WebSocket messages


def _ws_message(message: WsMessage) -> Entry:
    payload = message.payload
    if message.opcode == CLOSE and message.size and message.close_code is not None:
        # The frame's payload: the code kept apart by the decoder, then the reason.
        payload = message.close_code.to_bytes(2, "big") + payload
    truncated = len(payload) < message.size and not message.payload_dropped
    if message.opcode == TEXT:
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        data = decoder.decode(payload, final=not truncated)
    else:
        data = base64.b64encode(payload).decode("ascii")
    result: Entry = {
        "type": "send" if message.direction == UP else "receive",
        "time": message.t,
        "opcode": message.opcode,
        "data": data,
    }
    if message.opcode == CLOSE and message.close_code is not None:
        result["_closeCode"] = message.close_code
    if truncated or message.payload_dropped:
        result["_size"] = message.size
        result["_truncated" if truncated else "_payloadDropped"] = True
    return result
