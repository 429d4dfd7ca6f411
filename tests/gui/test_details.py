"""A flow's details fetched for the window: the inline part of a detail and
then body ranges, reassembled byte for byte (3 MiB through a real engine),
and a flow or body that goes away meanwhile."""

from __future__ import annotations

import asyncio
import hashlib
import os
from typing import Any

import pytest

from inspector.core.flow import Flow, FlowState, Request, Response
from inspector.core.protocol import MAX_BODY_RANGE
from inspector.core.wire import BODY_INLINE, flow_to_wire
from inspector.gui import details
from inspector.gui.details import fetch_flow
from tests.proxy.engine_pair import EnginePair, engine_pair, until
from tests.proxy.harness import Client, Origin, Received, Reply

MiB = 1024 * 1024


class PairLink:
    """The part of EngineLink that fetch_flow uses, over a real engine,
    counting what it is asked."""

    def __init__(self, pair: EnginePair) -> None:
        self.pair = pair
        self.asked: list[tuple[str, dict[str, Any]]] = []

    async def request(self, op: str, **args: Any) -> Any:
        self.asked.append((op, args))
        return await self.pair.request(op, **args)


@pytest.mark.parametrize("range_size", [MAX_BODY_RANGE, 700_000], ids=["default", "small"])
def test_a_3_mib_body_is_reassembled_byte_exact(
    range_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(details, "MAX_BODY_RANGE", range_size)
    response_body = os.urandom(3 * MiB)
    request_body = os.urandom(3 * MiB + 17)

    async def big(req: Received) -> Reply:
        assert req.body == request_body
        return Reply(200, [(b"Content-Type", b"application/octet-stream")], response_body)

    async def main() -> None:
        async with engine_pair() as pair, Origin(big) as origin:
            port = await pair.start()
            client = await Client.connect(port)
            answer = await client.request("PUT", f"{origin.base}/blob", body=request_body)
            assert answer.body == response_body
            client.close()
            await until(lambda: len(pair.store) == 1 and next(iter(pair.store)).finished)

            link = PairLink(pair)
            flow = await fetch_flow(link, 1)  # type: ignore[arg-type]
            assert flow is not None and flow.response is not None
            assert (
                hashlib.sha256(flow.response.body).digest()
                == hashlib.sha256(response_body).digest()
            )
            assert flow.response.body == response_body
            assert flow.request.body == request_body
            assert flow.request.method == "PUT" and flow.response.status == 200

            [detail] = [args for op, args in link.asked if op == "detail"]
            assert detail == {"id": 1}
            ranges = [args for op, args in link.asked if op == "body"]
            for side, body in (("request", request_body), ("response", response_body)):
                offsets = [r["offset"] for r in ranges if r["side"] == side]
                expected = list(range(BODY_INLINE, len(body), min(range_size, MAX_BODY_RANGE)))
                assert offsets == expected
                assert all(r["length"] == range_size for r in ranges)

    asyncio.run(main())


class StubLink:
    """An engine made of one flow in memory; ``shrink_after`` body requests
    later its bodies are dropped, as the store's memory limit would."""

    def __init__(self, flow: Flow | None, inline: int = 10, shrink_after: int = 10**9) -> None:
        self.flow = flow
        self.inline = inline
        self.shrink_after = shrink_after
        self.bodies_asked = 0

    async def request(self, op: str, **args: Any) -> Any:
        flow = self.flow
        if op == "detail":
            return {"flow": flow_to_wire(flow, self.inline) if flow is not None else None}
        assert op == "body" and flow is not None
        self.bodies_asked += 1
        if self.bodies_asked > self.shrink_after:
            return {"data": b"", "captured": 0}
        message = flow.request if args["side"] == "request" else flow.response
        assert message is not None
        data = message.body[args["offset"] : args["offset"] + min(args["length"], 25)]
        return {"data": data, "captured": len(message.body)}


def _flow(response: bool = True) -> Flow:
    flow = Flow(id=5, client_addr=("127.0.0.1", 1), state=FlowState.COMPLETE)
    flow.request = Request(method="POST", host="a.test", target="/", body=b"q" * 100)
    if response:
        flow.response = Response(status=200, body=b"r" * 77)
    return flow


def test_bodies_come_in_ranges_until_whole() -> None:
    link = StubLink(_flow())
    flow = asyncio.run(fetch_flow(link, 5))  # type: ignore[arg-type]
    assert flow is not None and flow.request.body == b"q" * 100
    assert flow.response is not None and flow.response.body == b"r" * 77
    assert link.bodies_asked == 4 + 3  # 90 bytes of the request, 67 of the response, 25 a time


def test_a_flow_without_a_response_fetches_the_request_only() -> None:
    link = StubLink(_flow(response=False))
    flow = asyncio.run(fetch_flow(link, 5))  # type: ignore[arg-type]
    assert flow is not None and flow.response is None and flow.request.body == b"q" * 100


def test_a_flow_already_whole_asks_for_no_range() -> None:
    link = StubLink(_flow(), inline=1000)
    assert asyncio.run(fetch_flow(link, 5)) is not None  # type: ignore[arg-type]
    assert link.bodies_asked == 0


def test_bodies_dropped_meanwhile_end_the_fetch_with_what_came() -> None:
    link = StubLink(_flow(), shrink_after=1)
    flow = asyncio.run(fetch_flow(link, 5))  # type: ignore[arg-type]
    assert flow is not None and flow.request.body == b"q" * 35
    assert flow.response is not None and flow.response.body == b"r" * 10
    assert link.bodies_asked == 3


@pytest.mark.parametrize("result", [{"flow": None}, None, "nonsense", []])
def test_a_flow_the_engine_no_longer_has_is_none(result: Any) -> None:
    class Gone:
        async def request(self, op: str, **args: Any) -> Any:
            return result

    assert asyncio.run(fetch_flow(Gone(), 5)) is None  # type: ignore[arg-type]
