"""Hypothesis drives the relay through any interleaving of emits and drains,
with capacities small enough that the resync and drop paths run often, and
checks the promises the GUI relies on: critical events exactly once and in
order, every flow id notified after its last emit (or covered by a later
resync), exact new-id ranges, and per-class accounting that always adds up."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from inspector.core.events import (
    FlowCreated,
    FlowFinished,
    FlowResponseHead,
    ListenFailed,
    WarningRaised,
)
from inspector.core.relay import Relay, RelayLimits

FLOW_CAPACITY = 4
LOW_HIGH_WATER = 5
MAX_FLOW_ID = 8


class RelayMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.relay = Relay(
            RelayLimits(
                max_pending_flow_ids=FLOW_CAPACITY,
                low_high_water=LOW_HIGH_WATER,
                flush_budget=3,
                critical_soft_limit=2,
                recent_flushes=4,
            )
        )
        self.clock = 0
        """Counts operations, so "after" can be checked without wall time."""
        self.emitted = {"critical": 0, "flow": 0, "low": 0}
        self.critical_sent: list[int] = []
        self.critical_got: list[int] = []
        self.next_created = 1
        self.new_got: list[int] = []
        self.last_emit: dict[int, int] = {}
        self.last_notified: dict[int, int] = {}
        self.last_resync = -1
        self.low_since_drain: dict[tuple[str, str], list[str]] = {}
        self.low_counted = 0
        self.changed_total = 0

    def tick(self) -> int:
        self.clock += 1
        return self.clock

    @rule()
    def emit_critical(self) -> None:
        sequence = len(self.critical_sent)
        self.critical_sent.append(sequence)
        self.relay.emit(ListenFailed("h", sequence, "busy"))
        self.emitted["critical"] += 1
        self.tick()

    @precondition(lambda self: self.next_created <= MAX_FLOW_ID)
    @rule()
    def create_flow(self) -> None:
        flow_id = self.next_created
        self.next_created += 1
        self.relay.emit(FlowCreated(flow_id))
        self.emitted["flow"] += 1
        self.last_emit[flow_id] = self.tick()

    @rule(flow_id=st.integers(1, MAX_FLOW_ID), finished=st.booleans())
    def update_flow(self, flow_id: int, finished: bool) -> None:
        self.relay.emit(FlowFinished(flow_id) if finished else FlowResponseHead(flow_id))
        self.emitted["flow"] += 1
        self.last_emit[flow_id] = self.tick()

    @rule(
        kind=st.sampled_from(["reset", "slow"]),
        key=st.sampled_from(["a", "b", "c"]),
        message=st.sampled_from(["x", "y", "z"]),
    )
    def emit_low(self, kind: str, key: str, message: str) -> None:
        self.relay.emit(WarningRaised(kind, key, message))
        self.low_since_drain.setdefault((kind, key), []).append(message)
        self.emitted["low"] += 1
        self.tick()

    @rule(budget=st.integers(1, 5))
    def drain(self, budget: int) -> None:
        batch = self.relay.drain(budget)
        now = self.tick()
        self.critical_got.extend(e.port for e in batch.critical if isinstance(e, ListenFailed))
        changed = list(batch.changed_ids)
        assert changed == sorted(set(changed)) and len(changed) <= budget
        self.changed_total += len(changed)
        for flow_id in changed:
            self.last_notified[flow_id] = now
        if batch.resync:
            assert not changed
            self.last_resync = now
        self.new_got.extend(batch.new_ids)
        for aggregate in batch.low:
            sent = self.low_since_drain[(aggregate.kind, aggregate.key)]
            assert 1 <= aggregate.count <= len(sent)
            assert isinstance(aggregate.latest, WarningRaised)
            assert aggregate.latest.message == sent[-1]
            self.low_counted += aggregate.count
        self.low_since_drain.clear()

    @rule(seconds=st.floats(0, 1))
    def report_flush(self, seconds: float) -> None:
        self.relay.record_flush(seconds)

    @invariant()
    def accounts_add_up_and_depth_is_bounded(self) -> None:
        stats = self.relay.snapshot()
        assert stats.balanced
        assert stats.critical.emitted == self.emitted["critical"]
        assert stats.flow.emitted == self.emitted["flow"]
        assert stats.low.emitted == self.emitted["low"]
        assert stats.flow.pending <= FLOW_CAPACITY
        assert stats.low.pending <= LOW_HIGH_WATER
        assert stats.depth == stats.critical.pending + stats.flow.pending + stats.low.pending
        assert stats.high_water >= stats.depth
        assert stats.critical.coalesced == stats.critical.dropped == 0

    def teardown(self) -> None:
        for _ in range(MAX_FLOW_ID + 2):
            self.drain(budget=5)
        stats = self.relay.snapshot()
        assert stats.depth == 0
        assert stats.critical.pending == stats.flow.pending == stats.low.pending == 0
        assert self.critical_got == self.critical_sent
        assert self.new_got == list(range(1, self.next_created))
        for flow_id, emitted_at in self.last_emit.items():
            covered = max(self.last_notified.get(flow_id, -1), self.last_resync)
            assert covered > emitted_at, f"flow {flow_id} never notified after its last emit"
        assert stats.flow.delivered == self.changed_total
        assert stats.critical.delivered == len(self.critical_got)
        assert self.low_counted == stats.low.delivered + stats.low.coalesced


RelayMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=60, deadline=None)
TestRelayStateMachine = RelayMachine.TestCase
