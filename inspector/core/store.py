"""The flow store: the single source of truth for flows.

Ids increase monotonically from 1, so "which flows are new" is an id range.
Only the engine thread appends; other threads read. A Python list append is
atomic under the GIL and a reader only ever sees fully built flows, so reads
need no lock. Deleted flows leave a hole (``None``) so that id -> index stays
a subtraction; clearing moves the base so ids never restart.
"""

from __future__ import annotations

from collections.abc import Iterator

from inspector.core.flow import Flow


class FlowStore:
    def __init__(self) -> None:
        self._flows: list[Flow | None] = []
        self._base = 0
        """Id of the flow just before ``_flows[0]``."""
        self._live = 0

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
        if self.get(flow_id) is None:
            return False
        self._flows[flow_id - self._base - 1] = None
        self._live -= 1
        return True

    def clear(self) -> None:
        """Forget every flow. Ids keep increasing afterwards."""
        self._base += len(self._flows)
        self._flows = []
        self._live = 0
