"""HAR bodies back to the bytes a flow keeps: charsets, Content-Encoding,
base64 and forms."""

from __future__ import annotations

import base64
import gzip

import pytest

from inspector.core.decode import decode_body
from inspector.core.har_body import as_sent, base64_body, form_body, text_body


def content_encoded(encoding: str) -> list[tuple[bytes, bytes]]:
    return [(b"Content-Encoding", encoding.encode()), (b"Content-Type", b"text/plain")]


@pytest.mark.parametrize(
    "encoding", ["gzip", "x-gzip", "deflate", "br", "zstd", "gzip, br", "identity"]
)
def test_a_decoded_text_is_encoded_back_and_decodes_to_it(encoding: str) -> None:
    headers = content_encoded(encoding)
    data = text_body("hello hello hello ☕", headers)
    if encoding != "identity":
        assert data != "hello hello hello ☕".encode()
    assert decode_body(data, encoding.encode()).data == "hello hello hello ☕".encode()


def test_an_unknown_coding_leaves_the_body_decoded() -> None:
    assert text_body("hi", content_encoded("compress")) == b"hi"
    assert text_body("hi", content_encoded("gzip, snappy")) == b"hi"
    assert as_sent(b"", content_encoded("gzip")) == b""


def test_a_base64_body_already_in_its_coding_is_kept() -> None:
    wire = gzip.compress(b"already on the wire")
    text = base64.b64encode(wire).decode()
    assert base64_body(text, content_encoded("gzip")) == wire
    # Decoded base64 (an image, say) is encoded like text.
    plain = base64.b64encode(b"\x89PNG....").decode()
    body = base64_body(plain, content_encoded("gzip"))
    assert body is not None and gzip.decompress(body) == b"\x89PNG...."


def test_base64_tolerates_line_breaks_and_missing_padding() -> None:
    assert base64_body("aGVs\nbG8", []) == b"hello"
    assert base64_body("not base64!", []) is None


@pytest.mark.parametrize(
    ("content_type", "text", "body"),
    [
        ("text/plain; charset=iso-8859-1", "café", "café".encode("latin-1")),
        ('text/plain; charset="windows-1252"', "€5", "€5".encode("cp1252")),
        ("text/html; charset=utf-8", "café", "café".encode()),
        ("text/plain; charset=shift_jis", "日本", "日本".encode("shift_jis")),
        # Does not fit the charset, or no such charset: UTF-8.
        ("text/plain; charset=ascii", "café", "café".encode()),
        ("text/plain; charset=no-such-thing", "café", "café".encode()),
        ("text/plain; charset=a\x00b", "café", "café".encode()),
        ("text/plain; charset=base64", "café", "café".encode()),
        ("application/json", "\ud800", b"\xed\xa0\x80"),
    ],
)
def test_text_goes_back_into_its_charset(content_type: str, text: str, body: bytes) -> None:
    assert text_body(text, [(b"Content-Type", content_type.encode())]) == body


def test_form_params_without_text_become_a_form_body() -> None:
    params: list[object] = [{"name": "a b", "value": "1&2"}, {"name": "c"}, {"value": "lost"}]
    body, bad = form_body(params, "application/x-www-form-urlencoded", [])
    assert (body, bad) == (b"a+b=1%262&c=", 1)


def test_multipart_params_become_a_multipart_body() -> None:
    params: list[object] = [
        {"name": "title", "value": "Hi"},
        {"name": "file", "fileName": "a.txt", "contentType": "text/plain", "value": "data"},
    ]
    body, bad = form_body(params, "multipart/form-data; boundary=XyZ", [])
    assert bad == 0
    assert body == (
        b'--XyZ\r\nContent-Disposition: form-data; name="title"\r\n\r\nHi\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\ndata\r\n--XyZ--\r\n"
    )
    # Without a boundary there is no multipart to write.
    assert form_body(params[:1], "multipart/form-data", [])[0] == b"title=Hi"
