"""Engine lifecycle: start, stop, disconnects, no leaked tasks or sockets."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from inspector.core.events import ListenFailed, ProxyStarted, ProxyStopped
from inspector.core.flow import FlowState
from inspector.core.settings import ProxySettings
from inspector.core.sinks import ListSink
from inspector.core.store import FlowStore
from inspector.proxy.errors import ListenError
from inspector.proxy.server import ProxyServer
from tests.proxy.harness import Origin, Proxy, Received, Reply, run, running_proxy

MiB = 1024 * 1024


async def _settled(proxy: Proxy, timeout: float = 5.0) -> None:
    """Wait until only the pool sweeper task is left and nothing is open."""
    async with asyncio.timeout(timeout):
        while (
            len(proxy.server.ctx.tasks) > 1
            or proxy.server.connection_count
            or proxy.server.ctx.pool.active_count
        ):
            await asyncio.sleep(0.01)


def test_start_reports_the_bound_port_and_events() -> None:
    async def scenario() -> None:
        async with running_proxy() as proxy:
            host, port = proxy.server.address
            assert host == "127.0.0.1" and port > 0
            started = [e for e in proxy.sink.events if isinstance(e, ProxyStarted)]
            assert started == [ProxyStarted("127.0.0.1", port)]
        assert isinstance(proxy.sink.events[-1], ProxyStopped)

    run(scenario())


def test_port_in_use_raises_listen_error_and_emits_listen_failed() -> None:
    async def scenario() -> None:
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        sink = ListSink()
        server = ProxyServer(ProxySettings(listen_port=port), FlowStore(), sink)
        try:
            with pytest.raises(ListenError, match="already in use"):
                await server.start()
        finally:
            blocker.close()
        assert isinstance(sink.events[-1], ListenFailed)

    run(scenario())


def test_client_disconnect_mid_response_fails_the_flow_and_leaks_nothing() -> None:
    chunk = b"y" * (64 * 1024)

    async def endless(req: Received) -> Reply:
        return Reply(200, [(b"Content-Length", str(256 * MiB).encode())], [chunk] * 4096)

    async def scenario() -> None:
        async with Origin(endless) as origin, running_proxy() as proxy:
            client = await proxy.client()
            await client.send(f"GET {origin.base}/ HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            await client.reader.readexactly(1024 * 1024)
            client.close()
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.state is FlowState.FAILED
            assert flow.error is not None and flow.error.kind == "client-closed"
            assert flow.response is not None and flow.response.status == 200
            await _settled(proxy)
            assert proxy.server.ctx.pool.idle_count == 0

    run(scenario())


def test_client_disconnect_mid_request_body_fails_the_flow() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            client = await proxy.client()
            await client.send(
                f"POST {origin.base}/ HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
                "partial".encode()
            )
            await asyncio.sleep(0.1)
            client.close()
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.state is FlowState.FAILED
            assert flow.error is not None and flow.error.kind == "client-closed"
            await _settled(proxy)

    run(scenario())


def test_keep_alive_connections_are_settled_after_many_requests() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            clients = [await proxy.client() for _ in range(20)]
            await asyncio.gather(*(c.request("GET", f"{origin.base}/") for c in clients))
            for c in clients:
                c.close()
            await proxy.wait_flows(20)
            await _settled(proxy)

    run(scenario())


def test_stop_returns_promptly_with_idle_and_busy_clients() -> None:
    async def slow(req: Received) -> Reply:
        await asyncio.sleep(3600)
        return Reply()

    async def scenario() -> None:
        async with Origin(slow) as origin:
            settings = ProxySettings(listen_port=0)
            server = ProxyServer(settings, FlowStore(), ListSink())
            _, port = await server.start()
            idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(10)]
            _, busy_writer = await asyncio.open_connection("127.0.0.1", port)
            busy_writer.write(f"GET {origin.base}/ HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            await busy_writer.drain()
            await asyncio.sleep(0.1)
            started = time.monotonic()
            await server.stop()
            elapsed = time.monotonic() - started
            assert elapsed < 2.0, elapsed
            assert server.connection_count == 0
            for _reader, writer in [*idle, (None, busy_writer)]:
                writer.transport.abort()
            with pytest.raises(ConnectionRefusedError):
                await asyncio.open_connection("127.0.0.1", port)

    run(scenario())


def test_stop_twice_is_harmless() -> None:
    async def scenario() -> None:
        server = ProxyServer(ProxySettings(listen_port=0), FlowStore(), ListSink())
        await server.start()
        await server.stop()
        await server.stop()

    run(scenario())


def test_engine_runs_on_its_own_thread_loop() -> None:
    """No global state: two engines on two loops in two threads at once."""
    import threading

    results: list[int] = []

    def serve() -> None:
        async def scenario() -> None:
            async with Origin() as origin, running_proxy() as proxy:
                client = await proxy.client()
                answer = await client.request("GET", f"{origin.base}/")
                results.append(answer.status)
                client.close()

        asyncio.run(scenario())

    threads = [threading.Thread(target=serve) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == [200, 200]


def test_idle_pooled_connections_expire() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy(upstream_idle_timeout=0.05) as proxy:
            client = await proxy.client()
            await client.request("GET", f"{origin.base}/")
            assert proxy.server.ctx.pool.idle_count == 1
            await asyncio.sleep(0.1)
            assert proxy.server.ctx.pool.sweep() == 1
            assert proxy.server.ctx.pool.idle_count == 0
            await client.request("GET", f"{origin.base}/")
            assert origin.connections == 2
            client.close()

    run(scenario())
