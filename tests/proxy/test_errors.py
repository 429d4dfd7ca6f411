"""Every failure is an answer with a status and a recorded flow error."""

from __future__ import annotations

import asyncio
import socket

from inspector.core.flow import FlowState
from inspector.proxy.errors import UpstreamError
from inspector.proxy.upstream import resolve
from tests.proxy.harness import Origin, Received, Reply, run, running_proxy


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


async def _fail_dns(host: str, port: int) -> list[str]:
    raise UpstreamError(502, "dns", f"DNS lookup for {host} failed: Name or service not known")


def test_dns_failure_is_502_naming_the_cause() -> None:
    async def scenario() -> None:
        async with running_proxy(resolver=_fail_dns) as proxy:
            client = await proxy.client()
            answer = await client.request("GET", "http://no-such-host.test/")
            assert answer.status == 502
            assert (
                answer.body
                == b"DNS lookup for no-such-host.test failed: Name or service not known\n"
            )
            assert answer.header(b"Content-Type") == b"text/plain; charset=utf-8"
            client.close()
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.state is FlowState.FAILED
            assert flow.error is not None and flow.error.kind == "dns"
            assert flow.response is not None and flow.response.status == 502

    run(scenario())


def test_system_resolver_resolves_localhost_and_skips_literals() -> None:
    async def scenario() -> None:
        assert await resolve("192.0.2.7", 80) == ["192.0.2.7"]
        assert await resolve("::1", 80) == ["::1"]
        assert "127.0.0.1" in await resolve("localhost", 80)

    run(scenario())


def test_refused_connection_is_502() -> None:
    async def scenario() -> None:
        port = _closed_port()
        async with running_proxy() as proxy:
            client = await proxy.client()
            answer = await client.request("GET", f"http://127.0.0.1:{port}/")
            assert answer.status == 502
            assert answer.body == f"connection to 127.0.0.1:{port} refused\n".encode()
            client.close()
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.error is not None and flow.error.kind == "connect-refused"

    run(scenario())


def test_connect_timeout_is_504() -> None:
    async def never(host: str, port: int) -> list[str]:
        await asyncio.sleep(3600)
        return []

    async def scenario() -> None:
        async with running_proxy(resolver=never, connect_timeout=0.2) as proxy:
            client = await proxy.client()
            answer = await client.request("GET", "http://slow.test/")
            assert answer.status == 504
            assert b"timed out" in answer.body
            client.close()
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.error is not None and flow.error.kind == "connect-timeout"

    run(scenario())


def test_no_response_head_in_time_is_504() -> None:
    async def silent(req: Received) -> Reply:
        await asyncio.sleep(3600)
        return Reply()

    async def scenario() -> None:
        async with Origin(silent) as origin, running_proxy(response_head_timeout=0.2) as proxy:
            client = await proxy.client()
            answer = await client.request("GET", f"{origin.base}/")
            assert answer.status == 504
            assert answer.body == b"upstream sent no response within 0.2 s\n"
            client.close()

    run(scenario())


def test_invalid_upstream_response_is_502() -> None:
    async def garbage(req: Received) -> bytes:
        return b"this is not HTTP\r\n\r\n"

    async def scenario() -> None:
        async with Origin(garbage) as origin, running_proxy() as proxy:
            client = await proxy.client()
            answer = await client.request("GET", f"{origin.base}/")
            assert answer.status == 502
            assert answer.body.startswith(b"invalid response from upstream")
            client.close()
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.error is not None and flow.error.kind == "bad-response"

    run(scenario())


def test_upstream_smuggling_response_is_502() -> None:
    async def both(req: Received) -> bytes:
        return (
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n0\r\n\r\n"
        )

    async def scenario() -> None:
        async with Origin(both) as origin, running_proxy() as proxy:
            client = await proxy.client()
            answer = await client.request("GET", f"{origin.base}/")
            assert answer.status == 502
            client.close()

    run(scenario())


def test_upstream_closing_without_answer_is_502() -> None:
    async def hang_up(req: Received) -> None:
        return None

    async def scenario() -> None:
        async with Origin(hang_up) as origin, running_proxy() as proxy:
            client = await proxy.client()
            answer = await client.request("GET", f"{origin.base}/")
            assert answer.status == 502
            assert b"closed the connection" in answer.body
            client.close()

    run(scenario())


def test_truncated_upstream_body_is_cut_not_faked() -> None:
    async def short(req: Received) -> bytes:
        return b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b"

    async def scenario() -> None:
        async with Origin(short) as origin, running_proxy() as proxy:
            client = await proxy.client()
            await client.send(f"GET {origin.base}/ HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            raw = await client.read_all()
            head, _, body = raw.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200")
            assert b"Content-Length: 100" in head
            assert body == b"only ten b"
            client.close()
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.state is FlowState.FAILED
            assert flow.error is not None and flow.error.kind == "truncated"
            assert flow.response is not None and flow.response.body == b"only ten b"

    run(scenario())


def test_truncated_chunked_body_never_gets_a_final_chunk() -> None:
    async def short(req: Received) -> bytes:
        return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"

    async def scenario() -> None:
        async with Origin(short) as origin, running_proxy() as proxy:
            client = await proxy.client()
            await client.send(f"GET {origin.base}/ HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            raw = await client.read_all()
            assert b"hello" in raw
            assert not raw.endswith(b"0\r\n\r\n")
            client.close()

    run(scenario())


def test_request_to_the_proxy_itself_is_508_without_connecting() -> None:
    async def scenario() -> None:
        async with running_proxy() as proxy:
            client = await proxy.client()
            for host in ("127.0.0.1", "localhost"):
                answer = await client.request("GET", f"http://{host}:{proxy.port}/x")
                assert answer.status == 508
                assert b"this proxy itself" in answer.body
            client.close()
            await proxy.wait_flows(2)
            for flow in proxy.store:
                assert flow.error is not None and flow.error.kind == "loop"
                assert flow.upstream_addr is None
            # Only the test client ever connected.
            assert proxy.server.ctx.pool.idle_count == 0

    run(scenario())


def test_origin_form_request_gets_the_help_page() -> None:
    async def scenario() -> None:
        async with running_proxy() as proxy:
            client = await proxy.client()
            await client.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            answer = await client.read_answer()
            assert answer.status == 200
            assert b"HTTP debugging proxy" in answer.body
            assert f"curl -x http://127.0.0.1:{proxy.port}".encode() in answer.body
            client.close()

    run(scenario())
