"""One HAR entry as a flow: the mapping, as a function of plain values.

HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/) as browsers and
proxies write it: Chrome and Edge (``_error``, ``_webSocketMessages``,
HTTP/2 pseudo-headers, ``h3``), Firefox, Safari, Charles (``null`` for
strings it lacks), Insomnia, HTTP Toolkit, mitmproxy (``null`` timings),
and this project's own export (``_truncated``, ``_errorKind``,
``postData._encoding``). Other ``_``-prefixed fields are extensions and
ignored; so are the cookies arrays, in favour of the Cookie and Set-Cookie
headers, and pseudo-headers stay in the header list as imported. Bodies are
encoded back as they were sent (``core.har_body``).

An entry that is not usable in part becomes a flow with what could be read
and ``FlowError("import", ...)`` naming each problem: count those. A
request that failed when it was recorded (status 0, or ``_error``) gets
the kind ``failed``, or ``dns``, ``connect-refused`` or ``connect-timeout``
where Chrome's error says so; it has no response when the status is 0.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from inspector.core.flow import (
    DEFAULT_PORTS,
    Flow,
    FlowError,
    FlowState,
    Headers,
    Message,
    Request,
    Response,
    authority,
)
from inspector.core.har_body import b64decode, base64_body, form_body, text_body, utf8
from inspector.core.har_fields import clip, date, kind, missing, not_a, number, shown, string
from inspector.core.http_rules import WEBSOCKET_SCHEMES
from inspector.core.websocket import (
    CLOSE,
    DEFAULT_MAX_FLOW_BYTES,
    DEFAULT_MAX_MESSAGES,
    DOWN,
    MESSAGE_CAPTURE,
    TEXT,
    UP,
    WebSocketInfo,
    WsMessage,
)

MAX_BODY = 8 * 1024 * 1024
"""Body bytes kept per message unless the caller says otherwise (as the
default body capture limit)."""
IMPORT_ERROR = "import"
"""The error kind of an entry that could not be read whole."""
FAILED = "failed"
"""The error kind of a request that failed when it was recorded."""
CLIENT_ADDR = ("", 0)
"""HAR does not record the client's address."""

_NET_ERRORS = {
    "net::ERR_NAME_NOT_RESOLVED": "dns",
    "net::ERR_NAME_RESOLUTION_FAILED": "dns",
    "net::ERR_CONNECTION_REFUSED": "connect-refused",
    "net::ERR_CONNECTION_TIMED_OUT": "connect-timeout",
}


def entry_to_flow(
    entry: object, flow_id: int = 1, *, max_body: int = MAX_BODY, fallback_start: float = 0.0
) -> Flow:
    """The flow HAR ``entry`` (any JSON value) stands for; never raises.

    ``fallback_start`` is the start of an entry without a readable
    ``startedDateTime`` (the reader passes the previous entry's, so it
    sorts where the file put it).
    """
    return convert(entry, flow_id, max(max_body, 0), fallback_start, [])


def convert(
    entry: object, flow_id: int, max_body: int, fallback_start: float, problems: list[str]
) -> Flow:
    """``entry_to_flow`` with the problems the reader already found."""
    flow = Flow(id=flow_id, client_addr=CLIENT_ADDR, imported=True, t_start=fallback_start)
    if not isinstance(entry, dict):
        problems.append(f"the entry is {kind(entry)}, not an object")
        return _settle(flow, problems, None)
    start = date(entry.get("startedDateTime"), problems)
    if start is not None:
        flow.t_start = start
    flow.request = request = _request(entry.get("request"), max_body, problems)
    raw_response = entry.get("response")
    response = _response(raw_response, request.version, max_body, problems)
    flow.response = response if response is None or response.status else None
    flow.upstream_addr = _server(entry.get("serverIPAddress"), request.port, problems)
    _times(flow, entry, problems)
    if "_webSocketMessages" in entry:
        flow.websocket = _websocket(entry["_webSocketMessages"], request, response, problems)
        _ws_close(flow.websocket, entry.get("_webSocketClose"))
    return _settle(flow, problems, _failure(entry, raw_response, response))


def _settle(flow: Flow, problems: list[str], failure: FlowError | None) -> Flow:
    if problems:
        message = "; ".join(problems)
        if failure is not None:
            message += f"; the request failed: {failure.message}"
        flow.error = FlowError(IMPORT_ERROR, message)
    else:
        flow.error = failure
    flow.state = FlowState.COMPLETE if flow.error is None else FlowState.FAILED
    return flow


