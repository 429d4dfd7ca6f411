"""HAR import: the sample files of each tool, damaged and foreign input,
a large file read in bounded memory, and any JSON value as an entry."""

from __future__ import annotations

import base64
import copy
import io
import json
import math
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from inspector.core.decode import decode_body
from inspector.core.flow import Flow, FlowState
from inspector.core.har_import import (
    FAILED,
    IMPORT_ERROR,
    NotHar,
    TruncatedHar,
    entry_to_flow,
    read_har,
    sorted_by_start,
)
from inspector.core.websocket import BINARY, DOWN, TEXT, UP
from tests.core.test_har_entry import at, base, with_change

DATA = Path(__file__).parent.parent / "data" / "har"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP4z8DwHwAFAAIBovXB1QAAAABJRU5ErkJggg=="
)


def read(name: str, **options: Any) -> list[Flow]:
    with open(DATA / name, "rb") as source:
        return list(read_har(source, **options))


def read_bytes(data: bytes, **options: Any) -> list[Flow]:
    return list(read_har(io.BytesIO(data), **options))


def har(*entries: object) -> bytes:
    return json.dumps({"log": {"version": "1.2", "entries": list(entries)}}).encode()


def decoded(flow: Flow) -> bytes | None:
    """The response body as a viewer shows it (Content-Encoding undone)."""
    if flow.response is None:
        return None
    response = flow.response
    return decode_body(response.body, response.header(b"content-encoding")).data


# The sample files: what each tool writes, as flows.

