"""An engine's side of batches, in memory, for model and view tests: a
store, a relay and the engine's batch builder on one side, the window's row
mirror on the other, and every batch through the real wire encoding."""

from __future__ import annotations

from inspector.core.events import FlowCreated, FlowFinished
from inspector.core.flow import FlowError, FlowState, Request, Response
from inspector.core.mirror import RowMirror
from inspector.core.protocol import FrameReader, encode
from inspector.core.relay import Relay, RelayLimits
from inspector.core.rowbatch import RowBatch, batch_from_wire
from inspector.core.store import DEFAULT_MAX_FLOWS, FlowStore
from inspector.gui.flow_model import FlowTableModel
from inspector.proxy.batches import BatchBuilder


class Feed:
    def __init__(self, max_flows: int = DEFAULT_MAX_FLOWS, budget: int = 1_000_000) -> None:
        self.store = FlowStore(max_flows=max_flows)
        self.relay = Relay(RelayLimits(flush_budget=budget))
        self.builder = BatchBuilder(self.store, self.relay, budget)
        self.mirror = RowMirror()
        self._reader = FrameReader()

    def add(
        self,
        host: str = "a.test",
        status: int | None = 200,
        size: int = 10,
        method: str = "GET",
        failed: bool = False,
    ) -> int:
        flow = self.store.new_flow(("127.0.0.1", 1))
        flow.request = Request(method=method, host=host, port=80, target=f"/{flow.id}")
        flow.t_start = 1000.0 + flow.id
        if status is not None:
            flow.response = Response(status=status, body_size=size)
            flow.t_end = flow.t_start + 0.01
            flow.state = FlowState.COMPLETE
        if failed:
            flow.state = FlowState.FAILED
            flow.error = FlowError("dns", "lookup failed")
            flow.t_end = flow.t_start + 0.01
        self.relay.emit(FlowCreated(flow.id))
        return flow.id

    def respond(self, flow_id: int, status: int) -> None:
        flow = self.store.get(flow_id)
        assert flow is not None
        flow.response = Response(status=status)
        flow.state = FlowState.COMPLETE
        flow.t_end = flow.t_start + 0.01
        self.relay.emit(FlowFinished(flow_id))

    def batch(self) -> RowBatch:
        [message] = self._reader.feed(encode(self.builder.build()))
        return batch_from_wire(message)

    def send(self, model: FlowTableModel) -> RowBatch:
        batch = self.batch()
        model.apply_batch(batch)
        return batch

    def model(self) -> FlowTableModel:
        """A model over this feed's mirror, with every flow so far sent."""
        model = FlowTableModel(self.mirror)
        self.send(model)
        return model