def _request(raw: object, max_body: int, problems: list[str]) -> Request:
    request = Request()
    if not isinstance(raw, dict):
        problems.append(missing("request", raw, "an object"))
        return request
    if raw.get("method") is None:
        problems.append("the request has no method")
    request.method = string(raw, "method", "request", problems)
    request.headers = _headers(raw.get("headers"), "request", problems)
    request.version = _version(raw.get("httpVersion"), "request", problems) or "1.1"
    _locate(request, raw.get("url"), problems)
    size = number(raw, "bodySize", "request", problems)
    post = raw.get("postData")
    if post is None and isinstance(raw.get("_content"), dict):
        post = raw["_content"]  # HTTP Toolkit's place for a body that is not text
    if not isinstance(post, dict):
        if post is not None:
            problems.append(not_a("request.postData", post, "an object"))
        _keep(request, b"", max_body, size)
        return request
    params = post.get("params")
    if isinstance(params, list) and params and not post.get("text"):
        mime = post.get("mimeType")
        data, bad = form_body(params, mime if isinstance(mime, str) else "", request.headers)
        if bad:
            problems.append(f"request.postData.params: {bad} not a name and a value (left out)")
        _keep(request, data, max_body, size if post.get("_truncated") is True else None)
    else:
        _body(request, post, "request.postData", size, max_body, problems)
    return request


def _response(
    raw: object, request_version: str, max_body: int, problems: list[str]
) -> Response | None:
    if not isinstance(raw, dict):
        problems.append(missing("response", raw, "an object"))
        return None
    response = Response()
    status = raw.get("status")
    if isinstance(status, int) and not isinstance(status, bool) and 0 <= status <= 999:
        response.status = status
    else:
        problems.append(
            "the response has no status"
            if status is None
            else f"response.status {shown(status)} is not a status code"
        )
    response.reason = string(raw, "statusText", "response", problems)
    response.version = _version(raw.get("httpVersion"), "response", problems) or request_version
    response.headers = _headers(raw.get("headers"), "response", problems)
    size = number(raw, "bodySize", "response", problems)
    content = raw.get("content")
    if isinstance(content, dict):
        decoded_size = number(content, "size", "response.content", problems)
        size = decoded_size if size is None else size
        _body(response, content, "response.content", size, max_body, problems)
    else:
        if content is not None:
            problems.append(not_a("response.content", content, "an object"))
        _keep(response, b"", max_body, size)
    return response


def _failure(entry: dict[str, object], raw: object, response: Response | None) -> FlowError | None:
    """How the request failed when it was recorded, if it did."""
    for holder in (raw, entry):
        if not isinstance(holder, dict):
            continue
        error, error_kind = holder.get("_error"), holder.get("_errorKind")
        if isinstance(error, str) and error:
            if not isinstance(error_kind, str) or not error_kind:
                error_kind = _NET_ERRORS.get(error, FAILED)
            return FlowError(error_kind, error)
    if response is not None and response.status == 0:
        comment = entry.get("comment")
        note = f": {comment}" if isinstance(comment, str) and comment else ""
        return FlowError(FAILED, f"no response (status 0 in the HAR file){note}")
    return None


def _locate(request: Request, url: object, problems: list[str]) -> None:
    """Scheme, host, port and target from the URL, or, when it is missing,
    from the pseudo-headers or Host."""
    if not isinstance(url, str) or not url:
        if url is None or url == "":
            problems.append("the request has no url")
        else:
            problems.append(not_a("request.url", url))
        _locate_by_headers(request)
        return
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        problems.append(f"request.url {shown(url)} is not a URL ({clip(str(exc))})")
        request.target = url
        return
    scheme = parts.scheme.lower()
    scheme = WEBSOCKET_SCHEMES.get(scheme, scheme)
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        problems.append(f"request.url {shown(url)} is not an http(s) or ws(s) URL")
        request.target = url
        return
    request.scheme = scheme
    request.host = parts.hostname
    request.port = port or DEFAULT_PORTS[scheme]
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    if request.method == "CONNECT":
        target = authority(request.host, request.port)
    request.target = target