# (method, url, status or None, request headers, response headers,
#  decoded response body or None, error kind or None) for every entry.
SAMPLES = {
    "chrome.har": [
        ("GET", "https://shop.example.com/", 200, 7, 5,
         "<!doctype html><title>Shop</title><p>Café crème ☕</p>".encode(), None),
        ("POST", "https://shop.example.com/api/cart?session=abc", 201, 6, 2,
         b'{"items":[1,2]}', None),
        ("GET", "https://cdn.example.net/pixel.png", 200, 5, 3, PNG, None),
        ("GET", "https://tracker.invalid/collect", None, 1, 0, None, "dns"),
        ("GET", "https://shop.example.com/live", 101, 6, 4, b"", None),
    ],
    "edge.har": [
        ("GET", "https://news.example.org/", 200, 6, 3, b"<h1>Headlines</h1><ul></ul>", None),
        ("GET", "https://news.example.org/site.css?v=7", 304, 5, 2,
         b"body{font:16px serif}\n", None),
        ("PUT", "http://[2001:db8::7]:8080/api/items/3", 204, 3, 1, b"", None),
    ],
    "firefox.har": [
        ("GET", "https://docs.example.com/guide/", 200, 5, 4,
         "<!DOCTYPE html>\n<title>Guide</title>\n<p>Naïve résumé</p>\n".encode(), None),
        ("POST", "https://docs.example.com/search", 303, 4, 2, b"", None),
        ("GET", "https://img.example.com/logo.svg", 200, 2, 2, b"", None),
    ],
    "safari.har": [
        ("GET", "https://weather.example.com/", 200, 4, 3,
         "<h1>Sunny</h1><p>21 °C, light wind</p>".encode(), None),
        ("GET", "https://weather.example.com/icons/sun.png", 200, 2, 3, PNG, None),
        ("GET", "https://ads.example.invalid/slot?id=4", None, 1, 0, None, FAILED),
        ("GET", "https://weather.example.com/favicon.ico", 404, 0, 1, b"not found", IMPORT_ERROR),
    ],
    "charles.har": [
        ("POST", "https://api.example.cn/server/protocol?sessionId=s-1", 200, 7, 4,
         b'{"code":1,"rspList":[]}', None),
        ("GET", "http://legacy.example.cn:8081/status.xml", 200, 3, 4,
         "<status>Grüße, façade</status>".encode("latin-1"), None),
        ("GET", "https://down.example.cn/health", None, 1, 0, None, FAILED),
    ],
    "insomnia.har": [
        ("POST", "https://api.example.io/v2/users", 201, 2, 3, b'{"id":42,"name":"Ada"}', None),
        ("GET", "http://localhost:3000/v2/users?limit=2&sort=-created", 200, 0, 4, b"[]", None),
    ],
    "httptoolkit.har": [
        ("GET", "https://app.example.dev/api/me", 200, 6, 3, b'{"user":"ada","plan":"pro"}', None),
        ("POST", "http://127.0.0.1:8000/upload", None, 4, 0, None, FAILED),
        ("GET", "https://app.example.dev/socket?v=2", 101, 5, 3, b"", None),
    ],
    "mitmproxy.har": [
        ("GET", "https://example.com/", 200, 3, 3, b"<title>Example Domain</title>\n", None),
        ("POST", "https://example.com/form", 405, 3, 1, b"", None),
        ("GET", "http://10.255.255.1:81/", None, 1, 0, None, FAILED),
        ("GET", "https://echo.example.com/", 101, 5, 3, b"", None),
    ],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_sample_imports_its_entries(name: str) -> None:
    flows = read(name)
    got = [
        (
            flow.request.method,
            flow.request.url,
            flow.response.status if flow.response else None,
            len(flow.request.headers),
            len(flow.response.headers) if flow.response else 0,
            decoded(flow),
            flow.error.kind if flow.error else None,
        )
        for flow in flows
    ]
    assert got == SAMPLES[name]
    assert [flow.id for flow in flows] == list(range(1, len(flows) + 1))
    for flow in flows:
        assert flow.imported
        assert flow.client_addr == ("", 0)
        assert flow.state is (FlowState.COMPLETE if flow.error is None else FlowState.FAILED)
        assert flow.t_start > 1.7e9  # every sample is from 2024


def test_the_samples_carry_no_error_beyond_the_ones_they_were_written_with() -> None:
    errors = {
        name: [flow.error.message for flow in read(name) if flow.error is not None]
        for name in SAMPLES
    }
    assert errors == {
        "chrome.har": ["net::ERR_NAME_NOT_RESOLVED"],
        "edge.har": [],
        "firefox.har": [],
        "safari.har": [
            "A server with the specified hostname could not be found.",
            "startedDateTime '' is not a date",
        ],
        "charles.har": ["no response (status 0 in the HAR file): Connect: Connection timed out"],
        "insomnia.har": [],
        "httptoolkit.har": ["no response (status 0 in the HAR file)"],
        "mitmproxy.har": ["Connection refused"],
    }


def test_chrome_keeps_http2_pseudo_headers_and_its_version() -> None:
    document, post = read("chrome.har")[:2]
    assert document.request.version == "2"
    assert document.response is not None and document.response.version == "2"
    assert document.request.headers[:4] == [
        (b":authority", b"shop.example.com"),
        (b":method", b"GET"),
        (b":path", b"/"),
        (b":scheme", b"https"),
    ]
    # The fragment is not part of a request target.
    assert post.request.target == "/api/cart?session=abc"
    assert post.request.body == b'{"sku":"A-100","count":2}\n'
    assert post.request.body_size == 26


def test_chrome_timings_become_the_flow_times() -> None:
    flow = read("chrome.har")[0]
    start = at("2024-05-14T09:12:03.101+00:00")
    assert flow.t_start == pytest.approx(start)
    assert flow.t_dns == pytest.approx(start + (2.101 + 14.012) / 1000)
    ready = start + (2.101 + 14.012 + 41.339) / 1000
    assert flow.t_upstream_connected == pytest.approx(ready)
    # connect includes ssl: TCP was up that much before TLS was.
    assert flow.t_connected == pytest.approx(ready - 22.716 / 1000)
    assert flow.t_request_sent == pytest.approx(ready + 0.34 / 1000)
    assert flow.t_response_start == pytest.approx(ready + (0.34 + 55.109) / 1000)
    assert flow.t_end == pytest.approx(start + 118.207 / 1000)
    assert flow.upstream_addr == ("203.0.113.10", 443)


def test_chrome_reused_connection_has_no_connect_times() -> None:
    flow = read("chrome.har")[1]
    assert flow.t_dns is None
    assert flow.t_connected is None
    assert flow.t_upstream_connected is None
    assert flow.t_request_sent is not None


def test_chrome_websocket_messages() -> None:
    flow = read("chrome.har")[4]
    ws = flow.websocket
    assert ws is not None
    assert ws.tls
    assert ws.protocol == "cart.v1"
    assert [(m.direction, m.opcode, m.payload, m.size) for m in ws.messages] == [
        (UP, TEXT, b'{"subscribe":"cart"}', 20),
        (DOWN, TEXT, b'{"cart":{"items":2}}', 20),
        (DOWN, BINARY, bytes([0, 1, 2, 3, 254, 255]), 6),
    ]
    assert [m.seq for m in ws.messages] == [0, 1, 2]
    assert ws.messages[0].t == pytest.approx(1715677923.612345)
    assert (ws.msgs_up, ws.msgs_down, ws.bytes_up, ws.bytes_down) == (1, 2, 20, 26)
    assert not ws.open
    assert flow.request.scheme == "https" and flow.request.port == 443


def test_chrome_entries_out_of_order_sort_by_start() -> None:
    flows = read("chrome.har")
    assert [flow.id for flow in sorted_by_start(flows)] == [1, 3, 4, 2, 5]


def test_chrome_compressed_body_is_stored_encoded_as_its_headers_say() -> None:
    response = read("chrome.har")[0].response
    assert response is not None
    assert response.header(b"content-encoding") == b"br"
    assert not response.body.startswith(b"<!doctype")
    assert response.body_size == len(response.body)
    assert not response.body_truncated


def test_edge_http3_ipv6_and_a_port_of_its_own() -> None:
    document, cached, put = read("edge.har")
    assert document.request.version == "3"
    assert document.response is not None and document.response.version == "3"
    assert document.upstream_addr == ("2001:db8::42", 443)
    assert (put.request.host, put.request.port, put.request.target) == (
        "2001:db8::7",
        8080,
        "/api/items/3",
    )
    assert put.upstream_addr == ("2001:db8::7", 8080)
    assert put.request.body == b"hello"
    # Chrome gives a 304 the cached body; it is what the file holds.
    assert cached.response is not None and cached.response.body == b"body{font:16px serif}\n"


def test_edge_https_with_unknown_tls_time_leaves_the_tcp_time_unknown() -> None:
    flow = read("edge.har")[0]
    assert flow.t_upstream_connected is not None
    assert flow.t_connected is None


def test_firefox_local_offsets_pages_and_a_body_left_out() -> None:
    guide, search, logo = read("firefox.har")
    assert guide.t_start == pytest.approx(at("2024-06-10T12:03:22.512+00:00"))
    assert guide.response is not None and guide.response.version == "2"
    # text wins over params, as readers replay from text.
    assert search.request.body == b"q=streaming+json&page=2&x=1"
    # "Response bodies are not included": the size, no bytes.
    assert logo.response is not None
    assert (logo.response.body, logo.response.body_size, logo.response.body_truncated) == (
        b"",
        1830,
        True,
    )


def test_safari_memory_cache_entry_and_a_missing_date() -> None:
    flows = read("safari.har")
    icon = flows[1]
    assert icon.upstream_addr is None
    assert (icon.t_dns, icon.t_connected, icon.t_upstream_connected) == (None, None, None)
    favicon = flows[3]
    # No date: the previous entry's start, so it sorts where the file put it.
    assert favicon.t_start == flows[2].t_start
    assert favicon.response is not None and favicon.response.status == 404


def test_charles_nulls_form_params_and_latin1_body() -> None:
    post, xml, failed = read("charles.har")
    assert post.response is not None and post.response.reason == ""
    assert post.request.body == b"op=weal&type=7+%26+8"
    assert post.request.headers[-1] == (b"accept-encoding", b"br, gzip, deflate")
    assert xml.request.port == 8081
    assert xml.response is not None
    assert decode_body(xml.response.body, b"gzip").data == "<status>Grüße, façade</status>".encode(
        "latin-1"
    )
    assert failed.response is None
    assert failed.t_end == pytest.approx(failed.t_start + 3.004)


def test_insomnia_posts_text_and_sends_no_headers() -> None:
    create, listing = read("insomnia.har")
    assert create.request.body == b'{\n\t"name": "Ada",\n\t"role": "admin"\n}'
    assert listing.request.headers == []
    assert listing.request.body == b""
    assert listing.t_end == pytest.approx(listing.t_start + 0.031007)


def test_httptoolkit_binary_request_body_and_websocket_close() -> None:
    api, upload, socket = read("httptoolkit.har")
    assert api.response is not None and api.response.headers[0] == (b":status", b"200")
    assert upload.request.body == bytes([0, 1, 2, 3, 254, 255])
    # "time": -1 (not finished), but the phases it gives still add up.
    assert upload.t_end == pytest.approx(upload.t_start + 0.0008)
    ws = socket.websocket
    assert ws is not None
    assert [(m.direction, m.opcode, m.payload) for m in ws.messages] == [
        (UP, TEXT, b"ping"),
        (DOWN, TEXT, b"pong"),
        (DOWN, BINARY, b"\xde\xad\xbe\xef"),
    ]
    assert (ws.close_code, ws.close_reason, ws.end) == (1000, "bye", "closed")
    assert ws.extensions == "permessage-deflate"


def test_mitmproxy_null_timings_and_error() -> None:
    page, form, refused, socket = read("mitmproxy.har")
    assert page.t_start == pytest.approx(at("2024-07-01T06:30:12.345678+00:00"))
    assert page.t_connected == pytest.approx(page.t_upstream_connected - 0.0201)
    assert (form.t_connected, form.t_upstream_connected) == (None, None)
    assert form.request.body == b"a=1&b=two+2"
    assert refused.error is not None and refused.error.message == "Connection refused"
    ws = socket.websocket
    assert ws is not None
    assert [m.payload for m in ws.messages] == [
        "hello über".encode(),
        b"hello \xc3\xbcber",
        b"\xde\xad\xbe\xef",
    ]


def test_a_byte_order_mark_is_skipped() -> None:
    data = (DATA / "chrome.har").read_bytes()
    flows = read_bytes(b"\xef\xbb\xbf" + data)
    assert [flow.request.url for flow in flows] == [flow.request.url for flow in read("chrome.har")]


def test_a_source_that_reads_a_byte_at_a_time() -> None:
    class Trickle(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            return self.data.read(1 if size != 0 else 0)

    data = b"\xef\xbb\xbf" + (DATA / "insomnia.har").read_bytes()
    flows = list(read_har(Trickle(data)))  # type: ignore[arg-type]
    assert [flow.request.method for flow in flows] == ["POST", "GET"]


def test_max_body_cuts_bodies_and_keeps_their_size() -> None:
    flows = read("chrome.har", max_body=4)
    post = flows[1]
    assert (post.request.body, post.request.body_size, post.request.body_truncated) == (
        b'{"sk',
        26,
        True,
    )
    assert post.response is not None
    assert (post.response.body, post.response.body_size) == (b'{"it', 15)
    assert read("chrome.har", max_body=-1)[1].request.body == b""


# Not HAR: raised when read_har is called, before any flow exists.


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"   \n", "the file is empty"),
        (b"\xef\xbb\xbf", "the file is empty"),
        (b"<html><body>hello</body></html>", "not JSON"),
        (b"\x1f\x8b\x08\x00", "not JSON"),
        (b"[1, 2]", "the top level is an array"),
        (b'"log"', "the top level is a string"),
        (b"{}", "there is no log object"),
        (b'{"version": "1.2", "entries": []}', "there is no log object"),
        (b'{"log": "x"}', "log is a string, not an object"),
        (b'{"log": []}', "log is an array, not an object"),
        (b'{"log": {"version": "1.2"}}', "log has no entries array"),
        (b'{"log": {"pages": [{"entries": []}]}}', "log has no entries array"),
        (b'{"log": {"entries": {}}}', "log.entries is an object, not an array"),
        (b'{"log": {"entries": null}}', "log.entries is null, not an array"),
        (b'{"log": {"entries": "[]"}}', "log.entries is a string, not an array"),
        (b'{"log.entries": [{}]}', "there is no log object"),
        (b'{"log": {"version": "1.2", "creator": {', "not valid JSON before the entries"),
        (b'{"log": {"version": 1.2.3, "entries": []}}', "not valid JSON before the entries"),
    ],
)
def test_not_har_is_raised_before_any_flow(data: bytes, message: str) -> None:
    with pytest.raises(NotHar, match=message) as caught:
        read_har(io.BytesIO(data))
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_an_empty_entries_array_is_har_with_no_flows() -> None:
    assert read_bytes(b'{"log": {"entries": []}}') == []


