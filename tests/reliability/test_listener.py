"""The engine's listening side: its own accept loop on selector loops (the
fd-exhaustion behaviour it exists for is test_fd_exhaustion.py's), and
asyncio's server on loops that accept by completion (Windows' proactor),
both serving and stopping the same way."""

from __future__ import annotations

import asyncio

import pytest

from inspector.proxy import server as server_module
from tests.proxy.harness import Origin, run, running_proxy
from tests.reliability.helpers import leak_check


@pytest.mark.parametrize("readiness", [True, False], ids=["own-accept-loop", "asyncio-server"])
def test_both_listeners_serve_bursts_and_stop(
    readiness: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server_module, "accepts_by_readiness", lambda loop: readiness)

    async def scenario() -> None:
        async with running_proxy() as proxy, leak_check(proxy), Origin() as origin:
            # More than one wake-up's worth of connections at once.
            clients = [await proxy.client() for _ in range(server_module.ACCEPT_BATCH + 50)]
            answers = await asyncio.gather(
                *(c.request("GET", f"{origin.base}/{i}") for i, c in enumerate(clients))
            )
            assert [a.body for a in answers] == [b"hello /%d" % i for i in range(len(clients))]
            for client in clients:
                client.close()
        port = proxy.port
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", port)

    run(scenario())


def test_stock_loops_use_the_engines_own_accept_loop() -> None:
    async def scenario() -> None:
        assert server_module.accepts_by_readiness(asyncio.get_running_loop())

    run(scenario())
