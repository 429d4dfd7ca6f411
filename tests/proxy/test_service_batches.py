"""Batches from a real engine service under real traffic: the credit
window holds while the window does not acknowledge, and nothing is lost
once it does (flows recorded vs rows shown, 0 lost); clears on the
engine's loop never give two flows one id; the naive relay's "before"
picture sends every event regardless of credit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from inspector.core import summary as S
from inspector.core.events import FlowCreated, FlowFinished
from inspector.core.flow import FlowState, Response
from inspector.proxy.service import CREDIT
from tests.proxy.engine_pair import EnginePair, engine_pair, until
from tests.proxy.harness import Client, Origin


def run(scenario: Callable[[EnginePair, Origin], Awaitable[None]], **options: Any) -> None:
    async def main() -> None:
        async with engine_pair(**options) as pair, Origin() as origin:
            await scenario(pair, origin)

    asyncio.run(main())


async def _clients(
    port: int,
    origin: Origin,
    clients: int,
    requests: int,
    tag: str,
    pause: Callable[[int], Awaitable[None]] | None = None,
) -> None:
    """``clients`` keep-alive connections, each making ``requests``
    requests with paths unique to the request (and awaiting ``pause``
    with the request's number before each)."""

    async def one(n: int) -> None:
        client = await Client.connect(port)
        try:
            for i in range(requests):
                if pause is not None:
                    await pause(i)
                answer = await client.request("GET", f"{origin.base}/{tag}/{n}/{i}")
                assert answer.status == 200
        finally:
            client.close()

    await asyncio.gather(*(one(n) for n in range(clients)))


def test_without_acks_the_engine_holds_at_its_credit_and_loses_nothing_after() -> None:
    async def scenario(pair: EnginePair, origin: Origin) -> None:
        port = await pair.start()
        traffic = asyncio.ensure_future(_clients(port, origin, 4, 60, "held"))
        await until(lambda: len(pair.batches) >= CREDIT)
        await traffic
        # The proxy kept serving with the window stalled; give the engine
        # time to misbehave: twenty flush intervals and a round trip (a
        # reply is sent after any batch sent before it).
        await asyncio.sleep(20 * pair.service.flush_interval)
        await pair.request("ping")
        assert len(pair.batches) == CREDIT
        assert pair.unacked == CREDIT
        assert pair.store.last_id == 240
        assert pair.batches[-1].through < 240 or len(pair.shown()) < 240
        assert pair.service.relay.depth > 0  # coalescing meanwhile

        pair.acking = True
        pair.ack()
        await pair.caught_up()
        shown = pair.shown()
        assert len(shown) == 240 == len(pair.store)
        assert {row.path for row in shown.values()} == {
            f"/held/{n}/{i}" for n in range(4) for i in range(60)
        }
        assert all(row.status == 200 and row.state is FlowState.COMPLETE for row in shown.values())

    run(scenario, acking=False)


def test_in_flight_batches_never_exceed_the_credit_while_acks_lag() -> None:
    async def scenario(pair: EnginePair, origin: Origin) -> None:
        port = await pair.start()
        worst = 0

        async def acker() -> None:
            nonlocal worst
            while True:
                worst = max(worst, pair.unacked)
                if pair.unacked:
                    await asyncio.sleep(pair.service.flush_interval * 3)  # a slow window
                    worst = max(worst, pair.unacked)
                    pair.ack()
                await asyncio.sleep(0.001)

        acking = asyncio.ensure_future(acker())
        try:
            await _clients(port, origin, 4, 50, "lagged")
            await pair.caught_up()
        finally:
            acking.cancel()
        assert worst == CREDIT
        assert len(pair.shown()) == 200 == len(pair.store)

    run(scenario, acking=False)


def test_flows_added_while_stalled_all_arrive_in_budget_sized_steps() -> None:
    """Without a proxy: flows straight into the store, their events into
    the relay, as the recorder would."""

    async def scenario(pair: EnginePair, origin: Origin) -> None:
        store, relay = pair.store, pair.service.relay
        for _ in range(250):
            flow = store.new_flow(("127.0.0.1", 1))
            relay.emit(FlowCreated(flow.id))
        await until(lambda: len(pair.batches) == CREDIT)
        for flow in store:
            flow.response, flow.state, flow.t_end = Response(status=204), FlowState.COMPLETE, 1.0
            relay.emit(FlowFinished(flow.id))
        await asyncio.sleep(10 * pair.service.flush_interval)
        assert len(pair.batches) == CREDIT
        pair.acking = True
        pair.ack()
        await pair.caught_up()
        assert max(len(batch.rows) for batch in pair.batches) <= 100  # the budget
        assert all(row.status == 204 for row in pair.shown().values())

    run(scenario, acking=False, budget=50)


def test_clears_racing_traffic_never_give_two_flows_one_id() -> None:
    """The clear that once ran on the window's thread could land inside
    the store's new_flow and hand one id to two flows. Clear is now a
    command on the engine's loop: hammer it while traffic flows."""

    async def scenario(pair: EnginePair, origin: Origin) -> None:
        port = await pair.start()
        clears: list[int] = []

        async def between_clears(i: int) -> None:
            # Every tenth request waits for another clear: they interleave
            # however fast or slow either side runs.
            if i % 10 == 9:
                seen = len(clears)
                await until(lambda: len(clears) > seen)

        traffic = asyncio.ensure_future(_clients(port, origin, 6, 40, "race", between_clears))
        while not traffic.done():
            clears.append((await pair.request("clear"))["cleared_through"])
            await asyncio.sleep(0.003)
        await traffic
        assert any(0 < through < 240 for through in clears)  # mid-traffic
        # A few flows after the last clear, so the window has rows to catch up on.
        await _clients(port, origin, 1, 5, "tail")
        await pair.caught_up()
        assert len(pair.shown()) >= 5

        assert clears == sorted(clears)
        path_of: dict[int, str] = {}
        through = 0
        for batch in pair.batches:
            fresh = [row[S.ID] for row in batch.rows if row[S.ID] > through]
            assert fresh == sorted(set(fresh)), f"new ids out of order in batch {batch.seq}"
            assert all(row[S.ID] <= batch.through for row in batch.rows)
            for row in batch.rows:
                assert path_of.setdefault(row[S.ID], row[S.PATH]) == row[S.PATH], row[S.ID]
            through = max(through, batch.through)
        assert len(path_of) == len(set(path_of.values()))
        assert pair.store.last_id == 245 and through == 245
        assert set(path_of) <= set(range(1, 246))

    run(scenario)


def test_the_naive_relay_sends_every_event_regardless_of_credit() -> None:
    async def scenario(pair: EnginePair, origin: Origin) -> None:
        port = await pair.start()
        await _clients(port, origin, 2, 10, "naive")
        await until(lambda: len(pair.batches) > 20 * CREDIT)
        await until(lambda: {r.path for r in pair.shown().values()} >= {"/naive/1/9"})
        assert pair.unacked > CREDIT
        [started] = [e for b in pair.batches for e in b.critical]
        assert type(started).__name__ == "ProxyStarted" and started.port == port  # type: ignore[attr-defined]

    run(scenario, acking=False, naive=True)
