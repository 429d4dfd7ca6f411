"""Edits to a held flow: every field checked before anything applies,
headers set and removed, bodies encoded again and framed by length."""

from __future__ import annotations

import gzip
import zlib
from typing import Any

import brotli
import pytest
import zstandard

from inspector.core.decode import decode_body
from inspector.core.edits import EditError, apply_headers, changes, edit_from_wire, with_body


@pytest.mark.parametrize(
    ("args", "phase", "message"),
    [
        ({"method": "G ET"}, "request", "invalid method"),
        ({"method": ""}, "request", "invalid method"),
        ({"method": "CONNECT"}, "request", "CONNECT"),
        ({"method": "GET"}, "response", "only be changed on a request"),
        ({"url": "/relative"}, "request", "http:// or https://"),
        ({"url": "http://a b/"}, "request", "spaces"),
        ({"url": "http://:80/"}, "request", "invalid URL"),
        ({"url": "http://user@host/"}, "request", "invalid URL"),
        ({"url": 5}, "request", "must be text"),
        ({"headers": "x"}, "request", "pairs"),
        ({"headers": [[b"A"]]}, "request", "pairs"),
        ({"headers": [["A", "b"]]}, "request", "pairs"),
        ({"set_headers": [[b"A B", b"x"]]}, "request", "invalid header name"),
        ({"set_headers": [[b"", b"x"]]}, "request", "invalid header name"),
        ({"set_headers": [[b"A:", b"x"]]}, "request", "invalid header name"),
        ({"set_headers": [[b"A", b"x\x00"]]}, "request", "NUL"),
        ({"remove_headers": ["A"]}, "request", "list of header names"),
        ({"remove_headers": [b"A B"]}, "request", "invalid header name"),
        ({"body": "text"}, "request", "must be bytes"),
        ({"encoding": "zip"}, "request", "keep or remove"),
        ({"status": 200}, "request", "only be changed on a response"),
        ({"status": 1000}, "response", "200 to 999"),
        ({"status": 99}, "response", "200 to 999"),
        ({"status": "200"}, "response", "200 to 999"),
        ({"reason": "a\r\nb"}, "response", "one line"),
        ({"reason": "x" * 300}, "response", "one line"),
    ],
)
def test_an_invalid_edit_is_refused_naming_the_field(
    args: dict[str, Any], phase: str, message: str
) -> None:
    with pytest.raises(EditError, match=message):
        edit_from_wire(args, phase)


def test_headers_are_replaced_set_and_removed_in_order() -> None:
    headers = [(b"A", b"1"), (b"B", b"2"), (b"a", b"3"), (b"Content-Encoding", b"gzip")]
    edit = edit_from_wire(
        {"set_headers": [[b"a", b"new"]], "remove_headers": [b"b"], "encoding": "remove"},
        "request",
    )
    assert apply_headers(edit, headers) == [(b"a", b"new")]
    whole = edit_from_wire({"headers": [[b"X", b"1"]]}, "request")
    assert apply_headers(whole, headers) == [(b"X", b"1")]
    assert changes(edit, True) == "headers, body"


@pytest.mark.parametrize("name", ["gzip", "deflate", "br", "zstd", "gzip, br"])
def test_a_body_is_encoded_again_with_the_encoding_it_had(name: str) -> None:
    headers = [(b"Content-Encoding", name.encode()), (b"Transfer-Encoding", b"chunked")]
    framed, body = with_body(headers, b"hello body")
    assert decode_body(body, name.encode()).data == b"hello body"
    assert (b"Content-Length", str(len(body)).encode()) in framed
    assert all(n.lower() != b"transfer-encoding" for n, _ in framed)


def test_an_unknown_encoding_cannot_be_applied() -> None:
    with pytest.raises(EditError, match="remove the Content-Encoding"):
        with_body([(b"Content-Encoding", b"compress")], b"x")


def test_encoders_are_the_standard_ones() -> None:
    _, body = with_body([(b"Content-Encoding", b"gzip")], b"x")
    assert gzip.decompress(body) == b"x"
    _, body = with_body([(b"Content-Encoding", b"deflate")], b"x")
    assert zlib.decompress(body) == b"x"
    _, body = with_body([(b"Content-Encoding", b"br")], b"x")
    assert brotli.decompress(body) == b"x"
    _, body = with_body([(b"Content-Encoding", b"zstd")], b"x")
    assert zstandard.ZstdDecompressor().decompress(body) == b"x"