def test_what_follows_the_entries_is_not_read() -> None:
    flows = read_bytes(b'{"log": {"entries": [{}]}, "trailing": garbage')
    assert len(flows) == 1


# Damaged files: the flows before the break, then TruncatedHar.


def test_a_file_cut_inside_an_entry_yields_what_it_could() -> None:
    data = (DATA / "mitmproxy.har").read_bytes()
    cut = data[: data.index(b'"http://10.255.255.1:81/"') + 30]
    flows: list[Flow] = []
    with pytest.raises(TruncatedHar, match="the file ends early, in entry 3") as caught:
        flows.extend(read_har(io.BytesIO(cut)))
    assert caught.value.flows == 3
    assert [flow.id for flow in flows] == [1, 2, 3]
    assert flows[0].error is None and flows[1].error is None
    partial = flows[2]
    assert partial.error is not None and partial.error.kind == IMPORT_ERROR
    assert partial.error.message.startswith("the file ends early, in entry 3")
    # What was read of it is kept.
    assert partial.request.url == "http://10.255.255.1:81/"
    assert partial.t_start == pytest.approx(at("2024-07-01T06:30:13.5+00:00"))


def test_a_file_cut_between_entries_adds_no_flow() -> None:
    data = har({"startedDateTime": "2024-01-01T00:00:00Z"}, {"time": 1})
    cut = data[: data.index(b"},") + 2]
    flows: list[Flow] = []
    with pytest.raises(TruncatedHar, match="the file ends early, after entry 1") as caught:
        flows.extend(read_har(io.BytesIO(cut)))
    assert caught.value.flows == 1
    assert len(flows) == 1


