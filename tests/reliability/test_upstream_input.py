"""Hostile or broken upstream answers beyond tests/proxy/test_errors.py:
bad lengths, oversize heads, stray bytes after bodiless answers, resets and
stalls mid-body. The client gets a clear 502/504 while nothing was sent to
it yet, and a cut connection (never a faked end) once the head is out; each
scenario leaves no task or socket behind."""

from __future__ import annotations

import asyncio

import pytest

from inspector.core.flow import FlowState
from tests.proxy.harness import run, running_proxy
from tests.reliability.helpers import (
    RawOrigin,
    Script,
    exchange,
    leak_check,
    parse_responses,
    reset,
    status_of,
    until_peer_closes,
)

GOOD = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood"


def _answering(bad: bytes) -> Script:
    """An origin answering ``bad`` to any path but /good, on every request
    of a connection, then staying until the proxy closes."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            writer.write(GOOD if head.startswith(b"GET /good ") else bad)
            await writer.drain()

    return script


BAD_LENGTHS = {
    "plus": b"Content-Length: +5\r\n",
    "hex": b"Content-Length: 0x5\r\n",
    "letters": b"Content-Length: five\r\n",
    "negative": b"Content-Length: -1\r\n",
    "list-differing": b"Content-Length: 5, 6\r\n",
    "two-differing": b"Content-Length: 5\r\nContent-Length: 6\r\n",
    "te-gzip-only": b"Transfer-Encoding: gzip\r\n",
    "te-chunked-then-gzip": b"Transfer-Encoding: chunked, gzip\r\n",
    "te-and-cl": b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
    "te-chunked-twice": b"Transfer-Encoding: chunked, chunked\r\n",
    "te-non-ascii": "Transfer-Encoding: chunkéd\r\n".encode("latin-1"),
    "space-before-colon": b"Content-Length : 5\r\n",
}


@pytest.mark.parametrize("framing", BAD_LENGTHS.values(), ids=BAD_LENGTHS.keys())
def test_bad_response_framing_is_502_and_the_client_connection_survives(framing: bytes) -> None:
    async def scenario() -> None:
        bad = b"HTTP/1.1 200 OK\r\n" + framing + b"\r\n5\r\nhello\r\n0\r\n\r\n"
        async with running_proxy() as proxy, leak_check(proxy):
            async with RawOrigin(_answering(bad)) as origin:
                client = await proxy.client()
                answer = await client.request("GET", f"{origin.base}/bad")
                assert answer.status == 502, answer
                assert answer.header(b"X-Inspector-Error") == b"1"
                assert b"hello" not in answer.body
                # The framing was answered, not misread: the next request on
                # the same client connection is served normally.
                again = await client.request("GET", f"{origin.base}/good")
                assert (again.status, again.body) == (200, b"good")
                # "the proxy MUST close the connection to the server" (RFC
                # 9112 section 6.3): the next request needed a new one.
                assert origin.connections == 2
                client.close()
            await proxy.wait_flows(2)
            bad_flow, good_flow = proxy.store
            assert bad_flow.error is not None and bad_flow.error.kind == "bad-response"
            assert good_flow.state is FlowState.COMPLETE

    run(scenario())


@pytest.mark.parametrize("length", [b"", b"Content-Length: 10\r\n"], ids=["te", "te-and-length"])
def test_http10_response_with_transfer_encoding_is_502_and_closed(length: bytes) -> None:
    """RFC 9112 section 6.1: an HTTP/1.0 message with Transfer-Encoding has
    faulty framing, even with a Content-Length, and the connection closes
    after it; a proxy answers 502 for such a response (section 6.3)."""

    async def scenario() -> None:
        bad = (
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n"
            + length
            + b"\r\n5\r\nhello\r\n0\r\n\r\n"
        )
        async with running_proxy() as proxy, leak_check(proxy):
            async with RawOrigin(_answering(bad)) as origin:
                client = await proxy.client()
                answer = await client.request("GET", f"{origin.base}/bad")
                assert answer.status == 502, answer
                assert b"HTTP/1.0" in answer.body
                assert b"hello" not in answer.body
                again = await client.request("GET", f"{origin.base}/good")
                assert (again.status, again.body) == (200, b"good")
                # The connection that carried it was closed, not reused.
                assert origin.connections == 2
                client.close()
            await proxy.wait_flows(2)
            bad_flow, good_flow = proxy.store
            assert bad_flow.state is FlowState.FAILED
            assert bad_flow.error is not None and bad_flow.error.kind == "bad-response"
            assert good_flow.state is FlowState.COMPLETE

    run(scenario())


@pytest.mark.parametrize(
    "size",
    [
        66 * 1024,
        300 * 1024,
        4 * 1024 * 1024,
    ],
    ids=["66k", "300k", "4m"],
)
def test_oversize_response_head_is_502(size: int) -> None:
    async def scenario() -> None:
        fields = b"".join(b"X-Big-%d: %s\r\n" % (i, b"v" * 1000) for i in range(size // 1000))
        big = b"HTTP/1.1 200 OK\r\n" + fields + b"Content-Length: 2\r\n\r\nok"
        async with running_proxy() as proxy, leak_check(proxy):
            async with RawOrigin(_answering(big)) as origin:
                raw = await exchange(
                    proxy.port,
                    f"GET {origin.base}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(),
                )
                assert status_of(raw) == 502, raw[:100]
                assert len(raw) < 1024
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.error is not None and flow.error.kind == "bad-response"

    run(scenario())


@pytest.mark.parametrize(
    ("path", "answer"),
    [
        ("/204", b"HTTP/1.1 204 No Content\r\n\r\n"),
        ("/204-with-length", b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"),
        ("/304", b'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nContent-Length: 5\r\n\r\n'),
        ("/304-chunked", b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"),
    ],
)
def test_stray_body_after_204_or_304_never_reaches_the_client(path: str, answer: bytes) -> None:
    """RFC 9112 section 6.3: 204 and 304 answers end at their head. A body
    sent anyway must be neither relayed nor taken as the next answer."""
    stray = b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nSTRAYED"

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            writer.write(GOOD if head.startswith(b"GET /good ") else answer + stray)
            await writer.drain()

    async def scenario() -> None:
        async with running_proxy() as proxy, leak_check(proxy):
            async with RawOrigin(script) as origin:
                raw = await exchange(
                    proxy.port,
                    f"GET {origin.base}{path} HTTP/1.1\r\nHost: x\r\n\r\n"
                    f"GET {origin.base}/good HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                    "\r\n".encode(),
                )
                first, second = parse_responses(raw, ["GET", "GET"])
                assert first.status == int(path[1:4]) and first.body == b""
                assert (second.status, second.body) == (200, b"good")
                assert b"STRAYED" not in raw
                # The connection that carried stray bytes was not reused.
                assert origin.connections == 2
            await proxy.wait_flows(2)
            assert all(f.state is FlowState.COMPLETE for f in proxy.store)

    run(scenario())


# RFC 9112 section 6: what else the framing rules say of responses.


@pytest.mark.parametrize(
    "lengths",
    [b"Content-Length: 4, 4\r\n", b"Content-Length: 4\r\nContent-Length: 4\r\n"],
    ids=["list", "repeated"],
)
def test_one_content_length_repeated_is_relayed_once(lengths: bytes) -> None:
    """Section 6.3 item 5: a list of one valid value repeated is processed
    with that single value; the client is told it once."""

    async def scenario() -> None:
        answer = b"HTTP/1.1 200 OK\r\n" + lengths + b"\r\ngood"
        async with running_proxy() as proxy, leak_check(proxy):
            async with RawOrigin(_answering(answer)) as origin:
                client = await proxy.client()
                for _ in range(2):
                    got = await client.request("GET", f"{origin.base}/")
                    assert (got.status, got.body) == (200, b"good")
                    lengths_sent = [v for k, v in got.headers if k.lower() == b"content-length"]
                    assert lengths_sent == [b"4"]
                assert origin.connections == 1
                client.close()
            await proxy.wait_flows(2)
            assert all(f.state is FlowState.COMPLETE for f in proxy.store)

    run(scenario())


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    ],
    ids=["length", "chunked"],
)
def test_an_answer_to_head_ends_at_its_head_whatever_it_says(answer: bytes) -> None:
    """Section 6.3 item 1; a HEAD answer may carry the Content-Length or
    Transfer-Encoding a GET would have had (sections 6.1 and 6.2), and
    the connection stays usable."""

    async def scenario() -> None:
        async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                writer.write(GOOD if head.startswith(b"GET /good ") else answer)
                await writer.drain()

        async with running_proxy() as proxy, leak_check(proxy):
            async with RawOrigin(script) as origin:
                client = await proxy.client()
                head = await client.request("HEAD", f"{origin.base}/")
                assert (head.status, head.body) == (200, b"")
                field = answer.split(b"\r\n")[1].split(b": ")
                assert head.header(field[0]) == field[1]
                good = await client.request("GET", f"{origin.base}/good")
                assert (good.status, good.body) == (200, b"good")
                assert origin.connections == 1
                client.close()
            await proxy.wait_flows(2)
            assert all(f.state is FlowState.COMPLETE for f in proxy.store)

    run(scenario())


@pytest.mark.parametrize(
    "field",
    [b"Content-Length: 0\r\n", b"Transfer-Encoding: chunked\r\n"],
    ids=["length", "chunked"],
)
def test_1xx_and_204_reach_the_client_without_framing_fields(field: bytes) -> None:
    """Section 6.2: "A server MUST NOT send a Content-Length header field in
    any response with a status code of 1xx (Informational) or 204 (No
    Content)", nor Transfer-Encoding (6.1). The proxy, sending them on,
    drops both, and the 1xx's hop-by-hop fields too."""
    hints = (
        b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n"
        + field
        + b"Connection: X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=5\r\n\r\n"
    )
    no_content = b"HTTP/1.1 204 No Content\r\n" + field + b"\r\n"

    async def scenario() -> None:
        async with running_proxy() as proxy, leak_check(proxy):
            async with RawOrigin(_answering(hints + no_content)) as origin:
                raw = await exchange(
                    proxy.port,
                    f"GET {origin.base}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(),
                )
                informational, final = raw.split(b"\r\n\r\n")[:2]
                assert informational == b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload"
                assert final.startswith(b"HTTP/1.1 204 ")
                assert b"Content-Length" not in final and b"Transfer-Encoding" not in final
                assert raw.endswith(b"\r\n\r\n")
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.state is FlowState.COMPLETE
            assert flow.response is not None and flow.response.status == 204

    run(scenario())


