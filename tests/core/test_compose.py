"""The composed request's framing and Host, as a table of cases."""

from __future__ import annotations

import pytest

from inspector.core.compose import ComposeError, composed_request

Headers = list[tuple[bytes, bytes]]

FRAMED: list[tuple[str, str, Headers, bytes, Headers]] = [
    ("GET", "http://h.test/", [], b"", [(b"Host", b"h.test")]),
    ("GET", "https://h.test:443/a", [], b"", [(b"Host", b"h.test")]),
    ("GET", "https://h.test:8443/a", [], b"", [(b"Host", b"h.test:8443")]),
    ("GET", "http://[::1]:8080/", [], b"", [(b"Host", b"[::1]:8080")]),
    ("GET", "http://h.test/", [(b"host", b"x")], b"", [(b"host", b"x")]),
    ("POST", "http://h.test/", [], b"", [(b"Host", b"h.test"), (b"Content-Length", b"0")]),
    (
        "GET",
        "http://h.test/",
        [(b"Content-Length", b"1"), (b"X", b"y"), (b"Transfer-Encoding", b"chunked")],
        b"abc",
        [(b"Host", b"h.test"), (b"X", b"y"), (b"Content-Length", b"3")],
    ),
]


@pytest.mark.parametrize(("method", "url", "given", "body", "sent"), FRAMED)
def test_framing(method: str, url: str, given: Headers, body: bytes, sent: Headers) -> None:
    request, target = composed_request(method, url, given, body)
    assert request.headers == sent
    assert request.body == body and request.body_size == len(body)
    assert (request.host, request.port, request.target) == (target.host, target.port, target.path)
    assert request.url == url.replace(":443/", "/")


def test_a_fragment_stays_out_of_the_target() -> None:
    request, _ = composed_request("GET", "HTTP://H.test/p?q=1#frag", [], b"")
    assert (request.scheme, request.host, request.target) == ("http", "h.test", "/p?q=1")


@pytest.mark.parametrize(
    "url", ["h.test/", "mailto:x@h.test", "http://user@h.test/", "http://h.test/é", "http://h\t/"]
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(ComposeError):
        composed_request("GET", url, [], b"")
