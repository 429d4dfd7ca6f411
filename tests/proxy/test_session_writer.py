"""The flight recorder: flows reach the session file as they finish, off
the request path; deletes and clears reach it too; the size cap holds; a
killed headless proxy leaves a file that opens with what it answered."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from inspector.core.session import Session
from inspector.proxy.flow_reads import FlowReads
from inspector.proxy.session_writer import SessionWriter
from tests.proxy.harness import Client, Origin, run, running_proxy


async def _until(check: object, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():  # type: ignore[operator]
            await asyncio.sleep(0.02)


def test_finished_flows_are_written(tmp_path: Path) -> None:
    path = tmp_path / "a.inspector"

    async def scenario() -> None:
        writer = SessionWriter.open(path, 1 << 30)
        await writer.start()
        async with Origin() as origin, running_proxy() as proxy:
            proxy.server.ctx.recorder.on_settled = writer.settled
            client = await proxy.client()
            for i in range(5):
                answer = await client.request("GET", f"{origin.base}/n{i}")
                assert answer.status == 200
            client.close()
            await _until(lambda: writer.written >= 5)
            with Session.open(path) as reader:
                urls = [f.request.url for f in reader.flows()]
            assert urls == [f"{origin.base}/n{i}" for i in range(5)]
            await writer.delete([2, 3])
            with Session.open(path) as reader:
                assert reader.ids() == [1, 4, 5]
            await writer.clear(proxy.store.last_id)
            with Session.open(path) as reader:
                assert reader.info().flows == 0
        await writer.close()
        assert writer.failed == ""

    run(scenario())


def test_headless_continues_a_session_after_its_last_flow(tmp_path: Path) -> None:
    path = tmp_path / "a.inspector"

    async def scenario() -> None:
        async with Origin() as origin:
            for round_ in range(2):
                proc = _headless(tmp_path / "conf", path)
                try:
                    assert proc.stdout is not None
                    line = await asyncio.to_thread(proc.stdout.readline)
                    client = await Client.connect(int(line.rsplit(":", 1)[1]))
                    for i in range(3):
                        await client.request("GET", f"{origin.base}/{round_}/{i}")
                    client.close()
                    proc.send_signal(signal.SIGTERM)  # a clean stop writes what is left
                    assert await asyncio.to_thread(proc.wait, 10) == 0
                finally:
                    if proc.poll() is None:
                        proc.kill()
                    if proc.stdout is not None:
                        proc.stdout.close()
        with Session.open(path) as reader:
            assert reader.ids() == [1, 2, 3, 4, 5, 6]
            paths = [f.request.target for f in reader.flows()]
        assert paths == ["/0/0", "/0/1", "/0/2", "/1/0", "/1/1", "/1/2"]

    run(scenario())


def test_past_the_cap_the_oldest_flows_leave(tmp_path: Path, monkeypatch: object) -> None:
    path = tmp_path / "a.inspector"
    big = os.urandom(64 * 1024)  # incompressible

    async def handler(req: object) -> object:
        from tests.proxy.harness import Reply

        return Reply(200, [(b"Content-Length", str(len(big)).encode())], [big])

    async def scenario() -> None:
        writer = SessionWriter.open(path, 1024 * 1024)
        await writer.start()
        async with Origin(handler) as origin, running_proxy() as proxy:  # type: ignore[arg-type]
            proxy.server.ctx.recorder.on_settled = writer.settled
            client = await proxy.client()
            for _ in range(40):
                await client.request("GET", f"{origin.base}/")
                await writer.flush()
            client.close()
        await writer.close()
        with Session.open(path) as reader:
            ids = reader.ids()
            assert reader.size() <= 1024 * 1024
        assert ids and ids[-1] == 40 and ids[0] > 1
        assert ids == list(range(ids[0], 41))

    run(scenario())


def _headless(confdir: Path, session: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "inspector",
            "--headless",
            "--quiet",
            "--listen",
            "127.0.0.1:0",
            "--confdir",
            str(confdir),
            "--session",
            str(session),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )


def test_kill_9_under_load_loses_at_most_the_last_moment(tmp_path: Path) -> None:
    """A headless proxy killed while answering: the file opens, and holds
    every flow committed before the kill (how many of the last moment's
    flows are lost is measured by the benchmark, not asserted here)."""
    path = tmp_path / "killed.inspector"

    async def scenario() -> None:
        async with Origin() as origin:
            proc = _headless(tmp_path / "conf", path)
            try:
                assert proc.stdout is not None
                line = await asyncio.to_thread(proc.stdout.readline)
                port = int(line.rsplit(":", 1)[1])
                client = await Client.connect(port)

                async def traffic(count: int) -> None:
                    for _ in range(count):
                        answer = await client.request("GET", f"{origin.base}/")
                        assert answer.status == 200

                await traffic(200)

                def committed() -> int:
                    with Session.open(path) as reader:
                        return reader.info().flows

                # What was answered reaches the file while the proxy runs...
                await _until(lambda: committed() == 200)
                # ...and a kill in the middle of more traffic loses no more
                # than what was not yet committed.
                await traffic(100)
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                client.close()
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                if proc.stdout is not None:
                    proc.stdout.close()
        with Session.open(path) as reader:
            kept = reader.info().flows
            assert reader.ids() == list(range(1, kept + 1))
        assert 200 <= kept <= 300

    run(scenario())


def test_bodies_over_the_limit_leave_memory_for_the_file_and_come_back(tmp_path: Path) -> None:
    """With a session file, the store pages bodies out instead of dropping
    them, once the file holds them; details and body ranges read them back."""
    from inspector.core.relay import Relay, RelayLimits
    from inspector.core.settings import ProxySettings
    from inspector.proxy.service import EngineService

    bodies = [os.urandom(40_000) for _ in range(6)]

    async def handler(req: object) -> object:
        from tests.proxy.harness import Reply

        body = bodies[int(req.target.rsplit(b"/", 1)[1])]  # type: ignore[attr-defined]
        return Reply(200, [(b"Content-Length", str(len(body)).encode())], [body])

    async def scenario() -> None:
        writer = SessionWriter.open(tmp_path / "a.inspector", 1 << 30)
        await writer.start()
        async with (
            Origin(handler) as origin,
            running_proxy(  # type: ignore[arg-type]
                body_memory_limit=100_000
            ) as proxy,
        ):
            store = proxy.store
            store.body_memory_limit = 100_000
            service = EngineService(store, Relay(RelayLimits()), ProxySettings(), writer=writer)
            proxy.server.ctx.recorder.on_settled = writer.settled
            client = await proxy.client()
            for i in range(6):
                await client.request("GET", f"{origin.base}/{i}")
                # Not yet in the file: nothing may leave memory.
                assert store.bodies_paged_out == 0 and store.bodies_dropped == 0
            await proxy.wait_flows(6)
            await writer.flush()
            assert store.body_bytes <= 100_000
            assert store.bodies_paged_out >= 3 and store.bodies_dropped == 0
            first = store.get(1)
            assert first is not None and first.bodies_on_disk and not first.bodies_dropped
            assert first.response is not None and first.response.body == b""
            reply = await FlowReads(service).detail({"id": 1, "inline": 1 << 20})  # type: ignore[misc]
            assert reply["flow"]["response"]["body"] == bodies[0]
            assert reply["flow"]["response"]["captured"] == len(bodies[0])
            piece = await FlowReads(service).body(  # type: ignore[misc]
                {"id": 1, "side": "response", "offset": 100, "length": 50}
            )
            assert piece == {"data": bodies[0][100:150], "captured": len(bodies[0])}
            last = FlowReads(service).detail({"id": 6, "inline": 1 << 20})
            assert isinstance(last, dict)  # still in memory: answered at once
            assert last["flow"]["response"]["body"] == bodies[5]
            client.close()
        await writer.close()

    run(scenario())
