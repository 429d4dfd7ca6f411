from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from inspector.core.store import FlowStore


def test_ids_increase_and_lookup_works() -> None:
    store = FlowStore()
    flows = [store.new_flow(("127.0.0.1", 1000 + i)) for i in range(5)]
    assert [f.id for f in flows] == [1, 2, 3, 4, 5]
    assert store.get(3) is flows[2]
    assert store.get(0) is None and store.get(6) is None
    assert len(store) == 5 and store.last_id == 5
    assert [f.id for f in store.range(2, 4)] == [2, 3, 4]
    assert [f.id for f in store.range(-5, 100)] == [1, 2, 3, 4, 5]


def test_delete_leaves_a_hole() -> None:
    store = FlowStore()
    for _ in range(3):
        store.new_flow(("h", 1))
    assert store.delete(2)
    assert not store.delete(2)
    assert store.get(2) is None
    assert [f.id for f in store] == [1, 3]
    assert len(store) == 2


def test_clear_keeps_ids_increasing() -> None:
    store = FlowStore()
    for _ in range(3):
        store.new_flow(("h", 1))
    store.clear()
    assert len(store) == 0 and list(store) == []
    assert store.get(1) is None
    flow = store.new_flow(("h", 1))
    assert flow.id == 4
    assert store.get(4) is flow
    assert [f.id for f in store.range(1, 10)] == [4]


def _with_body(store: FlowStore, size: int) -> int:
    from inspector.core.flow import Response

    flow = store.new_flow(("h", 1))
    flow.request.body = b"q" * (size // 2)
    flow.response = Response(status=200, body=b"r" * (size - size // 2), body_size=size)
    store.account(flow)
    return flow.id


def test_bodies_beyond_the_memory_limit_are_dropped_oldest_first() -> None:
    store = FlowStore(body_memory_limit=1000)
    ids = [_with_body(store, 300) for _ in range(5)]
    assert store.body_bytes == 900
    assert store.bodies_dropped == 2
    dropped = [store.get(i) for i in ids[:2]]
    kept = [store.get(i) for i in ids[2:]]
    for flow in dropped:
        assert flow is not None and flow.bodies_dropped
        assert flow.request.body == b"" and flow.response is not None
        assert flow.response.body == b"" and flow.response.body_size == 300
    for flow in kept:
        assert flow is not None and not flow.bodies_dropped
        assert flow.response is not None and len(flow.response.body) == 150


def test_deleted_and_cleared_flows_leave_the_account() -> None:
    store = FlowStore(body_memory_limit=1000)
    first = _with_body(store, 400)
    _with_body(store, 400)
    store.delete(first)
    assert store.body_bytes == 400
    _with_body(store, 400)
    assert store.bodies_dropped == 0
    store.clear()
    assert store.body_bytes == 0
    _with_body(store, 900)
    assert store.bodies_dropped == 0 and store.body_bytes == 900


def test_flows_without_bodies_cost_nothing() -> None:
    store = FlowStore(body_memory_limit=10)
    flow = store.new_flow(("h", 1))
    store.account(flow)
    assert store.body_bytes == 0


def test_flows_past_the_cap_are_dropped_oldest_first() -> None:
    store = FlowStore(max_flows=3)
    flows = [store.new_flow(("h", 1)) for _ in range(5)]
    assert len(store) == 3
    assert store.flows_dropped == 2 and store.dropped_through == 2
    assert [f.id for f in store] == [3, 4, 5]
    assert store.get(1) is None and store.get(3) is flows[2]
    assert store.last_id == 5


def test_dropped_flows_leave_the_body_account() -> None:
    store = FlowStore(body_memory_limit=10_000, max_flows=2)
    for _ in range(5):
        _with_body(store, 1000)
    assert store.body_bytes == 2000
    assert store.bodies_dropped == 0  # flows went, not just their bodies
    assert len(store._held) == 2


def test_a_flow_dropped_before_it_finishes_is_not_accounted() -> None:
    from inspector.core.flow import Response

    store = FlowStore(max_flows=1)
    slow = store.new_flow(("h", 1))
    store.new_flow(("h", 1))
    slow.response = Response(status=200, body=b"x" * 100, body_size=100)
    store.account(slow)
    assert store.body_bytes == 0


def test_the_list_is_compacted_and_lookups_stay_right() -> None:
    from inspector.core import store as store_module

    store = FlowStore(max_flows=1000)
    total = store_module.COMPACT_AFTER * 2 + 123
    for _ in range(total):
        store.new_flow(("h", 1))
    base, flows = store._seg
    assert base > 0 and len(flows) < total  # dropped slots went
    assert len(store) == 1000 and store.flows_dropped == total - 1000
    assert [f.id for f in store] == list(range(total - 999, total + 1))
    assert store.get(total - 1000) is None
    flow = store.get(total - 999)
    assert flow is not None and flow.id == total - 999
    assert [f.id for f in store.range(total - 5, total + 10)] == list(range(total - 5, total + 1))


def test_cap_deletes_and_clears_together() -> None:
    store = FlowStore(max_flows=3)
    for _ in range(3):
        store.new_flow(("h", 1))
    store.delete(2)
    store.new_flow(("h", 1))  # 1, 3, 4: under the cap
    assert [f.id for f in store] == [1, 3, 4] and store.flows_dropped == 0
    store.new_flow(("h", 1))
    assert [f.id for f in store] == [3, 4, 5] and store.dropped_through == 1
    store.clear()
    assert len(store) == 0
    store.new_flow(("h", 1))
    assert [f.id for f in store] == [6]


@given(st.lists(st.tuples(st.sampled_from(["new", "delete", "clear"]), st.integers(0, 20))))
def test_store_matches_a_model_under_any_sequence(ops: list[tuple[str, int]]) -> None:
    cap = 5
    store = FlowStore(max_flows=cap)
    model: list[int] = []
    dropped = 0
    for op, arg in ops:
        if op == "new":
            flow = store.new_flow(("h", 1))
            model.append(flow.id)
            if len(model) > cap:
                model.pop(0)
                dropped += 1
        elif op == "delete" and model:
            victim = model.pop(arg % len(model))
            assert store.delete(victim)
        elif op == "clear":
            store.clear()
            model.clear()
        assert [f.id for f in store] == model
        assert len(store) == len(model)
        assert store.flows_dropped == dropped
