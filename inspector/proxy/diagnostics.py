"""What an engine can tell about itself, for soaks, benchmarks and scripts:
its process (memory, descriptors, threads, CPU), its loop (tasks, and how
late a 100 ms timer fires: a busy loop shows as lag), and on request a
census of the flows it holds."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter, deque
from pathlib import Path
from typing import Any

from inspector.core.memory import rss_bytes
from inspector.core.store import FlowStore

LAG_TICK = 0.1
LAG_KEPT = 600
"""Timer samples kept between two reads (a minute's worth)."""


class LagMonitor:
    """Measures how late the loop runs a timer; ``take`` returns the
    samples since the last call, in ms."""

    def __init__(self) -> None:
        self._lags: deque[float] = deque(maxlen=LAG_KEPT)

    async def run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(LAG_TICK)
            self._lags.append(max(0.0, time.perf_counter() - started - LAG_TICK))

    def take(self) -> list[float]:
        lags = [round(lag * 1e3, 1) for lag in self._lags]
        self._lags.clear()
        return lags


def process_figures() -> dict[str, Any]:
    """This process's memory, descriptors, threads and CPU seconds."""
    figures: dict[str, Any] = {
        "pid": os.getpid(),
        "rss": rss_bytes(),
        "cpu": round(sum(os.times()[:2]), 3),
    }
    proc = Path("/proc/self")
    if proc.is_dir():
        figures["fds"] = len(os.listdir(proc / "fd"))
        figures["threads"] = len(os.listdir(proc / "task"))
        for line in (proc / "status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                figures["rss_anon"] = int(line.split()[1]) * 1024
    return figures


def census(store: FlowStore) -> dict[str, Any]:
    """Every flow held, counted by state and error kind, with the body
    bytes they hold."""
    states: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    held = 0
    for flow in store:
        states[flow.state.value] += 1
        if flow.error is not None:
            errors[flow.error.kind] += 1
        held += len(flow.request.body)
        if flow.response is not None:
            held += len(flow.response.body)
    return {"states": dict(states), "errors": dict(errors.most_common(10)), "bodies_held": held}
