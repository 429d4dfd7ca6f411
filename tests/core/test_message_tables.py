"""Query parameters, cookies with their attributes, form fields and
multipart parts read into the rows the detail pane shows."""

from __future__ import annotations

import gzip

import pytest

from inspector.core.flow import Request, Response
from inspector.core.message_tables import (
    form_rows,
    message_tables,
    multipart_rows,
    query_rows,
    request_cookie_rows,
    set_cookie_rows,
)

T0 = 1_700_000_000.0


@pytest.mark.parametrize(
    ("target", "rows"),
    [
        ("/", []),
        ("/p?", []),
        ("/p?a=1&b", [("a", "1"), ("b", "")]),
        ("/p?q=caf%C3%A9+au+lait&q=2#frag", [("q", "café au lait"), ("q", "2")]),
        ("/p?x=%ff", [("x", "ÿ")]),
    ],
)
def test_query_rows(target: str, rows: list[tuple[str, str]]) -> None:
    assert query_rows(target) == rows


def test_request_cookies_from_every_cookie_header() -> None:
    request = Request(
        method="GET",
        target="/",
        headers=[(b"Cookie", b"a=1; b=2"), (b"Accept", b"*/*"), (b"cookie", b"c=x=y")],
    )
    assert request_cookie_rows(request) == [("a", "1"), ("b", "2"), ("c", "x=y")]


def test_set_cookie_rows_carry_their_attributes() -> None:
    response = Response(
        status=200,
        headers=[
            (b"Set-Cookie", b"sid=abc; Path=/app; Domain=.a.test; Secure; HttpOnly; SameSite=Lax"),
            (b"Set-Cookie", b"theme=dark; Max-Age=3600"),
            (b"Set-Cookie", b"no-equals-sign"),
        ],
    )
    assert set_cookie_rows(response, T0) == [
        ("sid", "abc", ".a.test", "/app", "session", "yes", "yes", "Lax"),
        ("theme", "dark", "", "", "2023-11-14 23:13:20 UTC", "", "", ""),
    ]


def test_urlencoded_form_fields_after_content_encoding() -> None:
    body = gzip.compress(b"name=Ada+Lovelace&lang=en&empty=")
    message = Request(
        method="POST",
        target="/f",
        headers=[
            (b"Content-Type", b"application/x-www-form-urlencoded; charset=utf-8"),
            (b"Content-Encoding", b"gzip"),
        ],
        body=body,
    )
    assert form_rows(message) == [("name", "Ada Lovelace"), ("lang", "en"), ("empty", "")]


def test_a_form_that_does_not_decode_has_no_fields() -> None:
    message = Request(
        headers=[
            (b"Content-Type", b"application/x-www-form-urlencoded"),
            (b"Content-Encoding", b"gzip"),
        ],
        body=b"a=1",
    )
    assert form_rows(message) == []


def test_multipart_parts() -> None:
    body = (
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="title"\r\n\r\n'
        b"Hello   there\r\n"
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="file"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n"
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\r\n"
        b"--XyZ--\r\n"
    )
    message = Request(
        method="POST",
        headers=[(b"Content-Type", b'multipart/form-data; boundary="XyZ"')],
        body=body,
    )
    assert multipart_rows(message) == [
        ("title", "", "", "13 bytes", "Hello there"),
        ("file", "a.png", "image/png", "16 bytes", "(binary, 16 bytes)"),
    ]


def test_tables_leave_out_the_empty_ones() -> None:
    request = Request(method="GET", target="/s?q=1", headers=[(b"Cookie", b"a=b")])
    tables = message_tables(request)
    assert [(t.title, t.rows) for t in tables] == [
        ("Query", [("q", "1")]),
        ("Cookies", [("a", "b")]),
    ]
    response = Response(status=200, headers=[(b"Set-Cookie", b"x=1")])
    [cookies] = message_tables(response, T0)
    assert cookies.columns[:3] == ("Name", "Value", "Domain") and cookies.rows[0][0] == "x"
    assert message_tables(Response(status=204)) == []