def _locate_by_headers(request: Request) -> None:
    scheme = (request.header(b":scheme") or b"").decode("latin-1").lower()
    where = request.header(b":authority") or request.header(b"host")
    request.target = (request.header(b":path") or b"").decode("latin-1")
    if where is None:
        return
    request.scheme = scheme if scheme in DEFAULT_PORTS else "https" if scheme else "http"
    try:
        parts = urlsplit("//" + where.decode("latin-1"))
        request.host = parts.hostname or ""
        request.port = parts.port or DEFAULT_PORTS[request.scheme]
    except ValueError:
        request.host = ""


def _body(
    message: Message,
    holder: dict[str, object],
    where: str,
    size: float | None,
    max_body: int,
    problems: list[str],
) -> None:
    """``message``'s body from a ``content`` or ``postData`` object.
    ``size`` (the file's ``bodySize``) counts only where there is no text,
    or the text was cut (``_truncated``, as this project exports)."""
    text = holder.get("text")
    if not isinstance(text, str):
        if text is not None:
            problems.append(not_a(f"{where}.text", text))
        _keep(message, b"", max_body, size)
        return
    encoding = holder.get("encoding", holder.get("_encoding"))
    if isinstance(encoding, str) and encoding.lower() == "base64":
        data = base64_body(text, message.headers)
        if data is None:
            problems.append(f"{where}.text is not valid base64 (kept as the file's text)")
            data = utf8(text)
    else:
        data = text_body(text, message.headers)
    _keep(message, data, max_body, size if holder.get("_truncated") is True else None)


def _keep(message: Message, data: bytes, max_body: int, size: float | None) -> None:
    """Keep ``data`` up to ``max_body`` bytes, of ``size`` bytes in all when
    that is more (a body the file left out, or cut)."""
    message.body = data[:max_body]
    message.body_size = max(len(data), int(size or 0))
    message.body_truncated = message.body_size > len(message.body)


def _headers(raw: object, where: str, problems: list[str]) -> Headers:
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.append(not_a(f"{where}.headers", raw, "an array"))
        return []
    headers: Headers = []
    for item in raw:
        # {"name": n, "value": v} everywhere; [n, v] in some exports (Slack).
        if isinstance(item, dict):
            name, value = item.get("name"), item.get("value")
        elif isinstance(item, list) and len(item) == 2:
            name, value = item
        else:
            name = value = None
        value = "" if value is None else value
        if isinstance(name, str) and name and isinstance(value, str):
            headers.append((_header_bytes(name), _header_bytes(value)))
    if len(headers) < len(raw):
        bad = len(raw) - len(headers)
        problems.append(f"{where}.headers: {bad} not a name and a value (left out)")
    return headers


