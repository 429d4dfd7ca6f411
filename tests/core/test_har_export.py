"""HAR 1.2 export: every file written passes a HAR 1.2 schema check (and the
spec's timing rule), entries map flows as documented, secrets are redacted
unless asked for, and the export streams in bounded memory."""

from __future__ import annotations

import base64
import gzip
import io
import json
import random
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import brotli
import jsonschema
import pytest

from inspector import __version__
from inspector.core.flow import (
    Flow,
    FlowError,
    FlowState,
    Headers,
    Request,
    Response,
    TlsInfo,
    TunnelInfo,
)
from inspector.core.har_export import har_entry, har_timings, write_har
from inspector.core.headers import PackedHeaders
from inspector.core.redact import MARKER
from inspector.core.websocket import BINARY, CLOSE, DOWN, PING, TEXT, UP, WebSocketInfo, WsMessage

SCHEMA = json.loads((Path(__file__).parent.parent / "data" / "har-1.2.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
T0 = 1_700_000_000.25


def test_the_schema_is_a_valid_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_the_schema_rejects_what_the_spec_forbids() -> None:
    good = export_doc([flow()])
    assert VALIDATOR.is_valid(good)
    for path, value in [
        (("log", "version"), "1.1"),
        (("log", "entries", 0, "startedDateTime"), "2023-11-14 22:13:20"),
        (("log", "entries", 0, "timings", "send"), -1),
        (("log", "entries", 0, "request", "sameSite"), "Lax"),
    ]:
        bad = json.loads(json.dumps(good))
        node = bad
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        assert not VALIDATOR.is_valid(bad), path
    missing = json.loads(json.dumps(good))
    del missing["log"]["entries"][0]["response"]["redirectURL"]
    assert not VALIDATOR.is_valid(missing)


# Helpers


def flow(
    method: str = "GET",
    target: str = "/",
    *,
    scheme: str = "http",
    host: str = "example.com",
    port: int | None = None,
    headers: Headers | None = None,
    body: bytes = b"",
    status: int | None = 200,
    reason: str = "OK",
    response_headers: Headers | None = None,
    response_body: bytes = b"",
    **fields: Any,
) -> Flow:
    """A finished flow over a reused connection, 1 ms per phase."""
    if port is None:
        port = 443 if scheme == "https" else 80
    request = Request(
        method=method,
        scheme=scheme,
        host=host,
        port=port,
        target=target,
        headers=headers if headers is not None else [(b"Host", host.encode())],
        body=body,
        body_size=len(body),
    )
    response = None
    if status is not None:
        response = Response(
            status=status,
            reason=reason,
            headers=response_headers if response_headers is not None else [],
            body=response_body,
            body_size=len(response_body),
        )
    times: dict[str, Any] = {
        "t_start": T0,
        "t_request_sent": T0 + 0.001,
        "t_response_start": T0 + 0.002 if response else None,
        "t_end": T0 + 0.003,
        "state": FlowState.COMPLETE,
    }
    return Flow(1, ("127.0.0.1", 50000), request, response, **{**times, **fields})


def check(doc: dict[str, Any]) -> None:
    """Schema-valid, and each entry's ``time`` is the sum of its timings
    other than -1 and ``ssl`` (which ``connect`` includes)."""
    VALIDATOR.validate(doc)
    for entry in doc["log"]["entries"]:
        timings = entry["timings"]
        phases = ("blocked", "dns", "connect", "send", "wait", "receive")
        assert entry["time"] == pytest.approx(sum(max(timings[k], 0) for k in phases), abs=1e-6)
        if timings["ssl"] >= 0:
            assert 0 <= timings["ssl"] <= timings["connect"]


def export_bytes(flows: list[Flow], **options: Any) -> bytes:
    out = io.BytesIO()
    count = write_har(flows, out, **options)
    data = out.getvalue()
    doc = json.loads(data.decode("utf-8"))
    check(doc)
    assert count == len(doc["log"]["entries"])
    return data


def export_doc(flows: list[Flow], **options: Any) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(export_bytes(flows, **options))
    return result


def export_one(f: Flow, **options: Any) -> dict[str, Any]:
    (entry,) = export_doc([f], **options)["log"]["entries"]
    return entry  # type: ignore[no-any-return]


# The document


def test_empty_export_is_a_valid_log() -> None:
    out = io.BytesIO()
    assert write_har([], out) == 0
    doc = json.loads(out.getvalue())
    check(doc)
    assert doc == {
        "log": {
            "version": "1.2",
            "creator": {"name": "Inspector", "version": __version__},
            "pages": [],
            "entries": [],
        }
    }


def test_creator_is_escaped() -> None:
    doc = export_doc([flow()], creator=('My "tool"', "2.0\n"))
    assert doc["log"]["creator"] == {"name": 'My "tool"', "version": "2.0\n"}


def test_simple_get() -> None:
    f = flow(
        target="/search?q=a+b&lang=en#frag",
        headers=[(b"Host", b"example.com"), (b"Accept", b"*/*")],
        response_headers=[
            (b"Content-Type", b"text/plain; charset=utf-8"),
            (b"Content-Length", b"5"),
        ],
        response_body=b"hello",
        upstream_addr=("93.184.216.34", 80),
    )
    entry = export_one(f)
    assert entry["startedDateTime"] == "2023-11-14T22:13:20.250+00:00"
    request = entry["request"]
    assert request["method"] == "GET"
    assert request["url"] == "http://example.com/search?q=a+b&lang=en"
    assert request["httpVersion"] == "HTTP/1.1"
    assert request["headers"] == [
        {"name": "Host", "value": "example.com"},
        {"name": "Accept", "value": "*/*"},
    ]
    assert request["queryString"] == [
        {"name": "q", "value": "a b"},
        {"name": "lang", "value": "en"},
    ]
    assert request["cookies"] == []
    # "GET /search?q=a+b&lang=en HTTP/1.1\r\n" + "Host: example.com\r\n" + "Accept: */*\r\n\r\n"
    assert request["headersSize"] == 36 + 19 + 13 + 2
    assert request["bodySize"] == 0
    assert "postData" not in request
    response = entry["response"]
    assert (response["status"], response["statusText"], response["httpVersion"]) == (
        200,
        "OK",
        "HTTP/1.1",
    )
    assert response["content"] == {
        "size": 5,
        "mimeType": "text/plain; charset=utf-8",
        "text": "hello",
    }
    # "HTTP/1.1 200 OK\r\n" + two headers + "\r\n"
    assert response["headersSize"] == 17 + 41 + 19 + 2
    assert response["bodySize"] == 5
    assert response["redirectURL"] == ""
    assert entry["cache"] == {}
    assert entry["serverIPAddress"] == "93.184.216.34"
    assert entry["connection"] == "50000"
    assert entry["timings"] == {
        "blocked": -1,
        "dns": -1,
        "connect": -1,
        "ssl": -1,
        "send": 1.0,
        "wait": 1.0,
        "receive": 1.0,
    }
    assert entry["time"] == 3.0


@pytest.mark.parametrize(
    ("stamps", "timings"),
    [
        pytest.param(
            {"t_dns": 0.010, "t_connected": 0.030, "t_upstream_connected": 0.070},
            {"dns": 10, "connect": 60, "ssl": 40, "send": 5, "wait": 20, "receive": 15},
            id="new https connection",
        ),
        pytest.param(
            {"t_connected": 0.030, "t_upstream_connected": 0.070},
            {"dns": -1, "connect": 70, "ssl": 40, "send": 5, "wait": 20, "receive": 15},
            id="an address literal: no dns",
        ),
        pytest.param(
            {},
            {"dns": -1, "connect": -1, "ssl": -1, "send": 75, "wait": 20, "receive": 15},
            id="reused connection",
        ),
    ],
)
def test_timings_https(stamps: dict[str, float], timings: dict[str, float]) -> None:
    f = flow(scheme="https", upstream_tls=TlsInfo("TLSv1.3", "TLS_AES_128_GCM_SHA256"))
    for name, offset in {
        "t_request_sent": 0.075,
        "t_response_start": 0.095,
        "t_end": 0.110,
    }.items():
        setattr(f, name, T0 + offset)
    for name, offset in stamps.items():
        setattr(f, name, T0 + offset)
    result = har_timings(f)
    assert result == pytest.approx({"blocked": -1, **timings})


def test_timings_plain_http_has_no_ssl() -> None:
    f = flow(t_dns=T0 + 0.001, t_connected=T0 + 0.003, t_upstream_connected=T0 + 0.003)
    f.t_request_sent, f.t_response_start, f.t_end = T0 + 0.004, T0 + 0.005, T0 + 0.006
    assert har_timings(f) == pytest.approx(
        {"blocked": -1, "dns": 1, "connect": 2, "ssl": -1, "send": 1, "wait": 1, "receive": 1}
    )


@pytest.mark.parametrize(
    ("stamps", "expected"),
    [
        pytest.param(
            {"t_request_sent": None, "t_response_start": None},
            {"blocked": 500, "send": 0, "wait": 0, "receive": 0},
            id="failed before a connection: blocked, as Chrome",
        ),
        pytest.param(
            {"t_upstream_connected": 0.1, "t_request_sent": None, "t_response_start": None},
            {"connect": 100, "send": 400, "wait": 0, "receive": 0},
            id="failed while sending",
        ),
        pytest.param(
            {"t_request_sent": 0.1, "t_response_start": None},
            {"send": 100, "wait": 400, "receive": 0},
            id="failed waiting for the answer",
        ),
        pytest.param(
            {"t_request_sent": 0.1, "t_response_start": 0.2, "t_end": None},
            {"send": 100, "wait": 100, "receive": 0},
            id="still receiving",
        ),
        pytest.param(
            {"t_request_sent": 0.3, "t_response_start": 0.2},
            {"send": 300, "wait": 0, "receive": 200},
            id="answered before the request ended",
        ),
    ],
)
def test_timings_of_unfinished_and_failed_flows(
    stamps: dict[str, float | None], expected: dict[str, float]
) -> None:
    f = flow(status=None, t_end=T0 + 0.5)
    for name, offset in stamps.items():
        setattr(f, name, None if offset is None else T0 + offset)
    result = har_timings(f)
    assert {k: result[k] for k in expected} == pytest.approx(expected)
    export_one(f)  # and schema-valid


# Bodies


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


@pytest.mark.parametrize(
    ("content_type", "body", "text", "encoding"),
    [
        (b"application/json", b'{"a": [1, 2]}', '{"a": [1, 2]}', None),
        (b"text/html; charset=utf-8", "<p>héllo</p>".encode(), "<p>héllo</p>", None),
        (b"text/plain; charset=iso-8859-1", b"caf\xe9", "café", None),
        (b"text/plain; charset=no-such-charset", b"plain", "plain", None),
        (b"text/plain; charset=base64", b"plain", "plain", None),
        (None, b"sniffed text", "sniffed text", None),
        (b"image/png", PNG, base64.b64encode(PNG).decode(), "base64"),
        (b"application/octet-stream", b"\x00\x01\x02", "AAEC", "base64"),
        # Claims text but is not valid in its charset: base64 keeps every byte.
        (b"text/plain; charset=utf-8", b"bad \xff\xfe", "YmFkIP/+", "base64"),
    ],
)
def test_response_content_text_or_base64(
    content_type: bytes | None, body: bytes, text: str, encoding: str | None
) -> None:
    headers = [] if content_type is None else [(b"Content-Type", content_type)]
    content = export_one(flow(response_headers=headers, response_body=body))["response"]["content"]
    assert content["text"] == text
    assert content.get("encoding") == encoding
    assert content["size"] == len(body)
    assert "compression" not in content
    if encoding == "base64":
        assert base64.b64decode(content["text"]) == body
    assert content["mimeType"] == (content_type.decode() if content_type else "x-unknown")


@pytest.mark.parametrize(
    ("name", "compress"),
    [("gzip", gzip.compress), ("br", brotli.compress), ("gzip, br", None)],
)
def test_compressed_bodies_are_decoded(name: str, compress: Any) -> None:
    plain = b'{"items": "' + b"x" * 5000 + b'"}'
    wire = brotli.compress(gzip.compress(plain)) if compress is None else compress(plain)
    headers = [(b"Content-Type", b"application/json"), (b"Content-Encoding", name.encode())]
    response = export_one(flow(response_headers=headers, response_body=wire))["response"]
    content = response["content"]
    assert content["text"] == plain.decode()
    assert content["size"] == len(plain)
    assert content["compression"] == len(plain) - len(wire)
    assert response["bodySize"] == len(wire)
    assert content["comment"] == f"decoded from {name}"


def test_compressed_binary_is_base64_of_the_decoded_bytes() -> None:
    headers = [(b"Content-Type", b"image/png"), (b"Content-Encoding", b"gzip")]
    wire = gzip.compress(PNG)
    content = export_one(flow(response_headers=headers, response_body=wire))["response"]["content"]
    assert content["encoding"] == "base64"
    assert base64.b64decode(content["text"]) == PNG
    assert content["size"] == len(PNG)


def test_body_that_does_not_decode_is_kept_as_received() -> None:
    headers = [(b"Content-Type", b"text/plain"), (b"Content-Encoding", b"gzip")]
    content = export_one(flow(response_headers=headers, response_body=b"not gzip"))["response"][
        "content"
    ]
    assert content["text"] == "not gzip"
    assert content["size"] == 8
    assert "compression" not in content
    assert "not valid gzip" in content["comment"]


def test_truncated_body_is_marked() -> None:
    f = flow(response_headers=[(b"Content-Type", b"text/plain; charset=utf-8")])
    assert f.response is not None
    # The capture stopped inside a two-byte character: the piece is left out.
    f.response.body = b"ab" + "é".encode()[:1]
    f.response.body_size, f.response.body_truncated = 1000, True
    content = export_one(f)["response"]["content"]
    assert content["text"] == "ab"
    assert content["_truncated"] is True
    assert content["size"] == 1000
    assert content["comment"] == "capture kept 3 of 1,000 bytes"
    assert export_one(f)["response"]["bodySize"] == 1000


def test_truncated_compressed_body() -> None:
    plain = random.Random(1).randbytes(50_000)
    wire = gzip.compress(plain)
    f = flow(response_headers=[(b"Content-Encoding", b"gzip")], response_body=wire[:2000])
    assert f.response is not None
    f.response.body_size, f.response.body_truncated = len(wire), True
    response = export_one(f)["response"]
    content = response["content"]
    assert content["_truncated"] is True
    assert "compression" not in content
    decoded = base64.b64decode(content["text"])
    assert decoded and plain.startswith(decoded)
    assert content["size"] == len(decoded)
    assert response["bodySize"] == len(wire)


def test_truncated_request_body() -> None:
    f = flow(
        "POST",
        body=b"a=1&b=2&c=",
        headers=[(b"Content-Type", b"application/x-www-form-urlencoded")],
    )
    f.request.body_size, f.request.body_truncated = 5000, True
    request = export_one(f)["request"]
    assert request["bodySize"] == 5000
    post = request["postData"]
    assert post["_truncated"] is True
    assert post["text"] == "a=1&b=2&c="
    assert post["comment"] == "capture kept 10 of 5,000 bytes"


def test_dropped_bodies() -> None:
    f = flow(
        "POST",
        body=b"payload",
        response_headers=[(b"Content-Type", b"text/plain")],
        response_body=b"answer",
        bodies_dropped=True,
    )
    entry = export_one(f)
    content = entry["response"]["content"]
    assert "text" not in content
    assert content["size"] == 6
    assert "not kept" in content["comment"]
    assert entry["request"]["postData"]["text"] == ""
    assert "not kept" in entry["request"]["postData"]["comment"]


# Requests with bodies


def test_urlencoded_form_post() -> None:
    f = flow(
        "POST",
        "/login",
        headers=[(b"Content-Type", b"application/x-www-form-urlencoded")],
        body=b"user=bob+smith&lang=caf%C3%A9&empty=",
    )
    request = export_one(f)["request"]
    assert request["bodySize"] == len(f.request.body)
    assert request["postData"] == {
        "mimeType": "application/x-www-form-urlencoded",
        "text": "user=bob+smith&lang=caf%C3%A9&empty=",
        "params": [
            {"name": "user", "value": "bob smith"},
            {"name": "lang", "value": "café"},
            {"name": "empty", "value": ""},
        ],
    }


MULTIPART_TYPE = b"multipart/form-data; boundary=----b0undary"


def multipart_body(file_data: bytes) -> bytes:
    return (
        b"------b0undary\r\n"
        b'Content-Disposition: form-data; name="title"\r\n\r\n'
        b"Holiday \xc3\xa9t\xc3\xa9\r\n"
        b"------b0undary\r\n"
        b'Content-Disposition: form-data; name="photo"; filename="p.png"\r\n'
        b"Content-Type: image/png\r\n\r\n" + file_data + b"\r\n"
        b"------b0undary--\r\n"
    )


def test_multipart_post_text() -> None:
    body = multipart_body(b"not really a png")
    post = export_one(flow("POST", headers=[(b"Content-Type", MULTIPART_TYPE)], body=body))[
        "request"
    ]["postData"]
    assert post["text"] == body.decode()
    assert "_encoding" not in post
    assert post["params"] == [
        {"name": "title", "value": "Holiday été"},
        {"name": "photo", "fileName": "p.png", "contentType": "image/png"},
    ]


def test_multipart_post_with_binary_file_is_base64() -> None:
    body = multipart_body(PNG)
    post = export_one(flow("POST", headers=[(b"Content-Type", MULTIPART_TYPE)], body=body))[
        "request"
    ]["postData"]
    assert post["_encoding"] == "base64"
    assert base64.b64decode(post["text"]) == body
    assert [p["name"] for p in post["params"]] == ["title", "photo"]


def test_json_post_has_text_and_no_params() -> None:
    f = flow("PUT", headers=[(b"Content-Type", b"application/json")], body=b'{"a": 1}')
    assert export_one(f)["request"]["postData"] == {
        "mimeType": "application/json",
        "text": '{"a": 1}',
    }


def test_gzipped_request_body_is_decoded() -> None:
    wire = gzip.compress(b"a=1&b=2")
    headers = [
        (b"Content-Type", b"application/x-www-form-urlencoded"),
        (b"Content-Encoding", b"gzip"),
    ]
    request = export_one(flow("POST", headers=headers, body=wire))["request"]
    assert request["bodySize"] == len(wire)
    assert request["postData"]["text"] == "a=1&b=2"
    assert request["postData"]["params"] == [
        {"name": "a", "value": "1"},
        {"name": "b", "value": "2"},
    ]


# Status codes and methods without bodies


@pytest.mark.parametrize(
    ("method", "status", "headers"),
    [
        ("HEAD", 200, [(b"Content-Type", b"text/html"), (b"Content-Length", b"1234")]),
        ("DELETE", 204, []),
        ("GET", 304, [(b"Content-Encoding", b"gzip"), (b"ETag", b'"v1"')]),
    ],
)
def test_responses_without_a_body(method: str, status: int, headers: Headers) -> None:
    entry = export_one(flow(method, status=status, response_headers=headers))
    response = entry["response"]
    assert response["status"] == status
    assert response["bodySize"] == 0
    assert response["content"]["size"] == 0
    assert response["content"]["text"] == ""
    assert "comment" not in response["content"]
    assert "postData" not in entry["request"]


# Failures


def test_flow_without_a_response_has_status_zero_and_its_error() -> None:
    f = flow(status=None, error=FlowError("connect-refused", "connection refused by example.com"))
    f.state = FlowState.FAILED
    response = export_one(f)["response"]
    assert response["status"] == 0
    assert response["_error"] == "connection refused by example.com"
    assert response["_errorKind"] == "connect-refused"
    assert response["bodySize"] == -1
    assert response["headersSize"] == -1
    assert response["content"] == {"size": 0, "mimeType": "x-unknown"}


def test_flow_answered_with_an_error() -> None:
    f = flow(
        status=502,
        reason="Bad Gateway",
        response_headers=[(b"Content-Type", b"text/plain")],
        response_body=b"no such host",
        error=FlowError("dns", "example.com: name not known"),
    )
    response = export_one(f)["response"]
    assert response["status"] == 502
    assert response["content"]["text"] == "no such host"
    assert response["_error"] == "example.com: name not known"
    assert response["_errorKind"] == "dns"


def test_pending_flow_says_no_response_yet() -> None:
    f = flow(status=None, t_end=None, state=FlowState.PENDING)
    response = export_one(f)["response"]
    assert response["status"] == 0
    assert "_error" not in response
    assert response["comment"] == "no response yet"


# Addresses


@pytest.mark.parametrize(
    ("scheme", "host", "port", "url"),
    [
        ("http", "::1", 8080, "http://[::1]:8080/p?x=1"),
        ("https", "2001:db8::1", 443, "https://[2001:db8::1]/p?x=1"),
        ("http", "example.com", 8000, "http://example.com:8000/p?x=1"),
        ("https", "example.com", 80, "https://example.com:80/p?x=1"),
        ("http", "127.0.0.1", 80, "http://127.0.0.1/p?x=1"),
    ],
)
def test_urls(scheme: str, host: str, port: int, url: str) -> None:
    f = flow(target="/p?x=1", scheme=scheme, host=host, port=port, upstream_addr=(host, port))
    entry = export_one(f)
    assert entry["request"]["url"] == url
    assert entry["serverIPAddress"] == host


def test_header_bytes_that_are_not_utf8_are_latin1() -> None:
    f = flow(
        headers=[(b"X-Latin", b"caf\xe9"), (b"X-Utf8", "café".encode())],
        response_headers=[(b"Content-Disposition", b'attachment; filename="r\xe9sum\xe9.pdf"')],
    )
    data = export_bytes([f], include_secrets=True)
    data.decode("utf-8")  # the file is UTF-8 whatever the headers held
    entry = json.loads(data)["log"]["entries"][0]
    assert entry["request"]["headers"] == [
        {"name": "X-Latin", "value": "café"},
        {"name": "X-Utf8", "value": "café"},
    ]
    assert entry["response"]["headers"][0]["value"] == 'attachment; filename="résumé.pdf"'


def test_packed_headers() -> None:
    f = flow(headers=PackedHeaders([(b"Host", b"example.com"), (b"Cookie", b"a=1")]))
    request = export_one(f, include_secrets=True)["request"]
    assert request["headers"][1] == {"name": "Cookie", "value": "a=1"}
    assert request["cookies"] == [{"name": "a", "value": "1"}]


def test_raw_bytes_in_the_target_are_percent_encoded() -> None:
    # The proxy reads the target as latin-1: these are the UTF-8 bytes of
    # "/café xÿ?q=é" sent raw.
    target = "/café x\xff?q=é".encode().decode("latin-1")
    f = flow(target=target)
    request = export_one(f)["request"]
    assert request["url"] == "http://example.com/caf%C3%A9%20x%C3%BF?q=%C3%A9"
    assert request["queryString"] == [{"name": "q", "value": "é"}]
    # The head's size counts the bytes as sent.
    assert request["headersSize"] == len(f"GET {target} HTTP/1.1\r\n") + 19 + 2


def test_imported_target_with_any_character() -> None:
    f = flow(target="/日本?q=\udcff", imported=True)
    assert export_one(f)["request"]["url"] == "http://example.com/%E6%97%A5%E6%9C%AC?q=%ED%B3%BF"


def test_reason_phrase_bytes() -> None:
    f = flow(reason="Tr\xc3\xa8s bien")  # UTF-8 read as latin-1
    assert export_one(f)["response"]["statusText"] == "Très bien"


def test_lone_surrogate_still_makes_valid_json() -> None:
    f = flow(reason="OK \udcff", imported=True)
    data = export_bytes([f])
    data.decode("utf-8")
    assert json.loads(data)["log"]["entries"][0]["response"]["statusText"] == "OK \udcff"


# Tunnels, imports, WebSockets


def test_connect_tunnels_are_not_entries() -> None:
    tunnel = flow(
        "CONNECT", "example.com:443", host="example.com", port=443, tunnel=TunnelInfo("intercept")
    )
    tunnel.response = Response(status=200, reason="Connection Established")
    passthrough = flow("CONNECT", "other.example:443", tunnel=TunnelInfo("passthrough"))
    refused = flow("CONNECT", "nowhere.example:443", status=502, error=FlowError("dns", "no"))
    inner = flow(scheme="https", target="/inside", tunnel_id=tunnel.id)
    doc = export_doc([tunnel, passthrough, refused, inner])
    assert [e["request"]["url"] for e in doc["log"]["entries"]] == ["https://example.com/inside"]
    assert har_entry(tunnel) is None


def test_imported_flow_keeps_its_version_and_times() -> None:
    f = flow(
        imported=True, t_dns=T0 + 0.002, t_connected=T0 + 0.005, t_upstream_connected=T0 + 0.005
    )
    assert f.response is not None
    f.request.version = f.response.version = "http/2.0"
    f.t_request_sent, f.t_response_start, f.t_end = T0 + 0.006, T0 + 0.0165, T0 + 0.020
    entry = export_one(f)
    assert entry["request"]["httpVersion"] == entry["response"]["httpVersion"] == "http/2.0"
    assert entry["startedDateTime"] == "2023-11-14T22:13:20.250+00:00"
    assert entry["timings"] == pytest.approx(
        {"blocked": -1, "dns": 2, "connect": 3, "ssl": -1, "send": 1, "wait": 10.5, "receive": 3.5}
    )
    assert entry["time"] == pytest.approx(20)
    assert entry["request"]["headersSize"] == entry["response"]["headersSize"] == -1


def websocket_flow(messages: list[WsMessage], dropped: int = 0) -> Flow:
    info = WebSocketInfo(tls=True)
    for message in messages:
        info.add(message, 100, 10**6)
    info.drop_oldest(dropped)
    f = flow(
        target="/socket?token=t0k",
        scheme="https",
        headers=[
            (b"Host", b"example.com"),
            (b"Upgrade", b"websocket"),
            (b"Connection", b"Upgrade"),
        ],
        status=101,
        reason="Switching Protocols",
        websocket=info,
    )
    f.t_end = T0 + 60
    return f


def test_websocket_messages_as_chrome_writes_them() -> None:
    messages = [
        WsMessage(0, UP, T0 + 1.5, TEXT, 9, b'{"hi": 1}'),
        WsMessage(0, DOWN, T0 + 1.75, BINARY, 3, b"\x00\x01\xff"),
        WsMessage(0, DOWN, T0 + 2, PING, 2, b"hb"),
        WsMessage(0, UP, T0 + 3, TEXT, 300_000, "é".encode() * 100 + b"\xc3"),
        WsMessage(0, UP, T0 + 4, CLOSE, 6, b"done", close_code=1000),
        WsMessage(0, DOWN, T0 + 4.1, CLOSE, 0, b"", close_code=1005),
    ]
    entry = export_one(websocket_flow(messages), include_secrets=True)
    assert entry["_resourceType"] == "websocket"
    assert entry["request"]["url"] == "wss://example.com/socket?token=t0k"
    assert entry["response"]["status"] == 101
    # The entry is the handshake; the socket's hour is in its messages.
    assert entry["timings"]["receive"] == 0
    assert entry["_webSocketMessages"] == [
        {"type": "send", "time": T0 + 1.5, "opcode": 1, "data": '{"hi": 1}'},
        {"type": "receive", "time": T0 + 1.75, "opcode": 2, "data": "AAH/"},
        {"type": "receive", "time": T0 + 2, "opcode": 9, "data": "aGI="},
        {
            "type": "send",
            "time": T0 + 3,
            "opcode": 1,
            "data": "é" * 100,
            "_size": 300_000,
            "_truncated": True,
        },
        {
            "type": "send",
            "time": T0 + 4,
            "opcode": 8,
            "data": base64.b64encode(b"\x03\xe8done").decode(),
            "_closeCode": 1000,
        },
        {"type": "receive", "time": T0 + 4.1, "opcode": 8, "data": "", "_closeCode": 1005},
    ]


def test_websocket_messages_are_not_redacted_and_drops_are_noted() -> None:
    messages = [WsMessage(0, UP, T0 + i, TEXT, 12, b"token=secret") for i in range(5)]
    entry = export_one(websocket_flow(messages, dropped=2))
    assert entry["request"]["url"] == f"wss://example.com/socket?token={MARKER}"
    assert [m["data"] for m in entry["_webSocketMessages"]] == ["token=secret"] * 3
    assert entry["comment"] == "the first 2 WebSocket messages were not kept"


def test_websocket_payload_dropped() -> None:
    message = WsMessage(0, DOWN, T0 + 1, BINARY, 500, b"", payload_dropped=True)
    (exported,) = export_one(websocket_flow([message]))["_webSocketMessages"]
    assert exported == {
        "type": "receive",
        "time": T0 + 1,
        "opcode": 2,
        "data": "",
        "_size": 500,
        "_payloadDropped": True,
    }


# Cookies


def test_request_cookies() -> None:
    f = flow(headers=[(b"Cookie", b"a=1; b=x=y"), (b"Cookie", b"c=; flag")])
    cookies = export_one(f, include_secrets=True)["request"]["cookies"]
    assert cookies == [
        {"name": "a", "value": "1"},
        {"name": "b", "value": "x=y"},
        {"name": "c", "value": ""},
        {"name": "flag", "value": ""},
    ]


def test_response_cookies_are_exported() -> None:
    f = flow(
        response_headers=[
            (b"Set-Cookie", b"a=1"),
            (
                b"Set-Cookie",
                b"b=2; Path=/app; Domain=.example.com; Max-Age=60; Secure; HttpOnly; SameSite=Lax",
            ),
            (b"Set-Cookie", b"no-pair"),
        ]
    )
    f.t_response_start = T0 + 1
    cookies = export_one(f, include_secrets=True)["response"]["cookies"]
    assert cookies == [
        {"name": "a", "value": "1", "httpOnly": False, "secure": False},
        {
            "name": "b",
            "value": "2",
            "path": "/app",
            "domain": ".example.com",
            "expires": "2023-11-14T22:14:21.250+00:00",
            "httpOnly": True,
            "secure": True,
            "_sameSite": "Lax",
        },
    ]


# Redaction


SECRETS = [
    "q-tok-1",
    "hunter2",
    "bearer-abc",
    "proxy-pw",
    "cookie-val",
    "set-cookie-val",
    "xapikey-1",
    "xauth-2",
    "ref-sess",
    "loc-sig",
    "multi-key",
    "red-auth",
]


def secret_flow() -> Flow:
    return flow(
        "POST",
        "/login?token=q-tok-1&page=2",
        headers=[
            (b"Host", b"example.com"),
            (b"Authorization", b"Bearer bearer-abc"),
            (b"Proxy-Authorization", b"Basic proxy-pw"),
            (b"Cookie", b"sid=cookie-val"),
            (b"X-Api-Key", b"xapikey-1"),
            (b"X-Auth-Token", b"xauth-2"),
            (b"Referer", b"https://example.com/from?session=ref-sess"),
            (b"Content-Type", b"application/x-www-form-urlencoded"),
        ],
        body=b"user=bob&password=hunter2",
        status=302,
        response_headers=[
            (b"Set-Cookie", b"sid=set-cookie-val; HttpOnly"),
            (b"Location", b"https://example.com/next?sig=loc-sig&auth=red-auth"),
        ],
    )


def multipart_flow() -> Flow:
    body = (
        b'--B\r\nContent-Disposition: form-data; name="comment"\r\n\r\nhello\r\n'
        b'--B\r\nContent-Disposition: form-data; name="api_key"\r\n\r\nmulti-key\r\n--B--\r\n'
    )
    return flow(
        "POST",
        "/upload",
        headers=[(b"Content-Type", b"multipart/form-data; boundary=B")],
        body=body,
    )


def test_secrets_are_redacted_everywhere_by_default() -> None:
    data = export_bytes([secret_flow(), multipart_flow()])
    for secret in SECRETS:
        assert secret.encode() not in data, secret
    entry, upload = json.loads(data)["log"]["entries"]
    request, response = entry["request"], entry["response"]
    assert request["url"] == f"http://example.com/login?token={MARKER}&page=2"
    assert request["queryString"] == [
        {"name": "token", "value": MARKER},
        {"name": "page", "value": "2"},
    ]
    headers = {h["name"]: h["value"] for h in request["headers"]}
    assert headers == {
        "Host": "example.com",
        "Authorization": MARKER,
        "Proxy-Authorization": MARKER,
        "Cookie": MARKER,
        "X-Api-Key": MARKER,
        "X-Auth-Token": MARKER,
        "Referer": f"https://example.com/from?session={MARKER}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    assert request["cookies"] == [{"name": "sid", "value": MARKER}]
    assert request["postData"]["text"] == f"user=bob&password={MARKER}"
    assert request["postData"]["params"][1] == {"name": "password", "value": MARKER}
    assert response["cookies"][0]["value"] == MARKER
    assert response["redirectURL"] == f"https://example.com/next?sig={MARKER}&auth={MARKER}"
    assert upload["request"]["postData"]["params"] == [
        {"name": "comment", "value": "hello"},
        {"name": "api_key", "value": MARKER},
    ]
    assert b"hello" in data


def test_include_secrets_keeps_them() -> None:
    data = export_bytes([secret_flow(), multipart_flow()], include_secrets=True)
    for secret in SECRETS:
        assert secret.encode() in data, secret
    assert MARKER.encode() not in data


# Streaming


class CountingSink:
    """A binary stream that keeps only a count, and notes how far the flows
    had been read at each write."""

    def __init__(self, produced: list[int]) -> None:
        self.size = 0
        self.writes = 0
        self.produced = produced
        self.seen_at_write: list[int] = []

    def write(self, data: bytes) -> int:
        self.size += len(data)
        self.writes += 1
        if self.writes <= 3 or self.writes % 10_000 == 0:
            self.seen_at_write.append(self.produced[0])
        return len(data)


def many_flows(count: int, produced: list[int]) -> Iterator[Flow]:
    headers: Headers = [(b"Host", b"example.com"), (b"Accept", b"application/json")]
    response_headers: Headers = [(b"Content-Type", b"application/json")]
    body = b'{"ok": true, "items": [1, 2, 3]}'
    for index in range(count):
        produced[0] = index + 1
        yield Flow(
            index,
            ("127.0.0.1", 40000),
            Request(
                method="GET", host="example.com", port=80, target=f"/item/{index}", headers=headers
            ),
            Response(
                status=200, reason="OK", headers=response_headers, body=body, body_size=len(body)
            ),
            t_start=T0 + index,
            t_request_sent=T0 + index + 0.001,
            t_response_start=T0 + index + 0.002,
            t_end=T0 + index + 0.003,
        )


@pytest.mark.slow
def test_100k_flows_stream_in_bounded_memory() -> None:
    count = 100_000
    produced = [0]
    sink = CountingSink(produced)
    tracemalloc.start()
    try:
        written = write_har(many_flows(count, produced), sink)  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert written == count
    # The document is tens of megabytes; the export holds one entry at a time.
    assert sink.size > 50 * 1024 * 1024
    assert peak < 1024 * 1024, peak
    # The head went out before any flow was read, and entries as they came.
    assert sink.seen_at_write[:3] == [0, 1, 2]
    assert sink.seen_at_write[3:] == [n - 1 for n in range(10_000, count + 1, 10_000)]


def test_small_export_streams_each_entry() -> None:
    produced = [0]
    sink = CountingSink(produced)
    assert write_har(many_flows(2, produced), sink) == 2  # type: ignore[arg-type]
    assert sink.writes == 4  # the head, two entries, the end


def test_export_to_gzip_file(tmp_path: Path) -> None:
    path = tmp_path / "flows.har.gz"
    with gzip.open(path, "wb") as out:
        assert write_har([flow(), flow(target="/2")], out) == 2
    doc = json.loads(gzip.decompress(path.read_bytes()))
    check(doc)
    assert [e["request"]["url"] for e in doc["log"]["entries"]] == [
        "http://example.com/",
        "http://example.com/2",
    ]