def test_a_file_cut_right_after_the_entries_start() -> None:
    with pytest.raises(TruncatedHar, match="before the first entry"):
        read_bytes(b'{"log": {"entries": [')


def test_garbage_inside_the_entries_is_named() -> None:
    data = har({"request": {"url": "http://a/"}}, {"x": 1}).replace(b'{"x": 1}', b'{"x": nope}')
    flows: list[Flow] = []
    with pytest.raises(TruncatedHar, match="not valid JSON in entry 2") as caught:
        flows.extend(read_har(io.BytesIO(data)))
    assert "\n" not in str(caught.value)
    assert len(flows) == 2
    assert flows[1].error is not None and "not valid JSON in entry 2" in flows[1].error.message


def test_invalid_utf8_inside_the_entries() -> None:
    data = har({"comment": "X"}).replace(b'"X"', b'"\xff\xfe"')
    with pytest.raises(TruncatedHar, match="not valid JSON"):
        read_bytes(data)


def test_bad_entries_in_a_file_are_kept_and_counted() -> None:
    flows = read_bytes(har(base(), 42, "x", with_change("request.url", "nope"), base()))
    assert len(flows) == 5
    assert [flow.error.kind if flow.error else None for flow in flows] == [
        None,
        IMPORT_ERROR,
        IMPORT_ERROR,
        IMPORT_ERROR,
        None,
    ]
    assert sum(flow.error is not None and flow.error.kind == IMPORT_ERROR for flow in flows) == 3
    # A wrong-typed entry takes the previous start, so sorting keeps it in place.
    assert flows[1].t_start == flows[0].t_start


