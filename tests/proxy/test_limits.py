"""Smuggling defence, head limits and client timeouts (RFC 9112 6.1, 6.3)."""

from __future__ import annotations

import asyncio

import pytest

from inspector.core.flow import FlowState
from tests.proxy.harness import Origin, Proxy, run, running_proxy


async def _raw(proxy: Proxy, data: bytes, timeout: float = 5.0) -> bytes:
    """Send ``data`` on a fresh connection; return all the proxy sent back
    until it closed the connection."""
    client = await proxy.client()
    await client.send(data)
    try:
        return await client.read_all(timeout)
    finally:
        client.close()


def _status(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1])


SMUGGLING = {
    "cl-and-te": b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
    "differing-cl": b"Content-Length: 5\r\nContent-Length: 6\r\n",
    "differing-cl-list": b"Content-Length: 5, 6\r\n",
    "plus-cl": b"Content-Length: +5\r\n",
    "hex-cl": b"Content-Length: 0x5\r\n",
    "empty-cl": b"Content-Length: \r\n",
    "te-not-chunked": b"Transfer-Encoding: gzip\r\n",
    "te-chunked-not-last": b"Transfer-Encoding: chunked, gzip\r\n",
    "te-twice": b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
    "te-non-ascii": "Transfer-Encoding: chunkéd\r\n".encode("latin-1"),
}


@pytest.mark.parametrize("headers", SMUGGLING.values(), ids=SMUGGLING.keys())
def test_ambiguous_framing_is_400_and_closed(headers: bytes) -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            raw = await _raw(
                proxy,
                f"POST {origin.base}/ HTTP/1.1\r\nHost: x\r\n".encode()
                + headers
                + b"\r\n5\r\nhello\r\n0\r\n\r\n",
            )
            assert _status(raw) == 400, raw
            assert b"Connection: close" in raw
            assert origin.requests == []
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.state is FlowState.FAILED
            assert flow.error is not None and flow.error.kind == "bad-request"
            assert flow.response is not None and flow.response.status == 400

    run(scenario())


def test_equal_repeated_content_length_is_accepted() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            raw = await _raw(
                proxy,
                f"POST {origin.base}/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                "Content-Length: 5\r\nConnection: close\r\n\r\nhello".encode(),
            )
            assert _status(raw) == 200
            assert origin.requests[0].body == b"hello"

    run(scenario())


def test_request_line_over_8k_is_414() -> None:
    async def scenario() -> None:
        async with running_proxy() as proxy:
            path = "/" + "a" * 9000
            raw = await _raw(proxy, f"GET http://x.test{path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            assert _status(raw) == 414
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.error is not None and flow.error.kind == "uri-too-long"

    run(scenario())


def test_endless_request_line_is_414_before_it_ends() -> None:
    async def scenario() -> None:
        async with running_proxy() as proxy:
            client = await proxy.client()
            await client.send(b"GET http://x.test/" + b"a" * 10000)
            raw = await client.read_all()
            assert _status(raw) == 414
            client.close()

    run(scenario())


def test_head_over_64k_is_431_in_one_write() -> None:
    async def scenario() -> None:
        async with running_proxy() as proxy:
            big = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"v" * 1000) for i in range(70))
            raw = await _raw(proxy, b"GET http://x.test/ HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n")
            assert _status(raw) == 431
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.error is not None and flow.error.kind == "head-too-large"

    run(scenario())


def test_head_over_64k_is_431_when_sent_slowly() -> None:
    async def scenario() -> None:
        async with running_proxy() as proxy:
            client = await proxy.client()
            await client.send(b"GET http://x.test/ HTTP/1.1\r\nHost: x\r\n")
            for i in range(80):
                try:
                    await client.send(b"X-Filler-%d: %s\r\n" % (i, b"v" * 1000))
                except ConnectionError:
                    break
                await asyncio.sleep(0)
            raw = await client.read_all()
            assert _status(raw) == 431
            client.close()

    run(scenario())


def test_more_than_100_header_lines_is_431() -> None:
    async def scenario() -> None:
        async with running_proxy() as proxy:
            many = b"".join(b"X-H%d: 1\r\n" % i for i in range(101))
            raw = await _raw(proxy, b"GET http://x.test/ HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
            assert _status(raw) == 431

    run(scenario())


def test_100_header_lines_are_fine() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            many = b"".join(b"X-H%d: 1\r\n" % i for i in range(98))
            raw = await _raw(
                proxy,
                f"GET {origin.base}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".encode()
                + many
                + b"\r\n",
            )
            assert _status(raw) == 200

    run(scenario())


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET http://x.test/ HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n",
        b"GET http://x.test/ HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
        b"GET http://x.test/ HTTP/1.1\r\n\r\n",
        b"GET http://x.test/ HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40 + b"\r\n\r\n",
        b"GET http://user@x.test/ HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET http://x.test:99999/ HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET ftp://x.test/ HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
    ids=[
        "space-in-name",
        "double-host",
        "no-host",
        "nul",
        "tls-bytes",
        "userinfo",
        "bad-port",
        "ftp",
    ],
)
def test_malformed_requests_get_a_4xx_or_501_and_a_flow(request_bytes: bytes) -> None:
    async def scenario() -> None:
        async with running_proxy() as proxy:
            raw = await _raw(proxy, request_bytes)
            assert _status(raw) in (400, 501), raw
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.state is FlowState.FAILED

    run(scenario())


def test_incomplete_head_after_timeout_is_408() -> None:
    async def scenario() -> None:
        async with running_proxy(request_head_timeout=0.2) as proxy:
            client = await proxy.client()
            await client.send(b"GET http://x.test/ HTTP/1.1\r\nHost: x\r\n")
            raw = await client.read_all()
            assert _status(raw) == 408
            assert b"not complete within 0.2 s" in raw
            client.close()
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.error is not None and flow.error.kind == "client-timeout"
            assert flow.request.method == "GET"

    run(scenario())


def test_idle_keep_alive_client_is_closed() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy(client_idle_timeout=0.2) as proxy:
            client = await proxy.client()
            assert (await client.request("GET", f"{origin.base}/")).status == 200
            assert await client.closed_by_peer(timeout=3)
            client.close()
            # Idling out is not an error: no extra flow.
            assert len(proxy.store) == 1

    run(scenario())


def test_silent_new_connection_is_closed_without_a_flow() -> None:
    async def scenario() -> None:
        async with running_proxy(request_head_timeout=0.2) as proxy:
            client = await proxy.client()
            assert await client.closed_by_peer(timeout=3)
            client.close()
            assert len(proxy.store) == 0

    run(scenario())


def test_pipelined_bad_request_after_good_one() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            raw = await _raw(
                proxy,
                f"GET {origin.base}/ok HTTP/1.1\r\nHost: x\r\n\r\n".encode()
                + b"POST http://x.test/ HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            )
            assert raw.startswith(b"HTTP/1.1 200")
            assert b"HTTP/1.1 400" in raw
            await proxy.wait_flows(2)
            ok, bad = proxy.store
            assert ok.response is not None and ok.response.status == 200
            assert bad.error is not None

    run(scenario())