def _header_bytes(text: str) -> bytes:
    """Latin-1 when it fits (as HTTP/1.1 fields are read), else UTF-8."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return utf8(text)


def _version(raw: object, where: str, problems: list[str]) -> str:
    """``HTTP/1.1`` -> ``1.1``; ``http/2.0``, ``HTTP/2`` and ``h2`` -> ``2``;
    ``h3``, ``HTTP/3`` and QUIC names -> ``3``; empty when unknown."""
    if not isinstance(raw, str):
        if raw is not None:
            problems.append(not_a(f"{where}.httpVersion", raw))
        return ""
    name = raw.strip().lower().removeprefix("http/")
    if name.startswith(("h3", "3")) or "quic" in name:
        return "3"
    if name.startswith(("h2", "2")):
        return "2"
    return name if name in ("1.0", "1.1", "0.9") else ""


def _server(raw: object, port: int, problems: list[str]) -> tuple[str, int] | None:
    if not isinstance(raw, str) or not raw.strip():
        if raw is not None and raw != "":
            problems.append(not_a("serverIPAddress", raw))
        return None
    address = raw.strip()
    if address.startswith("["):
        # HAR asks for no brackets (RFC 4291 section 2.2); some write them.
        address, _, tail = address[1:].partition("]")
        tail = tail.removeprefix(":")
    else:
        host, _, tail = address.rpartition(":")
        address = host if "." in host else address  # IPv4 with a port
        tail = tail if "." in host else ""
    return address, int(tail) if tail.isdigit() and int(tail) < 65536 else port


def _times(flow: Flow, entry: dict[str, object], problems: list[str]) -> None:
    """The flow's times from its start and the phases, one after the
    other: blocked, dns, connect (which includes ssl), send, wait,
    receive, in milliseconds; -1 or null is a phase that did not happen or
    is not known."""
    raw = entry.get("timings")
    timings = raw if isinstance(raw, dict) else {}
    if raw is not None and not isinstance(raw, dict):
        problems.append(not_a("timings", raw, "an object"))
    blocked, dns, connect, ssl, send, wait, receive = (
        number(timings, key, "timings", problems)
        for key in ("blocked", "dns", "connect", "ssl", "send", "wait", "receive")
    )
    total = number(entry, "time", "entry", problems)
    t = flow.t_start + (blocked or 0.0) / 1000
    if dns is not None:
        t += dns / 1000
        flow.t_dns = t
    if connect is not None:
        t += connect / 1000
        flow.t_upstream_connected = t
        if ssl is not None and ssl <= connect:
            flow.t_connected = t - ssl / 1000
        elif flow.request.scheme != "https":
            flow.t_connected = t
    if send is not None:
        t += send / 1000
        flow.t_request_sent = t
    if wait is not None:
        t += wait / 1000
        flow.t_response_start = t
    if receive is not None:
        flow.t_end = t + receive / 1000
    elif total is not None:
        flow.t_end = flow.t_start + total / 1000


def _websocket(
    raw: object, request: Request, response: Response | None, problems: list[str]
) -> WebSocketInfo:
    """Chrome's ``_webSocketMessages``: ``{type: send|receive, time (epoch
    seconds), opcode, data}``, text frames as text, others in base64."""
    ws = WebSocketInfo(tls=request.scheme == "https", end="imported")
    if response is not None:
        ws.protocol = (response.header(b"sec-websocket-protocol") or b"").decode("latin-1")
        ws.extensions = (response.header(b"sec-websocket-extensions") or b"").decode("latin-1")
    if not isinstance(raw, list):
        problems.append(not_a("_webSocketMessages", raw, "an array"))
        return ws
    bad = 0
    for item in raw:
        message = _ws_message(item) if isinstance(item, dict) else None
        if message is None:
            bad += 1
            continue
        ws.add(message, DEFAULT_MAX_MESSAGES, DEFAULT_MAX_FLOW_BYTES)
        if message.opcode == CLOSE and ws.closed_by is None:
            ws.close_code, ws.closed_by = message.close_code, message.direction
            ws.close_reason = message.payload.decode("utf-8", "replace")
        elif message.opcode == CLOSE and message.direction != ws.closed_by:
            ws.closing_handshake = True
            ws.end = "closed"
    if bad:
        problems.append(f"_webSocketMessages: {bad} unreadable (left out)")
    return ws


def _ws_close(ws: WebSocketInfo, raw: object) -> None:
    """HTTP Toolkit's ``_webSocketClose``: ``{code, reason, timestamp}``,
    or ``"aborted"``."""
    if raw == "aborted":
        ws.end = "aborted"
    elif isinstance(raw, dict) and ws.close_code is None:
        code, reason = raw.get("code"), raw.get("reason")
        if isinstance(code, int) and not isinstance(code, bool) and 0 <= code < 65536:
            ws.close_code = code
        ws.close_reason = reason if isinstance(reason, str) else ""
        ws.end = "closed"


def _ws_message(item: dict[str, object]) -> WsMessage | None:
    way, opcode, data = item.get("type"), item.get("opcode"), item.get("data")
    direction = {"send": UP, "receive": DOWN}.get(way) if isinstance(way, str) else None
    when = number(item, "time", "message", [])
    if direction is None or when is None or not isinstance(data, str):
        return None
    if not isinstance(opcode, int) or isinstance(opcode, bool) or not 0 <= opcode <= 15:
        return None
    payload = None if opcode == TEXT else b64decode(data)
    payload = utf8(data) if payload is None else payload
    size = number(item, "_size", "message", [])
    message = WsMessage(0, direction, when, opcode, max(len(payload), int(size or 0)))
    if opcode == CLOSE:
        # The payload is the close code, then the reason (RFC 6455 5.5.1).
        message.close_code = int.from_bytes(payload[:2], "big") if len(payload) > 1 else 1005
        payload = payload[2:]
    message.payload = payload[:MESSAGE_CAPTURE]
    return message
