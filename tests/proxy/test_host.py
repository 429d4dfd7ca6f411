"""The engine host: a loop on its own thread, driven from another."""

from __future__ import annotations

import asyncio
import threading
import time

from inspector.core.settings import ProxySettings
from inspector.core.sinks import ListSink
from inspector.core.store import FlowStore
from inspector.proxy.host import EngineHost
from inspector.proxy.server import ProxyServer
from tests.proxy.harness import Client, Origin


def test_runs_coroutines_on_its_own_thread() -> None:
    host = EngineHost()
    host.start()
    try:

        async def where() -> str:
            return threading.current_thread().name

        assert host.call(where(), timeout=5) == "inspector-engine"
        assert host.running
    finally:
        host.stop()
    assert not host.running


def test_serves_while_the_caller_thread_is_blocked() -> None:
    host = EngineHost()
    host.start()
    store = FlowStore()
    server = ProxyServer(ProxySettings(listen_port=0), store, ListSink())
    try:
        _, port = host.call(server.start(), timeout=5)

        async def traffic() -> int:
            async with Origin() as origin:
                client = await Client.connect(port)
                answer = await client.request("GET", f"{origin.base}/")
                client.close()
                return answer.status

        # The caller (standing in for a busy GUI thread) runs its own loop.
        assert asyncio.run(traffic()) == 200
        time.sleep(0.05)
        assert len(store) == 1
        host.call(server.stop(), timeout=5)
    finally:
        host.stop()


def test_stop_with_pending_tasks_returns() -> None:
    host = EngineHost()
    host.start()
    host.submit(asyncio.sleep(3600))
    started = time.monotonic()
    host.stop()
    assert time.monotonic() - started < 3
