"""Form bodies read as fields: urlencoded pairs, header parameters and
multipart parts, including bodies cut at the capture limit."""

from __future__ import annotations

import pytest

from inspector.core import forms


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ("", []),
        ("a=1", [("a", "1")]),
        ("a=1&b=2&a=3", [("a", "1"), ("b", "2"), ("a", "3")]),
        ("flag&x=", [("flag", ""), ("x", "")]),
        ("q=hello+world&p=%2B%26%3D", [("q", "hello world"), ("p", "+&=")]),
        ("name=caf%C3%A9", [("name", "café")]),
        # Not UTF-8: each byte kept as a latin-1 character, never replaced.
        ("name=caf%E9", [("name", "café")]),
        ("a=1&&b=2", [("a", "1"), ("b", "2")]),
        ("a=x=y", [("a", "x=y")]),
    ],
)
def test_parse_urlencoded(body: str, fields: list[tuple[str, str]]) -> None:
    assert forms.parse_urlencoded(body) == fields


@pytest.mark.parametrize(
    ("data", "expected"),
    [(b"plain", "plain"), (b"caf\xc3\xa9", "café"), (b"caf\xe9", "café"), (b"\xff\xfe", "ÿþ")],
)
def test_text_is_utf8_else_latin1(data: bytes, expected: str) -> None:
    assert forms.text(data) == expected


@pytest.mark.parametrize(
    ("value", "params"),
    [
        ("form-data", {}),
        ('form-data; name="field"', {"name": "field"}),
        ('form-data; name="a"; filename="b c.txt"', {"name": "a", "filename": "b c.txt"}),
        ("form-data; NAME=plain ; filename = x", {"name": "plain", "filename": "x"}),
        (r'form-data; name="say \"hi\"; ok"', {"name": 'say "hi"; ok'}),
        ('form-data; name="first"; name="second"', {"name": "first"}),
        ('form-data; name="unclosed', {"name": '"unclosed'}),
    ],
)
def test_header_params(value: str, params: dict[str, str]) -> None:
    assert forms.header_params(value) == params


@pytest.mark.parametrize(
    ("content_type", "boundary"),
    [
        ("multipart/form-data; boundary=abc", b"abc"),
        ('Multipart/Form-Data; boundary="a b"', b"a b"),
        ("multipart/form-data", None),
        ("multipart/mixed; boundary=abc", None),
        ("application/x-www-form-urlencoded", None),
    ],
)
def test_boundary(content_type: str, boundary: bytes | None) -> None:
    assert forms.boundary(content_type) == boundary


def multipart(*parts: tuple[bytes, bytes], boundary: bytes = b"XyZ") -> bytes:
    body = b"".join(
        b"--" + boundary + b"\r\n" + head + b"\r\n\r\n" + data + b"\r\n" for head, data in parts
    )
    return body + b"--" + boundary + b"--\r\n"


def contents(body: bytes, boundary: bytes = b"XyZ") -> list[tuple[str | None, bytes]]:
    return [(p.name, body[p.start : p.end]) for p in forms.multipart_parts(body, boundary)]


def test_multipart_fields_and_files() -> None:
    body = multipart(
        (b'Content-Disposition: form-data; name="user"', b"bob"),
        (
            b'Content-Disposition: form-data; name="doc"; filename="a.bin"\r\n'
            b"Content-Type: application/octet-stream",
            b"\x00\x01\r\n\x02",
        ),
    )
    parts = forms.multipart_parts(body, b"XyZ")
    assert [(p.name, p.filename, p.content_type) for p in parts] == [
        ("user", None, None),
        ("doc", "a.bin", "application/octet-stream"),
    ]
    assert contents(body) == [("user", b"bob"), ("doc", b"\x00\x01\r\n\x02")]


def test_multipart_preamble_epilogue_and_empty_head() -> None:
    body = (
        b"preamble\r\n--XyZ\r\n\r\nno head\r\n"
        b'--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\n\r\n'
        b"--XyZ--\r\nepilogue --XyZ\r\n"
    )
    assert contents(body) == [(None, b"no head"), ("a", b"")]


def test_multipart_cut_short_keeps_what_it_holds() -> None:
    body = multipart(
        (b'Content-Disposition: form-data; name="a"', b"one"),
        (b'Content-Disposition: form-data; name="b"', b"two two two"),
    )
    cut = body[: body.index(b"two two") + 5]
    assert contents(cut) == [("a", b"one"), ("b", b"two t")]
    # Cut inside a part's head: the part cannot be read.
    assert contents(body[: body.index(b'name="b"')]) == [("a", b"one")]


def test_multipart_without_the_boundary_is_empty() -> None:
    assert forms.multipart_parts(b"no parts here", b"XyZ") == []
