"""A request the proxy refuses reads like any other flow: its host in the
Host column and its path in Path, not its whole URL in Path beside an
empty Host (both for a head that parsed and was refused, and for one that
did not parse at all)."""

from __future__ import annotations

import asyncio

from tests.proxy.harness import run, running_proxy


def test_a_refused_absolute_request_keeps_its_host_and_path_apart() -> None:
    async def scenario() -> None:
        async with running_proxy() as proxy:
            client = await proxy.client()
            # Both framings at once: refused (RFC 9112 section 6.1).
            await client.send(
                b"POST http://origin.test:8080/upload?x=1 HTTP/1.1\r\nHost: origin.test:8080\r\n"
                b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            await proxy.wait_flows(1)
            client.close()
            [flow] = list(proxy.store)
            assert flow.response is not None and flow.response.status == 400
            request = flow.request
            assert (request.scheme, request.host, request.port) == ("http", "origin.test", 8080)
            assert request.target == "/upload?x=1"

    run(scenario())


def test_a_head_that_does_not_parse_still_names_its_host() -> None:
    async def scenario() -> None:
        async with running_proxy() as proxy:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(b"GET http://origin.test/a b/c HTTP/1.1\r\nBad Header\r\n\r\n")
            await writer.drain()
            await proxy.wait_flows(1)
            await reader.read()
            writer.close()
            [flow] = list(proxy.store)
            assert flow.request.host == "origin.test"
            assert not flow.request.target.startswith("http")

    run(scenario())
