"""A session opened to look at: an engine that loads the file's flows in
chunks (bodies left in the file until asked for) and never listens."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from inspector.core.flow import Flow, FlowState, Request, Response
from inspector.core.session import Session
from inspector.engine import EngineOptions, build
from inspector.proxy import session_reader
from inspector.proxy.flow_reads import FlowReads


def _write(path: Path, ids: list[int]) -> dict[int, bytes]:
    bodies = {}
    flows = []
    for flow_id in ids:
        flow = Flow(flow_id, ("127.0.0.1", 1))
        flow.request = Request(method="GET", host="example.com", target=f"/{flow_id}")
        body = os.urandom(1000 + flow_id)
        flow.response = Response(status=200, reason="OK", body=body, body_size=len(body))
        flow.t_start, flow.t_end, flow.state = (
            1.0 * flow_id,
            1.0 * flow_id + 0.5,
            FlowState.COMPLETE,
        )
        bodies[flow_id] = body
        flows.append(flow)
    with Session.create(path) as session:
        session.write(flows)
    return bodies


def test_an_opened_session_loads_every_flow_and_reads_bodies_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session_reader, "CHUNK", 7)  # several chunks
    path = tmp_path / "a.inspector"
    ids = [3, 4, 5, *range(10, 40)]  # a trimmed front and a hole
    bodies = _write(path, ids)

    async def scenario() -> None:
        service, certs = build(EngineOptions(tmp_path, open_path=path))
        assert certs is None and service.reader is not None
        await service.reader.load(service.store)
        store = service.store
        assert [f.id for f in store] == ids
        assert store.get(6) is None and len(store) == len(ids)
        flow = store.get(10)
        assert flow is not None and flow.bodies_on_disk
        assert flow.response is not None and flow.response.body == b""
        reply = await FlowReads(service).detail({"id": 10, "inline": 1 << 20})  # type: ignore[misc]
        assert reply["flow"]["response"]["body"] == bodies[10]
        hello = service.hello("s")
        assert hello["opened"] == str(path) and hello["first_id"] == 40
        with pytest.raises(ValueError, match="does not listen"):
            await service._start({})
        await service.close()

    asyncio.run(scenario())


def test_a_damaged_file_stops_loading_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "a.inspector"
    _write(path, [1, 2, 3])
    with Session.open(path, writable=True) as session:
        session._conn.execute("UPDATE flows SET head = x'00' WHERE id = 2")

    async def scenario() -> None:
        service, _ = build(EngineOptions(tmp_path, open_path=path))
        assert service.reader is not None
        await service.reader.load(service.store)
        assert service.reader.done and "damaged record" in service.reader.failed
        assert [f.id for f in service.store] == [1]
        await service.close()

    asyncio.run(scenario())
