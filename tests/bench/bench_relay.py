"""Micro-benchmark of the relays: what one ``emit`` costs the engine, per
event class and path (new entry, coalesced, dropped, resync), against the
naive relay and the bare floor of a Python call and an uncontended lock; and
what one ``drain`` of 10,000 pending flow ids costs the GUI thread. Each
figure is the median of several rounds; the collector is paused while
timing, as ``timeit`` does. Events are built before timing, so the figures
are the relay's own cost. Not collected by pytest; run it as
``python -m tests.bench.bench_relay [--json PATH] [--rounds N] [--events N]``.
The target is a median at or under 1 µs per emit on the project's 2-core
machine.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence

from inspector.core.events import (
    BytesTransferred,
    Event,
    FlowCreated,
    FlowFinished,
    ListenFailed,
    WarningRaised,
)
from inspector.core.naive_relay import NaiveRelay
from inspector.core.relay import Relay, RelayLimits

TARGET_NS = 1_000.0
"""Budget for one emit, in nanoseconds."""

Sink = Callable[[Event], None]


def _time_emits(make_sink: Callable[[], Sink], events: Sequence[Event], rounds: int) -> list[float]:
    """ns per emit for each round, a fresh sink per round."""
    per_round = []
    for _ in range(rounds):
        emit = make_sink()
        gc.disable()
        try:
            started = time.perf_counter_ns()
            for event in events:
                emit(event)
            elapsed = time.perf_counter_ns() - started
        finally:
            gc.enable()
        per_round.append(elapsed / len(events))
    return per_round


def _relay(**limits: int) -> Callable[[], Sink]:
    return lambda: Relay(RelayLimits(**limits)).emit


def _noop(event: Event) -> None:
    pass


def _lock_pair() -> Sink:
    lock = threading.Lock()
    acquire, release = lock.acquire, lock.release

    def locked(event: Event) -> None:
        acquire()
        release()

    return locked


def emit_cases(n: int) -> dict[str, tuple[Callable[[], Sink], list[Event], bool]]:
    """name -> (sink factory, events, whether the 1 µs target applies)."""
    distinct = [FlowFinished(i) for i in range(1, n + 1)]
    repeated: list[Event] = [FlowFinished(i % 100 + 1) for i in range(n)]
    created: list[Event] = [FlowCreated(i) for i in range(1, n + 1)]
    warnings: list[Event] = [WarningRaised("reset", f"host{i % 50}", "reset") for i in range(n)]
    progress: list[Event] = [BytesTransferred("progress", str(i % 20), i) for i in range(n)]
    critical: list[Event] = [ListenFailed("127.0.0.1", 8080, "busy") for _ in range(n)]
    roomy = {"max_pending_flow_ids": n + 1, "critical_soft_limit": n + 1}
    return {
        "floor: empty Python call": (lambda: _noop, list(distinct), False),
        "floor: lock acquire+release": (_lock_pair, list(distinct), False),
        "flow, new id": (_relay(**roomy), list(distinct), True),
        "flow, FlowCreated (new id)": (_relay(**roomy), created, True),
        "flow, coalesced (100 ids)": (_relay(**roomy), repeated, True),
        "flow, during a resync": (_relay(max_pending_flow_ids=1), list(distinct), True),
        "low, aggregated (50 keys)": (_relay(), warnings, True),
        "low, byte progress (20 keys)": (_relay(), progress, True),
        "low, dropped (high water 0)": (_relay(low_high_water=0), warnings, True),
        "critical": (_relay(**roomy), critical, True),
        "naive relay, no-op callback": (
            lambda: NaiveRelay(callback=_noop).emit,
            list(distinct),
            False,
        ),
    }


def drain_cases(pending: int, rounds: int) -> dict[str, list[float]]:
    """µs per drain of ``pending`` distinct flow ids, for two budgets."""
    results: dict[str, list[float]] = {}
    for budget in (pending, 2_000):
        per_round = []
        for _ in range(rounds):
            relay = Relay(RelayLimits(max_pending_flow_ids=pending + 1))
            for flow_id in range(1, pending + 1):
                relay.emit(FlowFinished(flow_id))
            gc.disable()
            try:
                started = time.perf_counter_ns()
                batch = relay.drain(budget)
                elapsed = time.perf_counter_ns() - started
            finally:
                gc.enable()
            assert len(batch.changed_ids) == min(budget, pending)
            per_round.append(elapsed / 1_000)
        results[f"drain {pending:,} pending ids, budget {budget:,}"] = per_round
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--json", metavar="PATH", help="also write the figures here as JSON")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--events", type=int, default=200_000, help="emits per round")
    parser.add_argument("--pending", type=int, default=10_000, help="ids queued before a drain")
    args = parser.parse_args(argv)

    print(
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
        f"{args.events:,} emits x {args.rounds} rounds"
    )
    emits: dict[str, dict[str, float | bool]] = {}
    over = []
    for name, (make_sink, events, targeted) in emit_cases(args.events).items():
        rounds = _time_emits(make_sink, events, args.rounds)
        median = statistics.median(rounds)
        emits[name] = {"median_ns": median, "min_ns": min(rounds), "max_ns": max(rounds)}
        verdict = ""
        if targeted:
            emits[name]["within_target"] = median <= TARGET_NS
            verdict = "ok" if median <= TARGET_NS else "OVER 1 µs"
            if median > TARGET_NS:
                over.append(name)
        print(f"  emit  {name:<32} median {median:7.0f} ns  (min {min(rounds):.0f}) {verdict}")

    drains: dict[str, dict[str, float]] = {}
    for name, rounds in drain_cases(args.pending, args.rounds).items():
        median = statistics.median(rounds)
        drains[name] = {"median_us": median, "min_us": min(rounds), "max_us": max(rounds)}
        print(f"  {name:<44} median {median:8.0f} µs  (min {min(rounds):.0f})")

    if args.json:
        report = {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "rounds": args.rounds,
            "events": args.events,
            "target_ns": TARGET_NS,
            "emit": emits,
            "drain": drains,
        }
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(report, out, indent=2)
        print(f"wrote {args.json}")
    if over:
        print(f"over target: {', '.join(over)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
