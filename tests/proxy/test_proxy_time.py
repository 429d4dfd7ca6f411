"""Proxy time through the real engine: an engine stall, injected through the
recorder's clock, shows as proxy time to within a millisecond; the same
stall while the upstream works does not; rule delays and throttling do."""

from __future__ import annotations

import asyncio
import time

import pytest

from inspector.core.flow import Flow
from inspector.core.timing import PROXY, WAIT, phases, proxy_time
from inspector.proxy.recorder import FlowRecorder
from tests.proxy.engine_pair import EnginePair, engine_pair, until
from tests.proxy.harness import Client, Origin, Received, Reply, run, running_proxy

STALL = 0.005


class StallClock:
    """``time.time`` plus the stalls injected so far."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def stall(self, seconds: float = STALL) -> None:
        self.offset += seconds


def _stall_after_head(recorder: FlowRecorder, clock: StallClock) -> None:
    """The engine stalls right after a request head is recorded, before it
    does anything else with the flow."""
    created = recorder.created

    def stalled(*args: object, **kwargs: object) -> Flow:
        flow = created(*args, **kwargs)  # type: ignore[arg-type]
        clock.stall()
        return flow

    recorder.created = stalled  # type: ignore[method-assign]


async def _one_flow(handler: object = None) -> Flow:
    origin = Origin(handler) if handler is not None else Origin()  # type: ignore[arg-type]
    clock = StallClock()
    async with origin, running_proxy() as proxy:
        recorder = proxy.server.ctx.recorder
        recorder.clock = clock
        if handler is None:
            _stall_after_head(recorder, clock)
        client = await proxy.client()
        answer = await client.request("GET", f"{origin.base}/x")
        assert answer.status == 200
        client.close()
        await proxy.wait_flows(1)
        [flow] = list(proxy.store)
        return flow


def test_an_injected_5_ms_engine_stall_shows_as_5_ms_of_proxy_time() -> None:
    async def scenario() -> None:
        flow = await _one_flow()
        added = proxy_time(flow)
        assert added is not None
        assert added == pytest.approx(STALL, abs=0.001)
        first = phases(flow)[0]
        assert first.name == PROXY and first.seconds == pytest.approx(STALL, abs=0.001)

    run(scenario())


def test_the_same_stall_while_the_upstream_works_is_not_proxy_time() -> None:
    clock_box: list[StallClock] = []

    async def slow(req: Received) -> Reply:
        # The stall lands between the request going out and the answer.
        clock_box[0].stall()
        return Reply(200, [(b"Content-Type", b"text/plain")], b"ok")

    async def scenario() -> None:
        clock = StallClock()
        clock_box.append(clock)
        async with Origin(slow) as origin, running_proxy() as proxy:
            proxy.server.ctx.recorder.clock = clock
            client = await proxy.client()
            await client.request("GET", f"{origin.base}/x")
            client.close()
            await proxy.wait_flows(1)
            [flow] = list(proxy.store)
        added = proxy_time(flow)
        assert added is not None and added < 0.001
        wait = next(p for p in phases(flow) if p.name == WAIT)
        assert wait.seconds >= STALL

    run(scenario())


async def _through(pair: EnginePair, origin: Origin, port: int, path: str) -> Flow:
    client = await Client.connect(port)
    try:
        await client.request("GET", f"{origin.base}{path}")
    finally:
        client.close()
    flow = pair.store.get(pair.store.last_id)
    assert flow is not None
    await until(lambda: flow.finished, what="the flow ends")
    return flow


def test_a_rule_delay_and_a_throttle_are_proxy_time() -> None:
    body = b"z" * 16 * 1024

    async def sized(req: Received) -> Reply:
        return Reply(200, [(b"Content-Type", b"application/octet-stream")], body)

    async def main() -> None:
        async with engine_pair() as pair, Origin(sized) as origin:
            port = await pair.start()
            rules = [
                {"match": "path:/delayed", "actions": [{"type": "delay", "ms": 50}]},
                {"match": "path:/paced", "actions": [{"type": "throttle", "down_kbps": 512}]},
            ]
            await pair.request("set_rules", rules=rules)
            delayed = await _through(pair, origin, port, "/delayed")
            added = proxy_time(delayed)
            assert added is not None and 0.05 <= added < 0.1
            paced = await _through(pair, origin, port, "/paced")
            added = proxy_time(paced)
            # 16 KiB at 512 kbit/s is 0.26 s; the first slice goes at once.
            assert added is not None and 0.15 <= added <= 0.4
            plain = await _through(pair, origin, port, "/plain")
            added = proxy_time(plain)
            assert added is not None and added < 0.02

    asyncio.run(main())
