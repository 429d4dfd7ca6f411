from __future__ import annotations

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
