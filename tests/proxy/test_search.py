from __future__ import annotations

import asyncio
import gzip

import pytest

from inspector.core.flow import FlowState, Request, Response
from inspector.core.protocol import ProtocolError
from inspector.core.store import FlowStore
from inspector.link.client import EngineError
from inspector.proxy import search as search_module
from inspector.proxy.search import MAX_IDS, FlowSearch
from tests.proxy.engine_pair import engine_pair


def _store() -> FlowStore:
    store = FlowStore()
    bodies = [b'{"token": 1}', gzip.compress(b"token, zipped"), b"none", b"token"]
    for n, body in enumerate(bodies):
        flow = store.new_flow(("127.0.0.1", 5000 + n))
        flow.request = Request(
            method="GET", host="example.com", port=80, target=f"/{n}", headers=[]
        )
        headers = [(b"Content-Type", b"text/plain")]
        if n == 1:
            headers.append((b"Content-Encoding", b"gzip"))
        flow.response = Response(
            status=200, reason="OK", headers=headers, body=body, body_size=len(body)
        )
        flow.state = FlowState.COMPLETE if n < 3 else FlowState.STREAMING
    return store


def test_judges_the_ids_it_is_given() -> None:
    search = FlowSearch(_store())
    reply = search({"filter": "body:token", "ids": [1, 2, 3, 4, 99]})
    assert reply == {"matches": [1, 2], "misses": [3, 99], "later": [4], "rest": []}


def test_a_spent_budget_sends_the_rest_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_module, "BUDGET", -1.0)
    store = _store()
    for _ in range(40):
        store.new_flow(("127.0.0.1", 1))
    ids = list(range(1, 45))
    reply = FlowSearch(store)({"filter": "body:token", "ids": ids})
    assert reply["rest"] == ids[16:]
    judged = reply["matches"] + reply["misses"] + reply["later"]
    assert sorted(judged + reply["rest"]) == ids


@pytest.mark.parametrize(
    "args",
    [
        {"filter": "body:(", "ids": [1]},
        {"filter": 3, "ids": [1]},
        {"filter": "body:x", "ids": "1"},
        {"filter": "body:x", "ids": [1, "2"]},
        {"filter": "body:x", "ids": [True]},
        {"filter": "body:x", "ids": list(range(MAX_IDS + 1))},
        {"ids": [1]},
    ],
)
def test_bad_requests_are_protocol_errors(args: dict[str, object]) -> None:
    with pytest.raises(ProtocolError):
        FlowSearch(_store())(args)


def test_search_through_the_engine() -> None:
    async def scenario() -> None:
        async with engine_pair() as pair:
            reply = await pair.request("search", filter="body:x", ids=[1, 2])
            assert list(reply["misses"]) == [1, 2]
            with pytest.raises(EngineError, match="search"):
                await pair.request("search", filter="status:", ids=[1])

    asyncio.run(scenario())
