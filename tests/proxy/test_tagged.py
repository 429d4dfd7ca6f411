"""Tagged ports: the engine listens on one more loopback port per launched
client, and every flow that arrives on it (tunnels and the requests inside
them included) carries the client's name; the main port's flows do not."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from inspector.core.certs import CertStore
from inspector.link.client import EngineError
from inspector.proxy.errors import ListenError
from inspector.proxy.server import ProxyServer
from tests.proxy.engine_pair import EnginePair, engine_pair
from tests.proxy.harness import Client, Origin, running_proxy
from tests.proxy.test_tunnel import _https_get


def test_flows_on_a_tagged_port_carry_its_name() -> None:
    async def main() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            host, port = await proxy.server.listen_tagged("chromium")
            assert host == "127.0.0.1" and port != proxy.port
            assert await proxy.server.listen_tagged("chromium") == (host, port)
            other = await proxy.server.listen_tagged("terminal")
            assert other[1] not in (port, proxy.port)
            for to, path in ((port, "/tagged"), (proxy.port, "/plain"), (other[1], "/term")):
                client = await Client.connect(to)
                answer = await client.request("GET", f"{origin.base}{path}")
                assert answer.status == 200
                client.close()
            await proxy.wait_flows(3)
            names = {flow.request.target: flow.client_name for flow in proxy.store}
            assert names == {"/tagged": "chromium", "/plain": "", "/term": "terminal"}
            assert proxy.server.tagged == {"chromium": (host, port), "terminal": other}

    asyncio.run(main())


def test_a_tunnel_and_the_requests_inside_it_carry_the_name(
    proxy_certs: CertStore, upstream_certs: CertStore, upstream_ca_file: Path
) -> None:
    async def main() -> None:
        async with (
            Origin(tls=upstream_certs.server_context("localhost")) as origin,
            running_proxy(certs=proxy_certs, upstream_ca_file=str(upstream_ca_file)) as proxy,
        ):
            _host, port = await proxy.server.listen_tagged("firefox")
            status, body, _peer = await asyncio.to_thread(
                _https_get, port, "localhost", origin.port, "/in", proxy_certs.ca_cert_path
            )
            assert (status, body) == (200, b"hello /in")
            await proxy.wait_flows(1)
            flows = list(proxy.store)
            assert {f.request.method for f in flows} == {"CONNECT", "GET"}
            assert all(f.client_name == "firefox" for f in flows)

    asyncio.run(main())


def test_the_tagged_port_is_closed_with_the_server_and_not_opened_before_it() -> None:
    async def main() -> None:
        async with running_proxy() as proxy:
            _host, port = await proxy.server.listen_tagged("edge")
            # A request to the tagged port itself is a loop, caught as one.
            assert proxy.server.is_self("127.0.0.1", port)
            await proxy.server.stop()
            with pytest.raises(ConnectionRefusedError):
                await asyncio.open_connection("127.0.0.1", port)
            with pytest.raises(ListenError):
                await proxy.server.listen_tagged("edge")

    asyncio.run(main())


def _run(scenario: object) -> None:
    async def main() -> None:
        async with engine_pair() as pair:
            await scenario(pair)  # type: ignore[operator]

    asyncio.run(main())


def test_listen_tagged_request_and_its_refusals() -> None:
    async def scenario(pair: EnginePair) -> None:
        with pytest.raises(EngineError, match="not running"):
            await pair.request("listen_tagged", name="chromium")
        await pair.start()
        address = (await pair.request("listen_tagged", name="chromium"))["address"]
        assert address.startswith("127.0.0.1:")
        for bad in ("", "two words", "-dash", "x" * 33, "a/b"):
            with pytest.raises(EngineError, match="client name"):
                await pair.request("listen_tagged", name=bad)
        with pytest.raises(EngineError):
            await pair.request("listen_tagged", name=3)
        # A stop and a start open the client's port again, the same one,
        # so a browser left running finds its proxy back.
        await pair.request("stop")
        await pair.request("start")
        server = pair.service.server
        assert isinstance(server, ProxyServer)
        assert server.tagged["chromium"][1] == int(address.rsplit(":", 1)[1])
        again = await pair.request("listen_tagged", name="chromium")
        assert again["address"] == address

    _run(scenario)


def test_a_taken_old_port_gives_a_new_one() -> None:
    async def scenario(pair: EnginePair) -> None:
        await pair.start()
        address = (await pair.request("listen_tagged", name="brave"))["address"]
        port = int(address.rsplit(":", 1)[1])
        await pair.request("stop")
        blocker = await asyncio.start_server(lambda r, w: None, "127.0.0.1", port)
        try:
            await pair.request("start")
            fresh = (await pair.request("listen_tagged", name="brave"))["address"]
            assert fresh != address and fresh.startswith("127.0.0.1:")
        finally:
            blocker.close()

    _run(scenario)
