"""The flow store: the single source of truth for flows.

Ids increase monotonically (from 1, or after ``start_after``), so "which
flows are new" is an id range. One writer: the store is read and changed
on the engine's loop only (clear and delete arrive there as commands, in
order with everything else), so it needs no lock, and a clear can never
land in the middle of handing out an id. Deleted flows leave a hole
(``None``) so that id -> index stays a subtraction; clearing moves the base
so ids never restart.

Captured bodies are the bulk of a flow's memory, so the store caps their
total: once ``body_memory_limit`` is exceeded, the oldest flows' bodies are
dropped (the flows themselves, their heads and sizes stay), each drop
counted in ``bodies_dropped`` and marked on the flow, so the user is told
rather than surprised. With a session file (``disk_backed``) they leave
memory only once the file holds them, and are read back from it.

WebSocket messages have a budget of their own (``ws_memory_limit``),
counting payloads and each message's record: past it the oldest payloads
are dropped first, the messages themselves (direction, time, size)
staying, and if that is not enough the oldest messages go whole; both
are counted (``ws_payloads_dropped``, ``ws_messages_dropped``). So many
sockets, each within its own limits, still hold a bounded total.

Flows themselves are capped too (``max_flows``): past it the oldest flows
are dropped as new ones arrive, counted in ``flows_dropped``, with
``dropped_through`` the highest id dropped so far so that a view can
remove their rows. Without the cap a long session grows by the size of
every flow's heads forever; with it memory levels off.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from inspector.core.flow import Flow
from inspector.core.websocket import DEFAULT_MEMORY_LIMIT, MESSAGE_COST

DEFAULT_BODY_MEMORY_LIMIT = 512 * 1024 * 1024
DEFAULT_MAX_FLOWS = 200_000
COMPACT_AFTER = 65_536
"""Dropped slots at the front of the list tolerated before it is copied
without them (8 bytes each: half a MiB)."""


class FlowStore:
    def __init__(
        self,
        body_memory_limit: int = DEFAULT_BODY_MEMORY_LIMIT,
        max_flows: int = DEFAULT_MAX_FLOWS,
        start_after: int = 0,
    ) -> None:
        self._seg: tuple[int, list[Flow | None]] = (start_after, [])
        """(id of the flow just before the list's first slot, the list)."""
        self._live = 0
        self._oldest = 0
        """Index in the list from which live flows may start."""
        self.max_flows = max_flows
        self.flows_dropped = 0
        """Flows dropped, oldest first, to stay under ``max_flows``."""
        self.dropped_through = 0
        """Highest id dropped at the cap (0 when none was)."""
        self.body_memory_limit = body_memory_limit
        self.body_bytes = 0
        """Bytes of captured bodies currently held."""
        self.bodies_dropped = 0
        """Flows whose bodies were dropped to stay under the limit."""
        self.disk_backed = False
        """A session file records the flows: bodies over the limit leave
        memory for the file instead of being dropped."""
        self.bodies_paged_out = 0
        """Flows whose bodies are in the session file only."""
        self._held: OrderedDict[int, int] = OrderedDict()
        """Flow id -> body bytes counted, oldest accounted first."""
        self.ws_memory_limit = DEFAULT_MEMORY_LIMIT
        self.ws_message_cost = MESSAGE_COST
        """What a kept message costs besides its payload (its record)."""
        self.ws_bytes = 0
        """WebSocket bytes currently held (payloads and message records)."""
        self.ws_payloads_dropped = 0
        """Bytes of WebSocket payloads dropped to stay under the limit."""
        self.ws_messages_dropped = 0
        """WebSocket messages dropped whole to stay under the limit."""
        self._ws_held: OrderedDict[int, int] = OrderedDict()
        """WebSocket flow id -> bytes counted, least recently grown first."""

    def new_flow(self, client_addr: tuple[str, int]) -> Flow:
        """Create, append and return a flow with the next id; past
        ``max_flows``, drop the oldest."""
        base, flows = self._seg
        flow = Flow(id=base + len(flows) + 1, client_addr=client_addr)
        flows.append(flow)
        self._live += 1
        if self._live > self.max_flows:
            self._drop_oldest(self._live - self.max_flows)
        return flow

    def adopt(self, flow: Flow) -> None:
        """Hold ``flow`` under its own id (read from a session file), which
        must come after every id held; ids skipped stay empty."""
        base, flows = self._seg
        index = flow.id - base - 1
        if index < len(flows):
            raise ValueError(f"flow {flow.id} does not come after {base + len(flows)}")
        flows.extend([None] * (index - len(flows)))
        flows.append(flow)
        self._live += 1

    def get(self, flow_id: int) -> Flow | None:
        base, flows = self._seg
        index = flow_id - base - 1
        if 0 <= index < len(flows):
            return flows[index]
        return None

    def __len__(self) -> int:
        """Number of flows currently held (deleted ones excluded)."""
        return self._live

    @property
    def last_id(self) -> int:
        """The highest id handed out so far (0 when none ever was)."""
        base, flows = self._seg
        return base + len(flows)

    def range(self, first: int, last: int) -> Iterator[Flow]:
        """Flows with ``first <= id <= last`` that still exist, in id order."""
        base, flows = self._seg
        start = max(first - base - 1, 0)
        stop = min(last - base, len(flows))
        for index in range(start, stop):
            flow = flows[index]
            if flow is not None:
                yield flow

    def __iter__(self) -> Iterator[Flow]:
        return self.range(1, self.last_id)

    def delete(self, flow_id: int) -> bool:
        base, flows = self._seg
        index = flow_id - base - 1
        if not 0 <= index < len(flows) or flows[index] is None:
            return False
        self._remove(flows, index)
        return True

    def clear(self) -> None:
        """Forget every flow. Ids keep increasing afterwards."""
        base, flows = self._seg
        self._seg = (base + len(flows), [])
        self._oldest = 0
        self._live = 0
        self._held.clear()
        self.body_bytes = 0
        self._ws_held.clear()
        self.ws_bytes = 0

    def set_max_flows(self, max_flows: int) -> None:
        """Change the cap; lowering it drops the oldest flows at the next
        new flow."""
        self.max_flows = max_flows

    def _drop_oldest(self, count: int) -> None:
        base, flows = self._seg
        index = self._oldest
        while count > 0 and index < len(flows):
            if flows[index] is not None:
                self.dropped_through = self._remove(flows, index).id
                self.flows_dropped += 1
                count -= 1
            index += 1
        self._oldest = index
        if index >= COMPACT_AFTER and index * 2 >= len(flows):
            self._seg = (base + index, flows[index:])
            self._oldest = 0

    def _remove(self, flows: list[Flow | None], index: int) -> Flow:
        """Empty the slot at ``index`` (it holds a flow) and return its flow,
        out of the count and the body account."""
        flow = flows[index]
        assert flow is not None
        flows[index] = None
        self._live -= 1
        self.body_bytes -= self._held.pop(flow.id, 0)
        self.ws_bytes -= self._ws_held.pop(flow.id, 0)
        return flow

    def account_ws(self, flow: Flow) -> None:
        """Count what ``flow``'s WebSocket holds now (payloads, and
        ``ws_message_cost`` a kept message); past the limit, shed the
        oldest: payloads first, then whole messages, from the flow that
        grew least recently."""
        if self.get(flow.id) is not flow:
            return  # deleted or dropped: its socket may still be open
        held = self._ws_holding(flow)
        self.ws_bytes += held - self._ws_held.pop(flow.id, 0)
        if held:
            self._ws_held[flow.id] = held
        while self.ws_bytes > self.ws_memory_limit and self._ws_held:
            oldest_id, before = next(iter(self._ws_held.items()))
            oldest = self.get(oldest_id)
            assert oldest is not None  # held flows leave with _remove
            info = oldest.websocket
            assert info is not None
            need = self.ws_bytes - self.ws_memory_limit
            freed = info.drop_payloads(need)
            self.ws_payloads_dropped += freed
            if freed < need and self.ws_message_cost:
                count = -(-(need - freed) // self.ws_message_cost)
                self.ws_messages_dropped += info.drop_oldest(count)
            after = self._ws_holding(oldest)
            self.ws_bytes += after - before
            if after:
                self._ws_held[oldest_id] = after  # keeps its place
            else:
                del self._ws_held[oldest_id]

    def _ws_holding(self, flow: Flow) -> int:
        info = flow.websocket
        if info is None:
            return 0
        return info.kept_bytes + self.ws_message_cost * len(info.messages)

    def account(self, flow: Flow) -> None:
        """Count a finished flow's captured bodies, dropping the oldest
        bodies while the total is over the limit (with a session file,
        paging out those the file holds instead)."""
        size = _body_size(flow)
        if not size or self.get(flow.id) is not flow:
            return  # nothing held, or the flow was dropped or deleted
        self.body_bytes += size - self._held.pop(flow.id, 0)
        self._held[flow.id] = size
        self._relieve()

    def recorded(self, flows: list[Flow]) -> None:
        """``flows`` are in the session file now: their bodies may leave
        memory (read back from the file when asked for)."""
        for flow in flows:
            flow.recorded = True
        self._relieve()

    def _relieve(self) -> None:
        held_bodies = self._held
        # Flows not yet in the session file are passed over (their turn
        # comes again): their bodies exist nowhere else.
        passes = len(held_bodies)
        while self.body_bytes > self.body_memory_limit and held_bodies and passes > 0:
            passes -= 1
            flow_id, held = held_bodies.popitem(last=False)
            old = self.get(flow_id)
            if old is None:
                self.body_bytes -= held
                continue
            if self.disk_backed and not old.recorded:
                held_bodies[flow_id] = held
                continue
            self.body_bytes -= held
            old.request.body = b""
            if old.response is not None:
                old.response.body = b""
            if self.disk_backed:
                old.bodies_on_disk = True
                self.bodies_paged_out += 1
            else:
                old.bodies_dropped = True
                self.bodies_dropped += 1


def _body_size(flow: Flow) -> int:
    size = len(flow.request.body)
    if flow.response is not None:
        size += len(flow.response.body)
    return size
