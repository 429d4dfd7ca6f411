"""What an engine tells about itself: its process's figures, how late its
loop runs a timer, and a census of the flows it holds."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from inspector.core.flow import FlowError, FlowState, Response
from inspector.core.store import FlowStore
from inspector.proxy import diagnostics
from inspector.proxy.diagnostics import LagMonitor, census, process_figures


def test_process_figures() -> None:
    figures = process_figures()
    assert figures["pid"] == os.getpid()
    assert figures["rss"] > 0 and figures["cpu"] >= 0
    if Path("/proc/self").is_dir():
        assert figures["fds"] > 2 and figures["threads"] >= 1
        assert figures["rss_anon"] > 0


def test_census_counts_flows_by_state_and_error_with_their_bodies() -> None:
    store = FlowStore()
    for i in range(5):
        flow = store.new_flow(("127.0.0.1", 1))
        flow.request.body = b"q" * i
        if i % 2:
            flow.state = FlowState.COMPLETE
            flow.response = Response(status=200, body=b"r" * 10)
        elif i:
            flow.state = FlowState.FAILED
            flow.error = FlowError("dns", "no such host")
    store.delete(1)
    assert census(store) == {
        "states": {"complete": 2, "failed": 2},
        "errors": {"dns": 2},
        "bodies_held": (1 + 2 + 3 + 4) + 2 * 10,
    }
    assert census(FlowStore()) == {"states": {}, "errors": {}, "bodies_held": 0}


def test_the_lag_monitor_hands_out_its_samples_once() -> None:
    async def main() -> None:
        monitor = LagMonitor()
        running = asyncio.ensure_future(monitor.run())
        try:
            deadline = asyncio.get_running_loop().time() + 30
            while len(monitor._lags) < 3:
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(diagnostics.LAG_TICK / 2)
        finally:
            running.cancel()
        lags = monitor.take()
        assert len(lags) >= 3 and all(lag >= 0 for lag in lags)
        assert all(round(lag, 1) == lag for lag in lags)
        assert monitor.take() == []

    asyncio.run(main())


def test_the_lag_monitor_keeps_a_bounded_window() -> None:
    monitor = LagMonitor()
    for i in range(diagnostics.LAG_KEPT + 50):
        monitor._lags.append(i / 1000)
    lags = monitor.take()
    assert len(lags) == diagnostics.LAG_KEPT and lags[0] == 50.0