# A large file, read in bounded memory.


@pytest.mark.slow
def test_a_large_file_is_read_with_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "large.har"
    body = "abcdefghij" * 25_600  # 256,000 bytes of text
    image = base64.b64encode(bytes(range(256)) * 1000).decode()
    with open(path, "w", encoding="utf-8") as out:
        out.write('{"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, ')
        out.write('"pages": [], "entries": [')
        count = 0
        while out.tell() < 50 * 1024 * 1024:
            entry = base()
            entry["request"]["url"] = f"https://example.com/{count}"
            content = entry["response"]["content"]
            if count % 2:
                content.update(text=image, encoding="base64", mimeType="application/octet-stream")
            else:
                content["text"] = body
            out.write(("," if count else "") + json.dumps(entry))
            count += 1
        out.write("]}}")
    size = path.stat().st_size
    assert size >= 50 * 1024 * 1024

    seen = 0
    last_url = ""
    tracemalloc.start()
    try:
        with open(path, "rb") as source:
            for flow in read_har(source):
                seen += 1
                last_url = flow.request.url
                assert flow.error is None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert seen == count
    assert last_url == f"https://example.com/{count - 1}"
    # A few entries' worth, never the file: its size would be 50 MiB and up.
    assert peak < size / 10, f"peak {peak:,} bytes for a {size:,}-byte file"


