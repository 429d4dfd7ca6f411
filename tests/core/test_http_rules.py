from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspector.core.http_rules import (
    MessageRejected,
    Target,
    check_connect,
    check_framing,
    check_head_size,
    forwardable_headers,
    parse_absolute_target,
    relayable_response_headers,
    split_authority,
)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ([(b"content-length", b"5"), (b"transfer-encoding", b"chunked")], 400),
        ([(b"content-length", b"5"), (b"content-length", b"6")], 400),
        ([(b"content-length", b"5, 6")], 400),
        ([(b"content-length", b"+5")], 400),
        ([(b"content-length", b"-1")], 400),
        ([(b"content-length", b"")], 400),
        ([(b"content-length", "５".encode())], 400),
        ([(b"transfer-encoding", b"gzip")], 400),
        ([(b"transfer-encoding", b"chunked, gzip")], 400),
        ([(b"transfer-encoding", "chunkéd".encode())], 400),
        ([(b"transfer-encoding", b"gzip, chunked")], 501),
        ([(b"transfer-encoding", b"chunked, chunked")], 400),
        ([(b"transfer-encoding", b"chunked"), (b"transfer-encoding", b"chunked")], 400),
        ([(b"transfer-encoding", b"chunked, gzip, chunked")], 400),
    ],
)
def test_check_framing_rejects(headers: list[tuple[bytes, bytes]], status: int) -> None:
    with pytest.raises(MessageRejected) as info:
        check_framing(headers)
    assert info.value.status == status


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [(b"content-length", b"5")],
        [(b"content-length", b"5"), (b"content-length", b"5")],
        [(b"content-length", b"5, 5")],
        [(b"transfer-encoding", b"chunked")],
        [(b"transfer-encoding", b"Chunked")],
    ],
)
def test_check_framing_accepts(headers: list[tuple[bytes, bytes]]) -> None:
    check_framing(headers)


@pytest.mark.parametrize(
    ("headers", "version", "rejected"),
    [
        ([(b"transfer-encoding", b"chunked")], b"1.0", True),
        ([(b"Transfer-Encoding", b"chunked"), (b"Content-Length", b"5")], b"1.0", True),
        ([(b"content-length", b"5"), (b"transfer-encoding", b"chunked")], b"1.0", True),
        ([(b"transfer-encoding", b"chunked")], b"0.9", True),
        ([(b"content-length", b"5")], b"1.0", False),
        ([], b"1.0", False),
        ([(b"transfer-encoding", b"chunked")], b"1.1", False),
    ],
)
def test_transfer_encoding_before_http11_is_faulty_framing(
    headers: list[tuple[bytes, bytes]], version: bytes, rejected: bool
) -> None:
    """RFC 9112 section 6.1: an HTTP/1.0 message with Transfer-Encoding is
    treated as faulty framing, even with a Content-Length."""
    if not rejected:
        check_framing(headers, version)
        return
    with pytest.raises(MessageRejected) as info:
        check_framing(headers, version)
    assert info.value.status == 400
    assert "HTTP/" + version.decode() in info.value.message


@pytest.mark.parametrize(
    ("headers", "rejected"),
    [
        ([], False),
        ([(b"Host", b"a:443")], False),
        ([(b"Content-Length", b"0")], False),
        ([(b"Content-Length", b"5")], True),
        ([(b"Transfer-Encoding", b"chunked")], True),
    ],
)
def test_check_connect_refuses_content(headers: list[tuple[bytes, bytes]], rejected: bool) -> None:
    """RFC 9110 section 9.3.6: a CONNECT request has no content."""
    if not rejected:
        check_connect(headers)
        return
    with pytest.raises(MessageRejected) as info:
        check_connect(headers)
    assert info.value.status == 400


LINK = (b"Link", b"</a.css>; rel=preload")


