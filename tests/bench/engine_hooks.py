"""Bench-only requests an engine answers once ``apply()`` has run in its
process: ways to give it many flows without traffic.

- ``bench-fill {count, seed}``: append ``count`` synthetic flows to the
  store (``synthetic.py``), raising its flow cap to hold them all. Nothing
  is emitted: the batch builder's cursor sends them to the window as new
  flows, ``DEFAULT_BUDGET`` rows a batch, as it would after a burst.
- ``bench-flood {events}``: ``events / 4`` synthetic flows with four relay
  events each, emitted at once on the engine's loop, so the relay holds
  them all (or, the naive relay, sends each as it comes) when the reply
  goes out: a backlog to quit with.

``apply`` wraps ``EngineService.__init__`` to add the two handlers. The
window's process applies it for an engine on its thread or loop; an engine
process gets it through ``engine_wrapper.py``.
"""

from __future__ import annotations

import time
from typing import Any

from inspector.core.events import FlowCreated, FlowFinished, FlowRequestHead, FlowResponseHead
from inspector.proxy import service
from tests.bench import synthetic


def _fill(engine: service.EngineService, args: dict[str, Any]) -> dict[str, Any]:
    count = int(args["count"])
    store = engine.store
    store.set_max_flows(max(store.max_flows, len(store) + count))
    started = time.perf_counter()
    synthetic.fill(store, count, seed=int(args.get("seed", 1)))
    return {"seconds": time.perf_counter() - started, "last_id": store.last_id}


def _flood(engine: service.EngineService, args: dict[str, Any]) -> dict[str, Any]:
    flows = max(int(args["events"]) // 4, 1)
    store, relay = engine.store, engine.relay
    started = time.perf_counter()
    first = store.last_id + 1
    synthetic.fill(store, flows, seed=7)
    for flow_id in range(first, first + flows):
        relay.emit(FlowCreated(flow_id))
        relay.emit(FlowRequestHead(flow_id))
        relay.emit(FlowResponseHead(flow_id))
        relay.emit(FlowFinished(flow_id))
    return {
        "events": flows * 4,
        "seconds": time.perf_counter() - started,
        "depth": relay.depth,
    }


def apply(arg: str = "") -> None:
    cls = service.EngineService
    if getattr(cls, "_bench_hooks", False):
        return
    original = cls.__init__

    def __init__(self: service.EngineService, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._handlers["bench-fill"] = lambda request: _fill(self, request)
        self._handlers["bench-flood"] = lambda request: _flood(self, request)

    cls.__init__ = __init__  # type: ignore[method-assign]
    cls._bench_hooks = True  # type: ignore[attr-defined]