def test_a_body_after_a_1xx_is_502() -> None:
    """A 1xx ends at its head (section 6.3 item 1): bytes that follow it
    as a body are where the next answer's status line must be."""
    answer = (
        b"HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\nhello"
        b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood"
    )

    async def scenario() -> None:
        async with running_proxy() as proxy, leak_check(proxy):
            async with RawOrigin(_answering(answer)) as origin:
                raw = await exchange(
                    proxy.port,
                    f"GET {origin.base}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(),
                )
                assert raw.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 502 ")
                assert not raw.endswith(b"good")
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.state is FlowState.FAILED
            assert flow.error is not None and flow.error.kind == "bad-response"

    run(scenario())


@pytest.mark.parametrize("version", ["1.0", "1.1"])
@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_the_answer_is_framed_for_the_client_version(framing: str, version: str) -> None:
    """A response without a length runs until the server closes (section
    6.3 item 7) and is relayed whole; an HTTP/1.0 client is never sent
    Transfer-Encoding (section 6.1), so it gets the body up to the close."""
    if framing == "chunked":
        answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    else:
        answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello"

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        if framing == "close":
            writer.close()
        await until_peer_closes(reader)

    async def scenario() -> None:
        async with running_proxy() as proxy, leak_check(proxy):
            async with RawOrigin(script) as origin:
                raw = await exchange(
                    proxy.port,
                    f"GET {origin.base}/ HTTP/{version}\r\nHost: x\r\n"
                    "Connection: close\r\n\r\n".encode(),
                )
                head, _, body = raw.partition(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 200 ")
                if version == "1.0":
                    assert b"Transfer-Encoding" not in head
                    assert body == b"hello"
                else:
                    assert b"Transfer-Encoding: chunked" in head
                    assert body == b"5\r\nhello\r\n0\r\n\r\n"
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.state is FlowState.COMPLETE
            assert flow.response is not None and flow.response.body == b"hello"

    run(scenario())


def test_upstream_reset_before_the_head_is_502() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        reset(writer)

    async def scenario() -> None:
        async with running_proxy() as proxy, leak_check(proxy):
            async with RawOrigin(script) as origin:
                client = await proxy.client()
                answer = await client.request("GET", f"{origin.base}/")
                assert answer.status == 502
                assert b"closed the connection" in answer.body
                client.close()
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.error is not None and flow.error.kind == "upstream-closed"

    run(scenario())


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_upstream_reset_mid_body_cuts_the_client_off(framing: str) -> None:
    """The head is out, so no error answer is possible: the client must see
    the body end early (short of Content-Length, or without the last
    chunk) and the connection close, never a completed message."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        if framing == "length":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nfirst part")
        else:
            writer.write(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\nfirst part\r\n"
            )
        await writer.drain()
        await asyncio.sleep(0.1)
        reset(writer)

    async def scenario() -> None:
        async with running_proxy() as proxy, leak_check(proxy):
            async with RawOrigin(script) as origin:
                raw = await exchange(
                    proxy.port, f"GET {origin.base}/ HTTP/1.1\r\nHost: x\r\n\r\n".encode()
                )
                head, _, body = raw.partition(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 200")
                assert b"first part" in body
                assert parse_responses(raw, ["GET"]) == []  # never a complete answer
                assert not body.endswith(b"0\r\n\r\n")
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.state is FlowState.FAILED
            assert flow.error is not None and flow.error.kind == "truncated"
            assert flow.response is not None and flow.response.body == b"first part"

    run(scenario())


def test_upstream_stalling_mid_body_is_a_body_timeout_and_a_cut() -> None:
    """After the head the client cannot be given a 504: it gets the bytes
    that came, then the connection is cut; the flow says body-timeout."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nfirst part")
        await writer.drain()
        await until_peer_closes(reader)

    async def scenario() -> None:
        async with running_proxy(response_head_timeout=0.3) as proxy, leak_check(proxy):
            async with RawOrigin(script) as origin:
                raw = await exchange(
                    proxy.port, f"GET {origin.base}/ HTTP/1.1\r\nHost: x\r\n\r\n".encode()
                )
                assert raw.startswith(b"HTTP/1.1 200")
                assert raw.endswith(b"\r\n\r\nfirst part")
                assert b"504" not in raw
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.state is FlowState.FAILED
            assert flow.error is not None and flow.error.kind == "body-timeout"
            assert flow.response is not None and flow.response.status == 200

    run(scenario())


def test_upstream_garbage_after_a_good_head_is_a_cut() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nnonsense"
        )
        await writer.drain()
        await until_peer_closes(reader)

    async def scenario() -> None:
        async with running_proxy() as proxy, leak_check(proxy):
            async with RawOrigin(script) as origin:
                raw = await exchange(
                    proxy.port, f"GET {origin.base}/ HTTP/1.1\r\nHost: x\r\n\r\n".encode()
                )
                assert raw.startswith(b"HTTP/1.1 200")
                assert b"nonsense" not in raw
                assert parse_responses(raw, ["GET"]) == []
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.state is FlowState.FAILED and flow.error is not None

    run(scenario())
