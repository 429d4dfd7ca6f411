"""The flow store: the single source of truth for flows.

Ids increase monotonically from 1, so "which flows are new" is an id range.
Only the engine thread appends; other threads read. A Python list append is
atomic under the GIL and a reader only ever sees fully built flows, so reads
need no lock. Deleted flows leave a hole (``None``) so that id -> index stays
a subtraction; clearing moves the base so ids never restart.

Captured bodies are the bulk of a flow's memory, so the store caps their
total: once ``body_memory_limit`` is exceeded, the oldest flows' bodies are
dropped (the flows themselves, their heads and sizes stay), each drop
counted in ``bodies_dropped`` and marked on the flow, so the user is told
rather than surprised. Only the engine thread accounts; a short lock keeps
the totals right against deletions from the GUI thread.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator

from inspector.core.flow import Flow

DEFAULT_BODY_MEMORY_LIMIT = 512 * 1024 * 1024


class FlowStore:
    def __init__(self, body_memory_limit: int = DEFAULT_BODY_MEMORY_LIMIT) -> None:
        self._flows: list[Flow | None] = []
        self._base = 0
        """Id of the flow just before ``_flows[0]``."""
        self._live = 0
        self.body_memory_limit = body_memory_limit
        self.body_bytes = 0
        """Bytes of captured bodies currently held."""
        self.bodies_dropped = 0
        """Flows whose bodies were dropped to stay under the limit."""
        self._held: deque[tuple[int, int]] = deque()
        """(flow id, body bytes) in the order they were accounted."""
        self._lock = threading.Lock()

    def new_flow(self, client_addr: tuple[str, int]) -> Flow:
        """Create, append and return a flow with the next id."""
        flow = Flow(id=self._base + len(self._flows) + 1, client_addr=client_addr)
        self._flows.append(flow)
        self._live += 1
        return flow

    def get(self, flow_id: int) -> Flow | None:
        index = flow_id - self._base - 1
        if 0 <= index < len(self._flows):
            return self._flows[index]
        return None

    def __len__(self) -> int:
        """Number of flows currently held (deleted ones excluded)."""
        return self._live

    @property
    def last_id(self) -> int:
        """The highest id handed out so far (0 when none ever was)."""
        return self._base + len(self._flows)

    def range(self, first: int, last: int) -> Iterator[Flow]:
        """Flows with ``first <= id <= last`` that still exist, in id order."""
        flows = self._flows
        start = max(first - self._base - 1, 0)
        stop = min(last - self._base, len(flows))
        for index in range(start, stop):
            flow = flows[index]
            if flow is not None:
                yield flow

    def __iter__(self) -> Iterator[Flow]:
        return self.range(self._base + 1, self.last_id)

    def delete(self, flow_id: int) -> bool:
        flow = self.get(flow_id)
        if flow is None:
            return False
        self._flows[flow_id - self._base - 1] = None
        self._live -= 1
        if not flow.bodies_dropped:
            with self._lock:
                self.body_bytes -= _body_size(flow)
                flow.bodies_dropped = True  # no longer counted
        return True

    def clear(self) -> None:
        """Forget every flow. Ids keep increasing afterwards."""
        with self._lock:
            self._base += len(self._flows)
            self._flows = []
            self._live = 0
            self._held.clear()
            self.body_bytes = 0

    def account(self, flow: Flow) -> None:
        """Count a finished flow's captured bodies, dropping the oldest
        bodies while the total is over the limit."""
        size = _body_size(flow)
        if not size:
            return
        with self._lock:
            self._held.append((flow.id, size))
            self.body_bytes += size
            while self.body_bytes > self.body_memory_limit and self._held:
                flow_id, held = self._held.popleft()
                old = self.get(flow_id)
                if old is None or old.bodies_dropped:
                    continue  # deleted or cleared already: not counted
                old.request.body = b""
                if old.response is not None:
                    old.response.body = b""
                old.bodies_dropped = True
                self.body_bytes -= held
                self.bodies_dropped += 1


def _body_size(flow: Flow) -> int:
    size = len(flow.request.body)
    if flow.response is not None:
        size += len(flow.response.body)
    return size
