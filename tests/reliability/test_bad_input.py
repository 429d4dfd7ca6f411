"""Hostile requests the proxy tests in tests/proxy/test_limits.py do not
already cover: obsolete line folding, a space before the colon, CR and LF
where they do not belong, more Transfer-Encoding obfuscations, 10,000
headers, chunk-extension and trailer floods, bad chunk sizes, and a request
pipelined behind a refused one. Each must end as a clear status or a clean
close, with a flow recording the error, and nothing ambiguous upstream."""

from __future__ import annotations

import asyncio
import time

import pytest

from inspector.core.flow import FlowState
from tests.proxy.harness import Origin, Proxy, run, running_proxy
from tests.reliability.helpers import (
    RawOrigin,
    exchange,
    leak_check,
    parse_responses,
    status_of,
)


async def _refused(proxy: Proxy, origin: Origin, raw: bytes, status: int, kind: str) -> None:
    """The answer is ``status`` then a close, the flow failed with ``kind``,
    and the origin never received a complete request."""
    assert status_of(raw) == status, raw
    assert b"Connection: close" in raw.split(b"\r\n\r\n", 1)[0]
    await proxy.wait_flows(1)
    [flow] = proxy.store
    assert flow.state is FlowState.FAILED
    assert flow.error is not None and flow.error.kind == kind, flow.error
    assert flow.response is not None and flow.response.status == status
    assert origin.requests == []


