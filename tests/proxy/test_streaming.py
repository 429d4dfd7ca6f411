"""Large bodies stream through with flat memory, in both directions."""

from __future__ import annotations

import asyncio
import tracemalloc

from inspector.core.flow import FlowState
from tests.proxy.harness import Origin, Received, Reply, run, running_proxy

MiB = 1024 * 1024
CHUNK = b"x" * (64 * 1024)
TOTAL = 64 * MiB


async def _big(req: Received) -> Reply:
    return Reply(200, [(b"Content-Length", str(TOTAL).encode())], [CHUNK] * (TOTAL // len(CHUNK)))


def test_64_mib_download_streams_with_bounded_memory() -> None:
    async def scenario() -> None:
        async with Origin(_big) as origin, running_proxy(body_capture_limit=MiB) as proxy:
            client = await proxy.client()
            await client.send(f"GET {origin.base}/big HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            tracemalloc.start()
            try:
                received = 0
                slow_reads = 0
                while received < TOTAL + 40:
                    chunk = await asyncio.wait_for(client.reader.read(256 * 1024), 10)
                    if not chunk:
                        break
                    received += len(chunk)
                    if slow_reads < 20:
                        # A slow reader at first: the proxy must stop reading
                        # upstream rather than buffer.
                        slow_reads += 1
                        await asyncio.sleep(0.01)
                    if received > TOTAL:
                        break
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            assert received >= TOTAL
            # Capture limit (1 MiB) plus a few transport buffers, not 64 MiB.
            assert peak < 12 * MiB, f"peak {peak / MiB:.1f} MiB"
            client.close()
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.state is FlowState.COMPLETE
            assert flow.response is not None
            assert flow.response.body_size == TOTAL
            assert len(flow.response.body) == MiB
            assert flow.response.body_truncated

    run(scenario())


def test_64_mib_upload_streams_with_bounded_memory() -> None:
    async def count(req: Received) -> Reply:
        return Reply(200, [], b"got %d" % req.size)

    async def scenario() -> None:
        async with (
            Origin(count, keep_bodies=False) as origin,
            running_proxy(body_capture_limit=MiB) as proxy,
        ):
            client = await proxy.client()
            await client.send(
                f"POST {origin.base}/up HTTP/1.1\r\nHost: x\r\nContent-Length: {TOTAL}\r\n"
                "\r\n".encode()
            )
            tracemalloc.start()
            try:
                for _ in range(TOTAL // len(CHUNK)):
                    await client.send(CHUNK)
                answer = await client.read_answer("POST")
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            assert answer.body == b"got %d" % TOTAL
            assert peak < 12 * MiB, f"peak {peak / MiB:.1f} MiB"
            client.close()
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.request.body_size == TOTAL
            assert len(flow.request.body) == MiB and flow.request.body_truncated

    run(scenario())
