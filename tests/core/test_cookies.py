"""Cookie headers read as a browser reads them (RFC 6265)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from inspector.core.cookies import SetCookie, cookie_pairs, parse_set_cookie

T0 = 1_700_000_000.25


@pytest.mark.parametrize(
    ("value", "pairs"),
    [
        ("", []),
        ("a=1", [("a", "1")]),
        ("a=1; b=x=y;c=", [("a", "1"), ("b", "x=y"), ("c", "")]),
        ("flag; ;a=1", [("flag", ""), ("a", "1")]),
        (' q="quoted" ', [("q", '"quoted"')]),
    ],
)
def test_cookie_pairs(value: str, pairs: list[tuple[str, str]]) -> None:
    assert cookie_pairs(value) == pairs


@pytest.mark.parametrize(
    ("value", "cookie"),
    [
        ("id=1", SetCookie("id", "1")),
        ("id=", SetCookie("id", "")),
        (
            "id=1; Path=/app; Domain=.example.com; Secure; HttpOnly; SameSite=Lax; Other=x",
            SetCookie(
                "id",
                "1",
                path="/app",
                domain=".example.com",
                secure=True,
                http_only=True,
                same_site="Lax",
            ),
        ),
        (
            "id=1; expires=Wed, 21 Oct 2015 07:28:00 GMT",
            SetCookie("id", "1", expires=datetime(2015, 10, 21, 7, 28, tzinfo=UTC)),
        ),
        (
            # Max-Age wins over Expires (section 5.3, step 3), counted from receipt.
            "id=1; Max-Age=60; Expires=Wed, 21 Oct 2015 07:28:00 GMT",
            SetCookie("id", "1", expires=datetime.fromtimestamp(T0 + 60, UTC)),
        ),
        (
            "id=1; Max-Age=-1",
            SetCookie("id", "1", expires=datetime.fromtimestamp(T0 - 1, UTC)),
        ),
        ("id=1; Expires=garbage", SetCookie("id", "1")),
        ("id=1; Max-Age=soon", SetCookie("id", "1")),
        ("id=1; Max-Age=--1; Max-Age=²", SetCookie("id", "1")),
        ("id=1; Max-Age=99999999999999999999", SetCookie("id", "1")),
        ("no-equals-sign; Path=/", None),
    ],
)
def test_parse_set_cookie(value: str, cookie: SetCookie | None) -> None:
    assert parse_set_cookie(value, T0) == cookie