def _head_recorder(origin_heads: list[bytes]) -> RawOrigin:
    """An origin that keeps the raw request head it got and answers 200."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        origin_heads.append(head)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()

    return RawOrigin(script)


# Obsolete line folding (RFC 9112 section 5.2): a proxy "MUST either reject
# the message by sending a 400 (Bad Request) ... or replace each received
# obs-fold with one or more SP octets prior to interpreting the field value
# or forwarding the message downstream". h11 does the latter.


def test_obsolete_line_folding_is_unfolded_before_forwarding() -> None:
    async def scenario() -> None:
        heads: list[bytes] = []
        async with _head_recorder(heads) as origin, running_proxy() as proxy:
            raw = await exchange(
                proxy.port,
                f"GET {origin.base}/fold HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".encode()
                + b"X-Folded: one\r\n two\r\n\t three\r\n\r\n",
            )
            assert status_of(raw) == 200
            [head] = heads
            assert b"X-Folded: one two three\r\n" in head
            assert b"\r\n " not in head and b"\r\n\t" not in head
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert (b"X-Folded", b"one two three") in flow.request.headers

    run(scenario())


def test_folded_transfer_encoding_is_forwarded_unambiguously() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            raw = await exchange(
                proxy.port,
                f"POST {origin.base}/te HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                "Transfer-Encoding:\r\n chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n".encode(),
            )
            assert status_of(raw) == 200
            [received] = origin.requests
            assert received.body == b"hello"
            assert (b"transfer-encoding", b"chunked") in received.headers

    run(scenario())


def test_fold_before_the_first_field_is_400() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            raw = await exchange(
                proxy.port, f"GET {origin.base}/ HTTP/1.1\r\n X: y\r\nHost: x\r\n\r\n".encode()
            )
            await _refused(proxy, origin, raw, 400, "bad-request")

    run(scenario())


@pytest.mark.parametrize(
    "headers",
    [
        b"Content-Length: 5\r\n 5\r\n",
        b"Content-Length: 5\r\nX-A: b\r\n Transfer-Encoding: chunked\r\n",
    ],
    ids=["folded-length", "te-folded-into-another-field"],
)
def test_folding_cannot_change_the_framing(headers: bytes) -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            raw = await exchange(
                proxy.port,
                f"POST {origin.base}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".encode()
                + headers
                + b"\r\nhello",
            )
            if b"5\r\n 5" in headers:
                await _refused(proxy, origin, raw, 400, "bad-request")
            else:
                # The fold makes "Transfer-Encoding: chunked" part of X-A's
                # value: the body is framed by Content-Length alone, and the
                # origin sees exactly that.
                assert status_of(raw) == 200
                [received] = origin.requests
                assert received.body == b"hello"
                assert (b"x-a", b"b Transfer-Encoding: chunked") in received.headers
                assert not any(name == b"transfer-encoding" for name, _ in received.headers)

    run(scenario())


# Whitespace before the colon and stray CR/LF (RFC 9112 section 5.1: "A
# server MUST reject, with a response status code of 400 (Bad Request), any
# received request message that contains whitespace between a header field
# name and colon").

MALFORMED_FIELDS = {
    "space-before-colon": b"X-Spaced : 1\r\n",
    "tab-before-colon": b"X-Tabbed\t: 1\r\n",
    "space-before-colon-te": b"Content-Length: 5\r\nTransfer-Encoding : chunked\r\n",
    "space-before-colon-cl": b"Content-Length : 50\r\n",
    "cr-in-value": b"X-A: one\rtwo\r\n",
    "cr-line-end": b"X-A: one\rX-B: two\r\n",
    "vertical-tab-in-name": b"Transfer-Encoding\x0b: chunked\r\n",
    "nul-in-name": b"X-A\x00: 1\r\n",
    "no-colon": b"X-Nothing\r\n",
    "empty-name": b": value\r\n",
}


@pytest.mark.parametrize("field", MALFORMED_FIELDS.values(), ids=MALFORMED_FIELDS.keys())
def test_malformed_header_fields_are_400(field: bytes) -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            length = b"" if b"Content-Length" in field else b"Content-Length: 5\r\n"
            raw = await exchange(
                proxy.port,
                f"POST {origin.base}/ HTTP/1.1\r\nHost: x\r\n".encode()
                + field
                + length
                + b"\r\nhello",
            )
            await _refused(proxy, origin, raw, 400, "bad-request")

    run(scenario())


def test_bare_lf_line_ends_are_normalised_never_forwarded() -> None:
    """RFC 9112 section 2.2 lets a recipient take a bare LF as a line end;
    whatever the proxy understood, the origin must get in CRLF form, so the
    two cannot disagree about where a field ends."""

    async def scenario() -> None:
        heads: list[bytes] = []
        async with _head_recorder(heads) as origin, running_proxy() as proxy:
            raw = await exchange(
                proxy.port,
                f"GET {origin.base}/lf HTTP/1.1\nHost: x\nConnection: close\n".encode()
                + b"X-A: one\nX-B: two\r\n\n",
            )
            assert status_of(raw) == 200
            [head] = heads
            assert head.count(b"\n") == head.count(b"\r\n")
            assert b"X-A: one\r\nX-B: two\r\n" in head
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert (b"X-A", b"one") in flow.request.headers

    run(scenario())


def test_transfer_encoding_hidden_behind_a_bare_lf_is_still_seen() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            raw = await exchange(
                proxy.port,
                f"POST {origin.base}/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n".encode()
                + b"X-A: a\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nhello",
            )
            await _refused(proxy, origin, raw, 400, "bad-request")

    run(scenario())


# Transfer-Encoding obfuscations beyond test_limits.SMUGGLING.

OBFUSCATED_TE = {
    "x-chunked": b"Transfer-Encoding: xchunked\r\n",
    "chunked-then-identity": b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
    "chunked-comma-identity": b"Transfer-Encoding: chunked, identity\r\n",
    "vertical-tab-value": b"Transfer-Encoding: \x0bchunked\r\n",
    "nul-after-chunked": b"Transfer-Encoding: chunked\x00\r\n",
    "quoted": b'Transfer-Encoding: "chunked"\r\n',
    "cl-then-chunked-caps": b"Content-Length: 3\r\nTRANSFER-ENCODING: CHUNKED\r\n",
    "cl-leading-zero-differs": b"Content-Length: 5\r\nContent-Length: 05\r\n",
    "cl-underscore": b"Content-Length: 1_0\r\n",
    "cl-unicode-digit": "Content-Length: ٥\r\n".encode(),
    "cl-negative": b"Content-Length: -5\r\n",
    "cl-huge": b"Content-Length: 99999999999999999999999999\r\n",
}


@pytest.mark.parametrize("headers", OBFUSCATED_TE.values(), ids=OBFUSCATED_TE.keys())
def test_obfuscated_framing_never_reaches_the_origin(headers: bytes) -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            raw = await exchange(
                proxy.port,
                f"POST {origin.base}/ HTTP/1.1\r\nHost: x\r\n".encode()
                + headers
                + b"\r\n5\r\nhello\r\n0\r\n\r\n",
            )
            assert status_of(raw) in (400, 501), raw
            assert b"Connection: close" in raw
            assert origin.requests == []
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.state is FlowState.FAILED and flow.error is not None

    run(scenario())


# RFC 9112 section 6.1: "A server or client that receives an HTTP/1.0
# message containing a Transfer-Encoding header field MUST treat the message
# as if the framing is faulty, even if a Content-Length is present, and close
# the connection after processing the message."

HTTP10_TE = {
    "chunked": b"Transfer-Encoding: chunked\r\n",
    "chunked-and-length": b"Transfer-Encoding: chunked\r\nContent-Length: 10\r\n",
    "length-and-chunked": b"Content-Length: 10\r\nTransfer-Encoding: chunked\r\n",
}


@pytest.mark.parametrize("headers", HTTP10_TE.values(), ids=HTTP10_TE.keys())
def test_transfer_encoding_in_an_http10_request_is_400_and_closed(headers: bytes) -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            raw = await exchange(
                proxy.port,
                f"POST {origin.base}/ HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n".encode()
                + headers
                + b"\r\n5\r\nhello\r\n0\r\n\r\n"
                + f"GET {origin.base}/next HTTP/1.0\r\n\r\n".encode(),
            )
            await _refused(proxy, origin, raw, 400, "bad-request")
            assert b"HTTP/1.0" in raw
            assert raw.count(b"HTTP/1.1 ") == 1

    run(scenario())


# The rest of RFC 9112 section 6 as it bears on requests.


@pytest.mark.parametrize(
    "lengths",
    [b"Content-Length: 5, 5\r\n", b"Content-Length: 5\r\nContent-Length: 5\r\n"],
    ids=["list", "repeated"],
)
def test_one_content_length_repeated_is_forwarded_once(lengths: bytes) -> None:
    """Section 6.3 item 5: a list of one valid value repeated is processed
    with that single value, and the origin is told it once."""

    async def scenario() -> None:
        heads: list[bytes] = []
        async with _head_recorder(heads) as origin, running_proxy() as proxy:
            raw = await exchange(
                proxy.port,
                f"POST {origin.base}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".encode()
                + lengths
                + b"\r\nhello",
            )
            assert status_of(raw) == 200
            [head] = heads
            assert head.lower().count(b"content-length") == 1
            assert b"Content-Length: 5\r\n" in head

    run(scenario())


def test_bytes_behind_a_request_without_framing_are_the_next_request() -> None:
    """Section 6.3 item 6: a request with neither Content-Length nor
    Transfer-Encoding has no body. What follows it is the next request,
    here a malformed one: refused with its own flow, never forwarded."""

    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            raw = await exchange(
                proxy.port,
                f"POST {origin.base}/ HTTP/1.1\r\nHost: x\r\n\r\n".encode()
                + b"a body nobody announced\r\n\r\n",
            )
            [received] = origin.requests
            assert received.body == b""
            [answer] = parse_responses(raw, ["POST"])
            assert answer.status == 200
            assert raw.count(b"HTTP/1.1 400 ") == 1
            await proxy.wait_flows(2)
            forwarded, refused = proxy.store
            assert forwarded.state is FlowState.COMPLETE
            assert refused.state is FlowState.FAILED
            assert refused.error is not None and refused.error.kind == "bad-request"
            assert refused.request.method == "a"

    run(scenario())


CONNECT_CONTENT = {
    "length": b"Content-Length: 5\r\n\r\nhello",
    "chunked": b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("content", CONNECT_CONTENT.values(), ids=CONNECT_CONTENT.keys())
def test_connect_with_content_is_400(content: bytes) -> None:
    """RFC 9110 section 9.3.6: "A CONNECT request message does not have
    content". Framed content on one would be a body to one reader and the
    tunnel's first bytes to another, so nothing is tunnelled."""

    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            raw = await exchange(
                proxy.port,
                f"CONNECT 127.0.0.1:{origin.port} HTTP/1.1\r\nHost: x\r\n".encode()
                + content
                + b"GET /in HTTP/1.1\r\nHost: x\r\n\r\n",
            )
            await _refused(proxy, origin, raw, 400, "bad-request")
            assert origin.connections == 0

    run(scenario())