# Any JSON value as an entry: one flow, never an exception.

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def field(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A plausible value most of the time, any JSON value otherwise."""
    return st.one_of(values, values, json_values)


headers = st.lists(
    st.fixed_dictionaries(
        {"name": field(st.sampled_from(["Host", ":path", "content-encoding", "Content-Type"]))},
        optional={
            "value": field(st.sampled_from(["gzip", "br", "x", "text/html; charset=latin-1"]))
        },
    ),
    max_size=4,
)
body_holder = st.fixed_dictionaries(
    {},
    optional={
        "text": field(st.text(max_size=30)),
        "encoding": field(st.just("base64")),
        "_encoding": field(st.just("base64")),
        "params": field(st.lists(st.fixed_dictionaries({"name": st.text(), "value": st.text()}))),
        "mimeType": field(st.sampled_from(["multipart/form-data; boundary=b", ""])),
        "size": json_values,
        "_truncated": json_values,
    },
)
numbers = st.one_of(st.integers(-2, 10**6), st.floats(-1, 1e6), st.just(-1))
har_entries = st.fixed_dictionaries(
    {},
    optional={
        "startedDateTime": field(st.sampled_from(["2024-01-01T00:00:00Z", "2024-13-01", ""])),
        "time": field(numbers),
        "request": field(
            st.fixed_dictionaries(
                {},
                optional={
                    "method": field(st.sampled_from(["GET", "POST", "CONNECT"])),
                    "url": field(
                        st.sampled_from(
                            [
                                "https://a.example/x",
                                "http://[::1]:8080/",
                                "wss://h/",
                                "ftp://x/",
                                "",
                            ]
                        )
                        | st.text(max_size=20)
                    ),
                    "httpVersion": field(st.sampled_from(["HTTP/1.1", "h2", "h3", ""])),
                    "headers": field(headers),
                    "postData": field(body_holder),
                    "_content": field(body_holder),
                    "bodySize": field(numbers),
                },
            )
        ),
        "response": field(
            st.fixed_dictionaries(
                {},
                optional={
                    "status": field(st.integers(-1, 1000)),
                    "statusText": field(st.text(max_size=5)),
                    "httpVersion": field(st.sampled_from(["HTTP/1.1", "http/2.0", ""])),
                    "headers": field(headers),
                    "content": field(body_holder),
                    "bodySize": field(numbers),
                    "_error": field(st.sampled_from(["net::ERR_FAILED", ""])),
                    "_errorKind": json_values,
                },
            )
        ),
        "timings": field(
            st.dictionaries(
                st.sampled_from(["blocked", "dns", "connect", "ssl", "send", "wait", "receive"]),
                field(numbers),
            )
        ),
        "serverIPAddress": field(st.sampled_from(["192.0.2.1", "[::1]:80", "1.2.3.4:99999"])),
        "_webSocketMessages": field(
            st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "type": field(st.sampled_from(["send", "receive"])),
                        "time": field(numbers),
                        "opcode": field(st.sampled_from([1, 2, 8, 9, 10])),
                        "data": field(st.sampled_from(["", "A+g=", "aGk=", "☕"])),
                        "_size": json_values,
                    },
                ),
                max_size=4,
            )
        ),
        "_webSocketClose": field(st.sampled_from(["aborted"]) | st.just({"code": 1000})),
        "comment": json_values,
    },
)


def check(flow: Flow, flow_id: int) -> None:
    assert isinstance(flow, Flow)
    assert flow.id == flow_id
    assert flow.imported
    assert math.isfinite(flow.t_start)
    assert flow.state is (FlowState.COMPLETE if flow.error is None else FlowState.FAILED)
    assert flow.request.body_size >= len(flow.request.body)
    if flow.response is not None:
        assert flow.response.body_size >= len(flow.response.body)


@given(st.one_of(json_values, har_entries))
@example({"timings": {"dns": 10**400}, "time": 10**400})
@example({"startedDateTime": "9999-12-31T23:59:59-12:00", "timings": {"send": 1e308}})
@example({"startedDateTime": "0001-01-01T00:00:00+01:00"})
@example({"request": {"url": "http://[::1"}, "response": {"status": 10**30}})
@example({"request": {"url": "http://\uff03x/"}})
@example({"request": {"headers": [{"name": ":authority", "value": "[::1"}]}})
@example({"response": {"status": 200, "statusText": 10**400}})
@example({"serverIPAddress": "[::1]:99999999999999999999"})
@example({"_webSocketMessages": [{"type": "send", "time": 10**400, "opcode": 1, "data": ""}]})
@example({"_webSocketMessages": [{"type": "send", "time": 1, "opcode": 8, "data": "A"}]})
def test_any_json_value_as_an_entry_is_one_flow(entry: object) -> None:
    check(entry_to_flow(entry, 9), 9)
    flows = read_bytes(har(entry), max_body=16)
    assert len(flows) == 1
    check(flows[0], 1)


@given(st.lists(st.one_of(json_values, har_entries), max_size=5))
def test_any_entries_give_one_flow_each_in_order(entries: list[object]) -> None:
    flows = read_bytes(har(*entries))
    assert [flow.id for flow in flows] == list(range(1, len(entries) + 1))
    expected = []
    start = 0.0
    for position, entry in enumerate(entries, 1):
        expected.append(entry_to_flow(copy.deepcopy(entry), position, fallback_start=start))
        start = expected[-1].t_start
    # (Not the text itself: the parser reads a lone surrogate as "?".)
    assert [(f.error is None, f.response is None, f.t_start) for f in flows] == [
        (f.error is None, f.response is None, f.t_start) for f in expected
    ]