@pytest.mark.parametrize(
    ("status", "headers", "relayed"),
    [
        (100, [(b"Content-Length", b"5")], []),
        (103, [LINK, (b"Transfer-Encoding", b"chunked")], [LINK]),
        (103, [(b"Connection", b"X-A"), (b"X-A", b"1"), (b"Keep-Alive", b"5"), LINK], [LINK]),
        (204, [(b"ETag", b'"x"'), (b"content-length", b"0")], [(b"ETag", b'"x"')]),
        (204, [(b"TRANSFER-ENCODING", b"chunked")], []),
        # A 304 or an answer to HEAD may say what a GET would have had.
        (304, [(b"Content-Length", b"5")], [(b"Content-Length", b"5")]),
        (200, [(b"Transfer-Encoding", b"chunked")], [(b"Transfer-Encoding", b"chunked")]),
        (200, [(b"Connection", b"close"), (b"Content-Length", b"2")], [(b"Content-Length", b"2")]),
    ],
)
def test_relayable_response_headers(
    status: int, headers: list[tuple[bytes, bytes]], relayed: list[tuple[bytes, bytes]]
) -> None:
    """RFC 9112 sections 6.1 and 6.2: no framing fields on 1xx and 204."""
    assert relayable_response_headers(status, headers) == relayed


def test_check_head_size() -> None:
    check_head_size([(b"a", b"b")] * 100, 8192)
    with pytest.raises(MessageRejected) as info:
        check_head_size([(b"a", b"b")] * 101, 10)
    assert info.value.status == 431
    with pytest.raises(MessageRejected) as info:
        check_head_size([], 8193)
    assert info.value.status == 414


def test_forwardable_headers_drops_hop_by_hop_and_named() -> None:
    headers = [
        (b"Host", b"x"),
        (b"Connection", b"close, X-Private"),
        (b"X-Private", b"1"),
        (b"Keep-Alive", b"5"),
        (b"Proxy-Authorization", b"Basic x"),
        (b"Content-Length", b"3"),
        (b"Accept", b"*/*"),
    ]
    assert forwardable_headers(headers) == [
        (b"Host", b"x"),
        (b"Content-Length", b"3"),
        (b"Accept", b"*/*"),
    ]


def test_forwardable_headers_never_drops_framing_even_if_named() -> None:
    headers = [(b"Connection", b"Content-Length, Host"), (b"Content-Length", b"3"), (b"Host", b"h")]
    assert forwardable_headers(headers) == [(b"Content-Length", b"3"), (b"Host", b"h")]


def test_forwardable_headers_returns_same_list_when_clean() -> None:
    headers = [(b"Host", b"x"), (b"Accept", b"*/*")]
    assert forwardable_headers(headers) is headers


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("http://example.com", Target("http", "example.com", 80, "/")),
        ("http://Example.COM/a?b=c", Target("http", "example.com", 80, "/a?b=c")),
        ("http://example.com:8080/x", Target("http", "example.com", 8080, "/x")),
        ("http://[::1]:9/x", Target("http", "::1", 9, "/x")),
        ("http://example.com?q", Target("http", "example.com", 80, "/?q")),
        ("http://example.com/a#frag", Target("http", "example.com", 80, "/a")),
        ("HTTP://example.com/", Target("http", "example.com", 80, "/")),
        ("https://example.com/", Target("https", "example.com", 443, "/")),
    ],
)
def test_parse_absolute_target(target: str, expected: Target) -> None:
    assert parse_absolute_target(target) == expected


@pytest.mark.parametrize(
    ("target", "status"),
    [
        ("example.com/x", 400),
        ("ftp://example.com/", 501),
        ("http://user:pw@example.com/", 400),
        ("http:///x", 400),
        ("http://example.com:0/", 400),
        ("http://example.com:65536/", 400),
        ("http://example.com:x/", 400),
        ("http://[zz::1]/", 400),
        ("http://[::1/", 400),
        ("http://exa mple.com/", 400),
    ],
)
def test_parse_absolute_target_rejects(target: str, status: int) -> None:
    with pytest.raises(MessageRejected) as info:
        parse_absolute_target(target)
    assert info.value.status == status


def test_split_authority_requires_port_without_default() -> None:
    assert split_authority("host:443", None) == ("host", 443)
    with pytest.raises(MessageRejected):
        split_authority("host", None)


@given(st.text(max_size=80))
def test_parse_absolute_target_never_raises_anything_else(target: str) -> None:
    rejected: MessageRejected | None = None
    try:
        parsed = parse_absolute_target(target)
    except MessageRejected as exc:
        rejected = exc
    if rejected is not None:
        assert rejected.status in (400, 501)
        assert "\n" not in rejected.message
    else:
        assert parsed.path.startswith("/")
        assert 0 < parsed.port < 65536
