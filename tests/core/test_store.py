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
