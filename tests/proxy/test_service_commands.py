"""Commands that change the engine, over a real socketpair with real
traffic: configure (only a new address restarts the listener; open
keep-alive connections survive everything else), delete and clear (seen
in the next batch and in status), and a refused configure changing
nothing."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from inspector.core.relay import Relay
from inspector.core.rowbatch import RowBatch
from inspector.core.settings import ProxySettings, RelaySettings
from inspector.core.wire import settings_to_wire
from inspector.link.client import EngineError
from inspector.proxy.service import CREDIT
from tests.proxy.engine_pair import EnginePair, engine_pair, until
from tests.proxy.harness import Client, Origin


def run(scenario: Callable[[EnginePair, Origin], Awaitable[None]]) -> None:
    async def main() -> None:
        async with engine_pair() as pair, Origin() as origin:
            await scenario(pair, origin)

    asyncio.run(main())


def _configure_args(proxy: dict[str, Any], relay: dict[str, Any]) -> dict[str, Any]:
    """Settings as a whole, as the window sends them: the pair's own
    (127.0.0.1, port 0) with ``proxy`` and ``relay`` changed."""
    settings = ProxySettings(listen_host="127.0.0.1", listen_port=0)
    for name, value in proxy.items():
        setattr(settings, name, value)
    return {"proxy": settings_to_wire(settings), "relay": settings_to_wire(RelaySettings(**relay))}


def _capacity(pair: EnginePair) -> int:
    relay = pair.service.relay
    assert isinstance(relay, Relay)
    return relay._flow_cap


CHANGES = [
    ("flush interval", {}, {"flush_interval_ms": 50}),
    ("relay capacity", {}, {"capacity": 123}),
    ("body limits", {"body_capture_limit": 4, "body_memory_limit": 1000}, {}),
    ("ignored hosts", {"ignore_hosts": "*.example.com, other.test:8443"}, {}),
    ("flow cap", {"max_flows": 50}, {}),
    ("upstream verification", {"insecure_upstream": True}, {}),
    ("timeouts", {"connect_timeout": 3.0, "client_idle_timeout": 200.0}, {}),
]


@pytest.mark.parametrize(("proxy", "relay"), [c[1:] for c in CHANGES], ids=[c[0] for c in CHANGES])
def test_configure_without_a_new_address_keeps_the_listener_and_open_connections(
    proxy: dict[str, Any], relay: dict[str, Any]
) -> None:
    async def scenario(pair: EnginePair, origin: Origin) -> None:
        port = await pair.start()
        server = pair.service.server
        client = await Client.connect(port)
        before = await client.request("GET", f"{origin.base}/before")
        assert before.status == 200 and before.body == b"hello /before"

        reply = await pair.request("configure", **_configure_args(proxy, relay))
        assert reply == {"address": f"127.0.0.1:{port}"}
        assert pair.service.server is server

        after = await client.request("GET", f"{origin.base}/after")
        assert after.status == 200 and after.body == b"hello /after"
        client.close()

        settings = pair.service.settings
        for name, value in proxy.items():
            assert getattr(settings, name) == value
        if "flush_interval_ms" in relay:
            assert pair.service.flush_interval == pytest.approx(0.05)
        if "capacity" in relay:
            assert _capacity(pair) == 123
        if "body_capture_limit" in proxy:
            await until(lambda: len(pair.store) == 2 and all(f.finished for f in pair.store))
            [first, second] = pair.store
            assert first.response.body == b"hello /before"  # type: ignore[union-attr]
            assert second.response.body == b"hell"  # type: ignore[union-attr]
            assert pair.store.body_memory_limit == 1000
        if "max_flows" in proxy:
            assert pair.store.max_flows == 50
        if "ignore_hosts" in proxy:
            assert server is not None and server.ctx.ignore.matches("a.example.com", 443)

    run(scenario)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_configure_with_a_new_port_restarts_the_listener() -> None:
    async def scenario(pair: EnginePair, origin: Origin) -> None:
        old_port = await pair.start()
        client = await Client.connect(old_port)
        assert (await client.request("GET", f"{origin.base}/a")).status == 200
        new_port = _free_port()
        reply = await pair.request("configure", **_configure_args({"listen_port": new_port}, {}))
        assert reply == {"address": f"127.0.0.1:{new_port}"}
        assert await client.closed_by_peer()
        client.close()
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", old_port)
        moved = await Client.connect(new_port)
        assert (await moved.request("GET", f"{origin.base}/b")).status == 200
        moved.close()
        status = await pair.request("status")
        assert status["address"] == f"127.0.0.1:{new_port}" and status["listening"]

    run(scenario)


def test_configure_while_stopped_applies_at_the_next_start() -> None:
    async def scenario(pair: EnginePair, origin: Origin) -> None:
        port = _free_port()
        reply = await pair.request("configure", **_configure_args({"listen_port": port}, {}))
        assert reply == {"address": ""}
        assert await pair.start() == port

    run(scenario)


@pytest.mark.parametrize(
    ("proxy", "relay", "error"),
    [
        ({"ignore_hosts": "*.a.test"}, {"capacity": 0}, "capacity must be at least 1"),
        ({"ignore_hosts": "*.a.test", "listen_port": 70000}, {}, "listen port"),
        ({"ignore_hosts": "*.a.test", "listen_port": -1}, {}, "listen port"),
        ({"max_flows": 5, "ignore_hosts": "[::1"}, {}, "invalid ignored hosts"),
    ],
    ids=["capacity zero", "port past 65535", "port negative", "bad ignored host"],
)
def test_a_refused_configure_changes_nothing(
    proxy: dict[str, Any], relay: dict[str, Any], error: str
) -> None:
    async def scenario(pair: EnginePair, origin: Origin) -> None:
        port = await pair.start()
        server = pair.service.server
        before = (ProxySettings(**settings_to_wire(pair.service.settings)), _capacity(pair))
        with pytest.raises(EngineError, match=error):
            await pair.request("configure", **_configure_args(proxy, relay))
        after = (pair.service.settings, _capacity(pair))
        assert after == before
        assert pair.store.max_flows == before[0].max_flows
        assert pair.service.server is server
        assert (await pair.request("status"))["address"] == f"127.0.0.1:{port}"

    run(scenario)


# Delete and clear


async def _traffic(port: int, origin: Origin, paths: list[str]) -> None:
    client = await Client.connect(port)
    for path in paths:
        assert (await client.request("GET", f"{origin.base}{path}")).status == 200
    client.close()


async def _next_batch(pair: EnginePair, before: int, carries: Callable[[RowBatch], bool]) -> int:
    """The index of the first batch after ``before`` that ``carries`` what a
    command changed. Only the batches in flight when the command was sent
    (at most the credit) may come before it: it is the next one built."""
    await until(lambda: any(carries(b) for b in pair.batches[before:]))
    index = next(i for i, b in enumerate(pair.batches) if i >= before and carries(b))
    assert index - before <= CREDIT
    return index


def test_delete_is_seen_in_the_next_batch_and_in_status() -> None:
    async def scenario(pair: EnginePair, origin: Origin) -> None:
        port = await pair.start()
        await _traffic(port, origin, [f"/{i}" for i in range(1, 6)])
        await pair.caught_up()
        assert sorted(pair.shown()) == [1, 2, 3, 4, 5]

        before = len(pair.batches)
        reply = await pair.request("delete", ids=[2, 4, 99, 4])
        assert reply == {"deleted": (2, 4)}
        seen = await _next_batch(pair, before, lambda b: bool(b.deleted))
        assert pair.batches[seen].deleted == (2, 4)
        assert sorted(pair.shown()) == [1, 3, 5]
        status = await pair.request("status")
        assert (status["flows"], status["last_id"]) == (3, 5)
        assert await pair.request("detail", id=2) == {"flow": None}

        assert await pair.request("delete", ids=[2]) == {"deleted": ()}
        await _traffic(port, origin, ["/6"])
        await pair.caught_up()
        assert sorted(pair.shown()) == [1, 3, 5, 6]
        assert all(not batch.deleted for batch in pair.batches[seen + 1 :])

    run(scenario)


def test_clear_is_seen_in_the_next_batch_and_in_status_and_ids_go_on() -> None:
    async def scenario(pair: EnginePair, origin: Origin) -> None:
        port = await pair.start()
        await _traffic(port, origin, ["/a", "/b", "/c"])
        await pair.caught_up()
        await pair.request("delete", ids=[1])

        before = len(pair.batches)
        reply = await pair.request("clear")
        assert reply == {"cleared_through": 3}
        batch = pair.batches[await _next_batch(pair, before, lambda b: b.cleared_through > 0)]
        assert batch.cleared_through == 3 and batch.deleted == () and batch.rows == ()
        assert pair.shown() == {}
        status = await pair.request("status")
        assert (status["flows"], status["last_id"], status["body_bytes"]) == (0, 3, 0)

        await _traffic(port, origin, ["/d"])
        await pair.caught_up()
        [row] = pair.shown().values()
        assert (row.id, row.path) == (4, "/d")
        assert sum(1 for b in pair.batches if b.cleared_through) == 1
        assert await pair.request("clear") == {"cleared_through": 4}

    run(scenario)