def test_connect_with_a_zero_length_opens_a_bare_tunnel() -> None:
    """Content-Length: 0 frames nothing; and the 200 that opens a tunnel
    carries neither Content-Length nor Transfer-Encoding (RFC 9112
    sections 6.1 and 6.2)."""

    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            raw = await exchange(
                proxy.port,
                f"CONNECT 127.0.0.1:{origin.port} HTTP/1.1\r\nHost: x\r\n".encode()
                + b"Content-Length: 0\r\n\r\n"
                + b"GET /in HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            )
            opened, _, inside = raw.partition(b"\r\n\r\n")
            assert opened == b"HTTP/1.1 200 Connection Established"
            [answer] = parse_responses(inside, ["GET"])
            assert (answer.status, answer.body) == (200, b"hello /in")
            await proxy.wait_flows(2)
            assert all(f.state is FlowState.COMPLETE for f in proxy.store)

    run(scenario())


# Many headers, sent fast and slow.


def test_10000_headers_in_one_write_are_431_quickly() -> None:
    async def scenario() -> None:
        async with running_proxy() as proxy, leak_check(proxy), Origin() as origin:
            for line in (b"a:1\r\n", b"X-Header-Field: value\r\n"):
                many = line * 10_000
                started = time.monotonic()
                raw = await exchange(
                    proxy.port,
                    f"GET {origin.base}/ HTTP/1.1\r\nHost: x\r\n".encode() + many + b"\r\n",
                )
                # Milliseconds in practice; a parser rescanning the head on
                # every line would take many seconds.
                assert time.monotonic() - started < 5.0
                assert status_of(raw) == 431, raw
            assert origin.requests == []
            await proxy.wait_flows(2)
            assert all(
                f.error is not None and f.error.kind == "head-too-large" for f in proxy.store
            )

    run(scenario())


def test_10000_headers_trickled_in_are_431() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            lines = [b"X-H%d: v\r\n" % i for i in range(10_000)]
            pieces = [b"".join(lines[i : i + 100]) for i in range(0, len(lines), 100)]
            raw = await exchange(
                proxy.port,
                [f"GET {origin.base}/ HTTP/1.1\r\nHost: x\r\n".encode(), *pieces, b"\r\n"],
            )
            assert status_of(raw) == 431
            assert origin.requests == []

    run(scenario())


def test_oversize_request_line_sent_slowly_is_414() -> None:
    async def scenario() -> None:
        async with running_proxy() as proxy:
            pieces = [b"GET http://x.test/"] + [b"a" * 100] * 100
            raw = await exchange(proxy.port, pieces)
            assert status_of(raw) == 414
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.error is not None and flow.error.kind == "uri-too-long"

    run(scenario())


# Chunked bodies: extension and trailer floods, bad sizes.

CHUNKED_HEAD = "POST {base}/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n{extra}\r\n"


def _chunked_head(origin: Origin, extra: str = "") -> bytes:
    return CHUNKED_HEAD.format(base=origin.base, extra=extra).encode()


def test_chunk_extensions_are_dropped_and_a_flood_streams_through() -> None:
    """Extensions mean nothing to the proxy: they are not forwarded, so a
    flood of them costs the origin nothing, and each chunk stays bounded."""

    async def scenario() -> None:
        async with running_proxy() as proxy, leak_check(proxy), Origin() as origin:
            chunk = b"1;" + b"e" * 30_000 + b'=";x"\r\nx\r\n'
            body = chunk * 200 + b"0\r\n\r\n"  # 6 MB of extensions for 200 bytes
            raw = await exchange(proxy.port, [_chunked_head(origin, "Connection: close\r\n"), body])
            assert status_of(raw) == 200
            [received] = origin.requests
            assert received.body == b"x" * 200
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.request.body == b"x" * 200

    run(scenario())


def test_one_chunk_extension_over_64k_is_400() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            body = b"1;" + b"e" * 200_000 + b"\r\nx\r\n0\r\n\r\n"
            raw = await exchange(proxy.port, [_chunked_head(origin), body])
            await _refused(proxy, origin, raw, 400, "bad-request")

    run(scenario())


def test_trailer_flood_over_64k_is_400() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            trailers = b"".join(b"X-Trailer-%d: v\r\n" % i for i in range(20_000))
            body = b"5\r\nhello\r\n0\r\n" + trailers + b"\r\n"
            raw = await exchange(proxy.port, [_chunked_head(origin), body])
            await _refused(proxy, origin, raw, 400, "bad-request")

    run(scenario())


def test_trailers_are_not_relayed_upstream() -> None:
    """Trailers under the limit are accepted but not forwarded: a client
    cannot use them to smuggle fields the proxy never showed as headers."""

    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            trailers = b"".join(b"X-Trailer-%d: v\r\n" % i for i in range(3_000))
            trailers += b"Content-Length: 0\r\nTransfer-Encoding: chunked\r\n"
            body = b"5\r\nhello\r\n0\r\n" + trailers + b"\r\n"
            raw = await exchange(proxy.port, [_chunked_head(origin, "Connection: close\r\n"), body])
            assert status_of(raw) == 200
            [received] = origin.requests
            assert received.body == b"hello"
            assert not any(name.startswith(b"x-trailer") for name, _ in received.headers)

    run(scenario())


BAD_CHUNK_SIZES = {
    "not-hex": b"zz\r\nhello\r\n0\r\n\r\n",
    "negative": b"-5\r\nhello\r\n0\r\n\r\n",
    "0x-prefix": b"0x5\r\nhello\r\n0\r\n\r\n",
    "leading-space": b" 5\r\nhello\r\n0\r\n\r\n",
    "overflow": b"f" * 21 + b"\r\nhello\r\n0\r\n\r\n",
    "empty-size": b"\r\nhello\r\n0\r\n\r\n",
    "data-longer-than-size": b"3\r\nhello\r\n0\r\n\r\n",
    "no-crlf-after-data": b"5\r\nhelloXX0\r\n\r\n",
    "size-with-plus": b"+5\r\nhello\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("body", BAD_CHUNK_SIZES.values(), ids=BAD_CHUNK_SIZES.keys())
def test_bad_chunk_sizes_are_400_and_the_origin_gets_no_request(body: bytes) -> None:
    async def scenario() -> None:
        async with running_proxy() as proxy, leak_check(proxy), Origin() as origin:
            raw = await exchange(proxy.port, [_chunked_head(origin), body])
            await _refused(proxy, origin, raw, 400, "bad-request")

    run(scenario())


# Pipelining.


def test_nothing_pipelined_behind_a_refused_request_is_served() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            raw = await exchange(
                proxy.port,
                f"POST {origin.base}/bad HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                f"GET {origin.base}/smuggled HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
            )
            assert status_of(raw) == 400
            assert raw.count(b"HTTP/1.1 ") == 1
            assert origin.requests == []
            await proxy.wait_flows(1)
            assert len(proxy.store) == 1

    run(scenario())


def test_pipelined_requests_in_one_write_are_answered_in_order() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            requests = b"".join(
                f"GET {origin.base}/{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for i in range(5)
            )
            raw = await exchange(
                proxy.port,
                requests
                + f"GET {origin.base}/last HTTP/1.1\r\nHost: x\r\n".encode()
                + b"Connection: close\r\n\r\n",
            )
            answers = parse_responses(raw, ["GET"] * 6)
            assert [(a.status, a.body) for a in answers] == [
                *((200, b"hello /%d" % i) for i in range(5)),
                (200, b"hello /last"),
            ]
            await proxy.wait_flows(6)

    run(scenario())
