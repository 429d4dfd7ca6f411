from __future__ import annotations

import gzip
import json

from inspector.core.bodyview import PREVIEW_LIMIT, BodyKind, classify, hexdump, render
from inspector.core.flow import Response


def _resp(body: bytes, *headers: tuple[bytes, bytes]) -> Response:
    return Response(status=200, headers=list(headers), body=body, body_size=len(body))


def test_json_is_pretty_printed() -> None:
    view = render(_resp(b'{"a":[1,2],"b":"\xc3\xa9"}', (b"Content-Type", b"application/json")))
    assert view.kind is BodyKind.JSON
    assert view.text == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": "é"\n}'


def test_gzipped_json_is_decoded_and_noted() -> None:
    body = gzip.compress(json.dumps({"x": 1}).encode())
    view = render(
        _resp(body, (b"Content-Type", b"application/json"), (b"Content-Encoding", b"gzip"))
    )
    assert view.kind is BodyKind.JSON
    assert '"x": 1' in view.text
    assert view.note == "decoded from gzip"


def test_sniffing_without_content_type() -> None:
    assert classify("", b'{"a": 1}') is BodyKind.JSON
    assert classify("", b"\x89PNG\r\n\x1a\n....") is BodyKind.IMAGE
    assert classify("", b"plain words") is BodyKind.TEXT
    assert classify("", b"\x00\x01\x02") is BodyKind.BINARY
    assert classify("application/octet-stream", b"") is BodyKind.EMPTY
    assert classify("text/html", b"<p>") is BodyKind.TEXT
    assert classify("image/svg+xml", b"<svg/>") is BodyKind.TEXT


def test_charset_is_honoured() -> None:
    view = render(
        _resp("héllo".encode("latin-1"), (b"Content-Type", b"text/plain; charset=iso-8859-1"))
    )
    assert view.text == "héllo"


def test_a_charset_no_codec_has_reads_as_utf8() -> None:
    for charset in (b"no-such-codec", b"utf\x00-8"):
        view = render(_resp("héllo".encode(), (b"Content-Type", b"text/plain; charset=" + charset)))
        assert view.text == "héllo"


def test_binary_is_a_hexdump() -> None:
    view = render(_resp(bytes(range(20))))
    assert view.kind is BodyKind.BINARY
    assert view.text.splitlines()[0].startswith("00000000  00 01 02")
    assert hexdump(b"AB") == "00000000  41 42" + " " * 42 + "  AB"


def test_bad_encoding_shows_raw_bytes_with_a_note() -> None:
    view = render(_resp(b"not gzip", (b"Content-Encoding", b"gzip")))
    assert view.kind is BodyKind.TEXT
    assert view.text == "not gzip"
    assert "showing the raw bytes" in view.note


def test_large_bodies_open_truncated_and_show_all_on_request() -> None:
    body = b"a" * (PREVIEW_LIMIT + 10)
    view = render(_resp(body, (b"Content-Type", b"text/plain")))
    assert view.truncated and len(view.text) == PREVIEW_LIMIT
    assert "showing the first" in view.note
    full = render(_resp(body, (b"Content-Type", b"text/plain")), show_all=True)
    assert not full.truncated and len(full.text) == len(body)


def test_capture_truncation_is_noted() -> None:
    resp = _resp(b"abc", (b"Content-Type", b"text/plain"))
    resp.body_size, resp.body_truncated = 1000, True
    assert "capture kept 3 of 1,000 bytes" in render(resp).note
