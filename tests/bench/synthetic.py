"""Synthetic flows for the benchmarks that need many without traffic: the
million-row table model and the quit-with-a-backlog test. They look like
what the proxy records (absolute URLs spread over a few hundred hosts,
mixed methods, statuses, content types, sizes and durations), so sorting by
any column does real comparisons, and they are built the way the engine
builds them: whole values assigned, nothing shared between flows but the
interned strings, and headers packed as the recorder packs a finished flow's.
"""

from __future__ import annotations

import random

from inspector.core.flow import FlowState, Request, Response
from inspector.core.headers import PackedHeaders
from inspector.core.store import FlowStore

_METHODS = ("GET",) * 8 + ("POST", "PUT", "DELETE", "OPTIONS")
_STATUSES = (200,) * 12 + (201, 204, 301, 304, 400, 401, 403, 404, 404, 500, 502, 503)
_TYPES = (
    b"application/json",
    b"text/html; charset=utf-8",
    b"image/png",
    b"text/css",
    b"application/javascript",
    b"text/plain",
)
_HOSTS = tuple(f"svc{n}.api{n % 17}.example.com" for n in range(300))


def fill(store: FlowStore, count: int, seed: int = 1) -> None:
    """Append ``count`` finished flows to ``store``."""
    rng = random.Random(seed)
    methods, statuses, types, hosts = _METHODS, _STATUSES, _TYPES, _HOSTS
    base = 1_700_000_000.0
    for n in range(count):
        flow = store.new_flow(("127.0.0.1", 40_000 + n % 20_000))
        host = hosts[rng.randrange(len(hosts))]
        flow.request = Request(
            method=methods[rng.randrange(len(methods))],
            scheme="https" if n % 3 else "http",
            host=host,
            port=443 if n % 3 else 80,
            target=f"/v{n % 7}/items/{rng.randrange(1_000_000)}?page={n % 50}",
            headers=PackedHeaders([(b"Host", host.encode()), (b"Accept", b"*/*")]),
        )
        size = rng.randrange(50_000)
        flow.response = Response(
            status=statuses[rng.randrange(len(statuses))],
            reason="OK",
            headers=PackedHeaders(
                [
                    (b"Content-Type", types[rng.randrange(len(types))]),
                    (b"Content-Length", str(size).encode()),
                ]
            ),
            body_size=size,
        )
        flow.t_start = base + n * 0.001
        flow.t_end = flow.t_start + rng.random() * 0.5
        flow.state = FlowState.COMPLETE
