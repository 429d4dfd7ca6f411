"""One HAR entry as a flow: tables of what maps to what (as h11 tests its
decisions), each bad field, and WebSocket messages."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import pytest

from inspector.core.flow import FlowState
from inspector.core.har_entry import FAILED, IMPORT_ERROR, entry_to_flow
from inspector.core.websocket import BINARY, CLOSE, DOWN, TEXT


def at(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def base() -> dict[str, Any]:
    return {
        "startedDateTime": "2024-01-02T03:04:05.500Z",
        "time": 10,
        "request": {
            "method": "GET",
            "url": "https://example.com/a?b=c",
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": "Host", "value": "example.com"}],
            "cookies": [{"name": "ignored", "value": "yes"}],
            "bodySize": 0,
        },
        "response": {
            "status": 200,
            "statusText": "OK",
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": "Content-Type", "value": "text/plain"}],
            "content": {"size": 2, "mimeType": "text/plain", "text": "hi"},
            "bodySize": 2,
        },
        "timings": {"send": 1, "wait": 5, "receive": 4},
    }


def with_change(path: str, value: object) -> dict[str, Any]:
    """``base()`` with the field at the dotted ``path`` set to ``value``
    (or removed, for ``DELETE``)."""
    entry = base()
    *parents, key = path.split(".")
    holder: Any = entry
    for parent in parents:
        holder = holder[parent]
    if value is DELETE:
        del holder[key]
    else:
        holder[key] = value
    return entry


DELETE = object()


def test_the_base_entry_imports_cleanly() -> None:
    flow = entry_to_flow(base(), 7)
    assert flow.error is None and flow.state is FlowState.COMPLETE
    assert flow.id == 7
    assert flow.request.url == "https://example.com/a?b=c"
    assert flow.response is not None and flow.response.body == b"hi"
    assert flow.t_start == pytest.approx(at("2024-01-02T03:04:05.5+00:00"))
    assert flow.t_end == pytest.approx(flow.t_start + 0.010)


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        ("startedDateTime", DELETE, "the entry has no startedDateTime"),
        ("startedDateTime", "yesterday", "startedDateTime 'yesterday' is not a date"),
        ("startedDateTime", "2024-02-30T00:00:00Z", "is not a date"),
        ("startedDateTime", 1704164645500, "startedDateTime is a number, not a string"),
        ("request", DELETE, "the entry has no request"),
        ("request", "GET /", "request is a string, not an object"),
        ("request.method", DELETE, "the request has no method"),
        ("request.method", 5, "request.method is a number, not a string"),
        ("request.url", DELETE, "the request has no url"),
        ("request.url", ["https://x/"], "request.url is an array, not a string"),
        ("request.url", "https://example.com:99999/", "is not a URL (Port out of range"),
        ("request.url", "http://[::1/x", "is not a URL (Invalid IPv6 URL)"),
        ("request.url", "data:text/plain,hi", "is not an http(s) or ws(s) URL"),
        ("request.url", "/relative/only", "is not an http(s) or ws(s) URL"),
        ("request.headers", {"Host": "x"}, "request.headers is an object, not an array"),
        ("request.headers", [{"name": "A"}, {"value": "x"}, ["B", 1], 3],
         "request.headers: 3 not a name and a value"),
        ("request.httpVersion", 1.1, "request.httpVersion is a number, not a string"),
        ("request.postData", "a=1", "request.postData is a string, not an object"),
        ("request.postData", {"text": 12}, "request.postData.text is a number, not a string"),
        ("request.postData", {"params": [{"name": "a", "value": "1"}, {"value": "2"}]},
         "request.postData.params: 1 not a name and a value"),
        ("request.bodySize", "12", "request.bodySize '12' is not a number"),
        ("response", DELETE, "the entry has no response"),
        ("response", [], "response is an array, not an object"),
        ("response.status", DELETE, "the response has no status"),
        ("response.status", "200", "response.status '200' is not a status code"),
        ("response.status", -1, "response.status -1 is not a status code"),
        ("response.status", 1000, "response.status 1000 is not a status code"),
        ("response.status", True, "response.status true is not a status code"),
        ("response.status", 200.5, "response.status 200.5 is not a status code"),
        ("response.statusText", 0, "response.statusText is a number, not a string"),
        ("response.content", "hi", "response.content is a string, not an object"),
        ("response.content.text", {"a": 1}, "response.content.text is an object, not a string"),
        ("response.content", {"text": "no base64!", "encoding": "base64"},
         "response.content.text is not valid base64"),
        ("response.content.size", "big", "response.content.size 'big' is not a number"),
        ("response.bodySize", 10**400, "response.bodySize a very large number is out of range"),
        ("response.bodySize", 2**60, "response.bodySize 1152921504606846976 is out of range"),
        ("request.url", "http://\uff03" + "x" * 100 + "/", "is not a URL (netloc"),
        ("timings", [1, 2], "timings is an array, not an object"),
        ("timings.wait", "5ms", "timings.wait '5ms' is not a number"),
        ("timings.dns", True, "timings.dns true is not a number"),
        ("time", "10", "entry.time '10' is not a number"),
        ("serverIPAddress", 3232235777, "serverIPAddress is a number, not a string"),
        ("_webSocketMessages", {"type": "send"}, "_webSocketMessages is an object, not an array"),
        ("_webSocketMessages", [{"type": "send", "time": 1, "opcode": 1, "data": "x"}, 5,
                                {"type": "sideways", "time": 1, "opcode": 1, "data": "x"},
                                {"type": "send", "opcode": 1, "data": "x"},
                                {"type": "send", "time": 1, "opcode": 99, "data": "x"},
                                {"type": "send", "time": 1, "opcode": 1, "data": None}],
         "_webSocketMessages: 5 unreadable"),
    ],
)  # fmt: skip
def test_each_bad_field_is_an_import_error_naming_it(
    path: str, value: object, problem: str
) -> None:
    flow = entry_to_flow(with_change(path, value))
    assert flow.error is not None
    assert flow.error.kind == IMPORT_ERROR
    assert problem in flow.error.message
    assert "\n" not in flow.error.message
    assert flow.state is FlowState.FAILED
    assert flow.imported


def test_a_bad_field_keeps_the_rest_of_the_entry() -> None:
    flow = entry_to_flow(with_change("timings.wait", "soon"))
    assert flow.request.url == "https://example.com/a?b=c"
    assert flow.response is not None and flow.response.body == b"hi"
    assert flow.t_request_sent is not None and flow.t_response_start is None
    assert flow.t_end == pytest.approx(flow.t_start + 0.005)


def test_every_problem_of_an_entry_is_named() -> None:
    entry = with_change("request.url", 5)
    entry["response"]["status"] = "x"
    flow = entry_to_flow(entry)
    assert flow.error is not None
    assert "request.url is a number" in flow.error.message
    assert "response.status 'x'" in flow.error.message


@pytest.mark.parametrize("entry", [None, True, 0, 1.5, "entry", [], [{}], {}])
def test_an_entry_of_the_wrong_type_or_empty_is_an_import_error(entry: object) -> None:
    flow = entry_to_flow(entry, 3, fallback_start=123.0)
    assert flow.id == 3
    assert flow.error is not None and flow.error.kind == IMPORT_ERROR
    assert flow.t_start == 123.0
    assert flow.response is None


def test_a_missing_url_falls_back_on_the_pseudo_headers() -> None:
    entry = with_change("request.url", DELETE)
    entry["request"]["headers"] = [
        {"name": ":method", "value": "GET"},
        {"name": ":scheme", "value": "https"},
        {"name": ":authority", "value": "[::1]:8443"},
        {"name": ":path", "value": "/p?q=1"},
    ]
    flow = entry_to_flow(entry)
    assert flow.request.url == "https://[::1]:8443/p?q=1"
    assert flow.error is not None and "the request has no url" in flow.error.message


@pytest.mark.parametrize(
    ("url", "scheme", "host", "port", "target", "shown"),
    [
        ("https://example.com/a?b=c", "https", "example.com", 443, "/a?b=c", None),
        ("http://example.com", "http", "example.com", 80, "/", "http://example.com/"),
        ("HTTPS://Example.COM/Path", "https", "example.com", 443, "/Path",
         "https://example.com/Path"),
        ("https://example.com/p#section", "https", "example.com", 443, "/p",
         "https://example.com/p"),
        ("https://user:pw@example.com/", "https", "example.com", 443, "/",
         "https://example.com/"),
        ("http://[2001:db8::1]:8080/x", "http", "2001:db8::1", 8080, "/x", None),
        ("https://[::1]/", "https", "::1", 443, "/", None),
        ("http://127.0.0.1:443/", "http", "127.0.0.1", 443, "/", None),
        ("wss://example.com/ws", "https", "example.com", 443, "/ws", "https://example.com/ws"),
        ("ws://example.com:8080/ws", "http", "example.com", 8080, "/ws",
         "http://example.com:8080/ws"),
        ("https://bücher.example/ä?ö=1", "https", "bücher.example", 443, "/ä?ö=1", None),
    ],
)  # fmt: skip
def test_urls(url: str, scheme: str, host: str, port: int, target: str, shown: str | None) -> None:
    flow = entry_to_flow(with_change("request.url", url))
    request = flow.request
    assert (request.scheme, request.host, request.port, request.target) == (
        scheme,
        host,
        port,
        target,
    )
    assert request.url == (shown or url)
    assert flow.error is None


def test_a_connect_entry_targets_its_authority() -> None:
    entry = with_change("request.url", "https://example.com:8443")
    entry["request"]["method"] = "CONNECT"
    flow = entry_to_flow(entry)
    assert flow.request.target == "example.com:8443"
    assert flow.request.url == "example.com:8443"


@pytest.mark.parametrize(
    ("given", "version"),
    [
        ("HTTP/1.1", "1.1"),
        ("http/1.1", "1.1"),
        ("HTTP/1.0", "1.0"),
        ("HTTP/0.9", "0.9"),
        ("HTTP/2.0", "2"),
        ("http/2.0", "2"),
        ("HTTP/2", "2"),
        ("h2", "2"),
        ("h2c", "2"),
        ("h3", "3"),
        ("HTTP/3", "3"),
        ("h3-29", "3"),
        ("http/2+quic/46", "3"),
        ("", "1.1"),
        ("unknown", "1.1"),
        (None, "1.1"),
    ],
)
def test_versions(given: str | None, version: str) -> None:
    flow = entry_to_flow(with_change("request.httpVersion", given))
    assert flow.request.version == version
    assert flow.error is None


def test_the_response_version_defaults_to_the_requests() -> None:
    entry = with_change("response.httpVersion", "")
    entry["request"]["httpVersion"] = "h2"
    response = entry_to_flow(entry).response
    assert response is not None and response.version == "2"


@pytest.mark.parametrize(
    ("timings", "time", "expected"),
    [
        # blocked, dns, connect, ssl, send, wait, receive -> t_dns,
        # t_connected, t_upstream_connected, t_request_sent,
        # t_response_start, t_end (ms after the start; None: unknown)
        ({"blocked": 1, "dns": 2, "connect": 10, "ssl": 4, "send": 1, "wait": 5, "receive": 3},
         22, (3, 9, 13, 14, 19, 22)),
        ({"blocked": -1, "dns": -1, "connect": -1, "ssl": -1, "send": 0, "wait": 7, "receive": 0},
         7, (None, None, None, 0, 7, 7)),
        ({"connect": None, "ssl": None, "send": 1, "wait": 2, "receive": 3},
         6, (None, None, None, 1, 3, 6)),
        # ssl longer than connect cannot be inside it: TCP time unknown.
        ({"dns": 1, "connect": 2, "ssl": 5, "send": 1, "wait": 1, "receive": 1},
         6, (1, None, 3, 4, 5, 6)),
        # no receive: the end from "time".
        ({"send": 1, "wait": 2, "receive": -1}, 50, (None, None, None, 1, 3, 50)),
        ({}, 12.5, (None, None, None, None, None, 12.5)),
        ({}, -1, (None, None, None, None, None, None)),
        ({}, None, (None, None, None, None, None, None)),
    ],
)  # fmt: skip
def test_timings(timings: dict[str, Any], time: float | None, expected: tuple[Any, ...]) -> None:
    entry = with_change("timings", timings)
    entry["time"] = time
    flow = entry_to_flow(entry)
    start = flow.t_start
    got = (
        flow.t_dns,
        flow.t_connected,
        flow.t_upstream_connected,
        flow.t_request_sent,
        flow.t_response_start,
        flow.t_end,
    )
    want = tuple(None if ms is None else pytest.approx(start + ms / 1000) for ms in expected)
    assert got == want


def test_plain_http_with_connect_and_no_ssl_is_connected_when_connect_ends() -> None:
    entry = with_change("request.url", "http://example.com/")
    entry["timings"] = {"connect": 3, "send": 0, "wait": 0, "receive": 0}
    flow = entry_to_flow(entry)
    assert flow.t_connected == flow.t_upstream_connected == pytest.approx(flow.t_start + 0.003)


@pytest.mark.parametrize(
    ("stamp", "utc"),
    [
        ("2024-01-02T03:04:05.500Z", "2024-01-02T03:04:05.500+00:00"),
        ("2024-01-02T03:04:05.5z", "2024-01-02T03:04:05.500+00:00"),
        ("2024-01-02T05:04:05.500+02:00", "2024-01-02T03:04:05.500+00:00"),
        ("2024-01-02T05:04:05.500+0200", "2024-01-02T03:04:05.500+00:00"),
        ("2024-01-02T03:04:05.123456789Z", "2024-01-02T03:04:05.123456+00:00"),
        # No zone: UTC.
        ("2024-01-02T03:04:05", "2024-01-02T03:04:05+00:00"),
        (" 2024-01-02 03:04:05Z ", "2024-01-02T03:04:05+00:00"),
    ],
)
def test_dates(stamp: str, utc: str) -> None:
    flow = entry_to_flow(with_change("startedDateTime", stamp))
    assert flow.error is None
    assert flow.t_start == pytest.approx(at(utc))


@pytest.mark.parametrize(
    ("address", "port", "expected"),
    [
        ("192.0.2.1", 443, ("192.0.2.1", 443)),
        ("192.0.2.1:8443", 443, ("192.0.2.1", 8443)),
        ("2001:db8::1", 443, ("2001:db8::1", 443)),
        ("[2001:db8::1]", 80, ("2001:db8::1", 80)),
        ("[::1]:8080", 80, ("::1", 8080)),
        ("::ffff:192.0.2.1", 443, ("::ffff:192.0.2.1", 443)),
        ("", 443, None),
        (None, 443, None),
    ],
)
def test_server_addresses(address: str | None, port: int, expected: tuple[str, int] | None) -> None:
    entry = with_change("serverIPAddress", address)
    entry["request"]["url"] = f"https://example.com:{port}/"
    assert entry_to_flow(entry).upstream_addr == expected


@pytest.mark.parametrize(
    ("response", "kind", "message"),
    [
        ({"status": 0}, FAILED, "no response (status 0 in the HAR file)"),
        ({"status": 0, "_error": "net::ERR_CONNECTION_REFUSED"}, "connect-refused",
         "net::ERR_CONNECTION_REFUSED"),
        ({"status": 0, "_error": "net::ERR_CONNECTION_TIMED_OUT"}, "connect-timeout",
         "net::ERR_CONNECTION_TIMED_OUT"),
        ({"status": 0, "_error": "net::ERR_NAME_RESOLUTION_FAILED"}, "dns",
         "net::ERR_NAME_RESOLUTION_FAILED"),
        ({"status": 0, "_error": "net::ERR_ABORTED"}, FAILED, "net::ERR_ABORTED"),
        # This project's export names its own kind.
        ({"status": 502, "_error": "upstream refused", "_errorKind": "connect-refused"},
         "connect-refused", "upstream refused"),
        ({"status": 0, "_error": None}, FAILED, "no response (status 0 in the HAR file)"),
    ],
)  # fmt: skip
def test_failures_recorded_in_the_file(response: dict[str, Any], kind: str, message: str) -> None:
    flow = entry_to_flow(with_change("response", response))
    assert flow.error is not None
    assert (flow.error.kind, flow.error.message) == (kind, message)
    assert flow.state is FlowState.FAILED
    assert (flow.response is None) == (response["status"] == 0)


def test_a_failure_on_the_entry_itself_counts_too() -> None:
    entry = with_change("response", {"status": 0})
    entry["_error"] = "net::ERR_NAME_NOT_RESOLVED"
    flow = entry_to_flow(entry)
    assert flow.error is not None and flow.error.kind == "dns"


def test_an_import_problem_and_a_recorded_failure_say_both() -> None:
    entry = with_change("response", {"status": 0, "_error": "net::ERR_TIMED_OUT"})
    entry["startedDateTime"] = "never"
    flow = entry_to_flow(entry)
    assert flow.error is not None and flow.error.kind == IMPORT_ERROR
    assert flow.error.message.endswith("the request failed: net::ERR_TIMED_OUT")


def test_cookie_arrays_are_ignored_in_favour_of_headers() -> None:
    entry = base()
    entry["request"]["cookies"] = "not even a list"
    flow = entry_to_flow(entry)
    assert flow.error is None
    assert flow.request.header(b"cookie") is None


def test_extensions_anywhere_are_ignored() -> None:
    entry = base()
    entry["_custom"] = {"deep": [1, 2]}
    entry["request"]["_flag"] = True
    entry["response"]["content"]["_x"] = None
    entry["timings"]["_blocked_queueing"] = "whatever"
    assert entry_to_flow(entry).error is None


def test_headers_keep_their_order_case_and_duplicates_and_take_pairs() -> None:
    entry = with_change(
        "response.headers",
        [
            {"name": "Set-Cookie", "value": "a=1"},
            {"name": "set-cookie", "value": "b=2"},
            ["X-Pair", "yes"],
            {"name": "X-Empty", "value": None},
            {"name": "X-Utf8", "value": "☕"},
            {"name": "X-Latin", "value": "café"},
        ],
    )
    response = entry_to_flow(entry).response
    assert response is not None
    assert list(response.headers) == [
        (b"Set-Cookie", b"a=1"),
        (b"set-cookie", b"b=2"),
        (b"X-Pair", b"yes"),
        (b"X-Empty", b""),
        (b"X-Utf8", "☕".encode()),
        (b"X-Latin", "café".encode("latin-1")),
    ]


# Bodies in an entry.


def test_a_truncated_body_from_this_projects_export_keeps_its_size() -> None:
    entry = with_change("response.content", {"size": 5000, "text": "abc", "_truncated": True})
    entry["response"]["bodySize"] = 5000
    response = entry_to_flow(entry).response
    assert response is not None
    assert (response.body, response.body_size, response.body_truncated) == (b"abc", 5000, True)
    # Without the mark the text is the whole body, whatever the sizes say.
    entry = with_change("response.content", {"size": 5000, "text": "abc"})
    response = entry_to_flow(entry).response
    assert response is not None and (response.body_size, response.body_truncated) == (3, False)


def test_a_posted_base64_body_from_this_projects_export() -> None:
    entry = with_change("request.postData", {"text": "AAEC", "_encoding": "base64"})
    assert entry_to_flow(entry).request.body == b"\x00\x01\x02"


def test_a_missing_body_counts_its_size_where_the_file_gives_one() -> None:
    entry = with_change("response.content", {"size": 40, "mimeType": "image/png"})
    entry["response"]["bodySize"] = -1
    response = entry_to_flow(entry).response
    assert response is not None
    assert (response.body, response.body_size, response.body_truncated) == (b"", 40, True)
    entry["response"]["content"]["size"] = -1
    response = entry_to_flow(entry).response
    assert response is not None and (response.body_size, response.body_truncated) == (0, False)


# WebSocket messages.


def ws_entry(messages: object, **extra: object) -> dict[str, Any]:
    entry = with_change("request.url", "wss://example.com/socket")
    entry["response"] = {"status": 101, "headers": [], "content": {"size": 0}}
    entry["_resourceType"] = "websocket"
    entry["_webSocketMessages"] = messages
    entry.update(extra)
    return entry


def test_websocket_close_frames_name_their_code_and_handshake() -> None:
    close = base64.b64encode((1001).to_bytes(2, "big") + b"going").decode()
    flow = entry_to_flow(
        ws_entry(
            [
                {"type": "receive", "time": 5.0, "opcode": CLOSE, "data": close},
                {"type": "send", "time": 5.1, "opcode": CLOSE, "data": "A+k="},
            ]
        )
    )
    ws = flow.websocket
    assert ws is not None
    assert [(m.close_code, m.payload) for m in ws.messages] == [(1001, b"going"), (1001, b"")]
    assert (ws.close_code, ws.close_reason, ws.closed_by) == (1001, "going", DOWN)
    assert ws.closing_handshake and ws.end == "closed"
    assert (ws.msgs_up, ws.msgs_down) == (0, 0)  # control frames are listed, not counted


def test_websocket_sizes_from_this_projects_export_and_limits() -> None:
    big = "x" * (300 * 1024)
    flow = entry_to_flow(
        ws_entry(
            [
                {"type": "send", "time": 1, "opcode": TEXT, "data": big},
                {"type": "send", "time": 2, "opcode": TEXT, "data": "cut", "_size": 99,
                 "_truncated": True},
                {"type": "receive", "time": 3, "opcode": BINARY, "data": "not base64 ☕"},
            ]
        )
    )  # fmt: skip
    ws = flow.websocket
    assert ws is not None
    first, cut, binary = ws.messages
    assert (first.size, len(first.payload), first.truncated) == (300 * 1024, 256 * 1024, True)
    assert (cut.size, cut.payload, cut.truncated) == (99, b"cut", True)
    assert binary.payload == "not base64 ☕".encode()


def test_websocket_aborted_and_many_messages() -> None:
    messages = [{"type": "send", "time": i, "opcode": 1, "data": "m"} for i in range(10_050)]
    flow = entry_to_flow(ws_entry(messages, _webSocketClose="aborted"))
    ws = flow.websocket
    assert ws is not None
    assert ws.end == "aborted"
    assert (len(ws.messages), ws.dropped, ws.msgs_up) == (10_000, 50, 10_050)
    assert ws.messages[0].seq == 50
