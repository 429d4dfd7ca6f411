"""Running out of file descriptors, in a real headless process whose limit
is lowered under it: the accept loop must back off (not spin, not flood the
log), requests already accepted must get a clear answer, and once
descriptors free up the proxy must accept and serve again."""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.proxy.harness import Origin, run
from tests.reliability.helpers import parse_responses

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not hasattr(resource, "prlimit") or not Path("/proc/self/fd").is_dir(),
        reason="needs Linux (prlimit and /proc)",
    ),
]

SPARE = 8
"""Descriptors the proxy gets beyond those it holds once listening."""
HELD = 40
"""Connections the test opens and holds: far more than SPARE."""


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Output:
    """Collects a stream of the child process as it comes."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.text = ""
        self._task = asyncio.ensure_future(self._read(stream))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while data := await stream.read(65536):
            self.text += data.decode("utf-8", "replace")

    async def wait_for(self, needle: str, timeout: float = 15.0) -> None:
        async with asyncio.timeout(timeout):
            while needle not in self.text:
                await asyncio.sleep(0.05)

    async def finish(self) -> str:
        await asyncio.wait_for(self._task, 10)
        return self.text


async def _get(port: int, url: str, timeout: float = 20.0) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {url} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        return await asyncio.wait_for(reader.read(-1), timeout)
    finally:
        writer.transport.abort()


def test_out_of_descriptors_backs_off_answers_and_recovers() -> None:
    async def scenario() -> None:
        async with Origin() as origin:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "inspector",
                "--headless",
                "--listen",
                "127.0.0.1:0",
                "--no-intercept",
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            assert proc.stdout is not None and proc.stderr is not None
            out, err = Output(proc.stdout), Output(proc.stderr)
            held: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
            try:
                await out.wait_for("listening on 127.0.0.1:")
                port = int(out.text.split("listening on 127.0.0.1:", 1)[1].split()[0])
                limit = _fds(proc.pid) + SPARE
                _, hard = resource.prlimit(proc.pid, resource.RLIMIT_NOFILE)
                resource.prlimit(proc.pid, resource.RLIMIT_NOFILE, (limit, hard))

                for _ in range(HELD):
                    held.append(await asyncio.open_connection("127.0.0.1", port))
                async with asyncio.timeout(15):
                    while _fds(proc.pid) < limit:
                        await asyncio.sleep(0.05)
                await err.wait_for("cannot accept connections")

                # A connection accepted before the shortage still gets a
                # clear answer: its upstream connect fails with EMFILE.
                reader, writer = held[0]
                writer.write(f"GET {origin.base}/starved HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 15)
                assert head.startswith(b"HTTP/1.1 502 "), head
                await out.wait_for("/starved -> error: cannot connect")

                # Out of descriptors with clients queued, the loop idles.
                cpu_before, started = _cpu_seconds(proc.pid), time.monotonic()
                await asyncio.sleep(2.0)
                busy = (_cpu_seconds(proc.pid) - cpu_before) / (time.monotonic() - started)
                assert busy < 0.1, f"the proxy used {busy:.0%} of a core while out of fds"

                for _, writer in held:
                    writer.transport.abort()
                held.clear()
                raw = await _get(port, f"{origin.base}/recovered")
                [answer] = parse_responses(raw, ["GET"])
                assert (answer.status, answer.body) == (200, b"hello /recovered")
                await out.wait_for("/recovered -> 200")
                assert proc.returncode is None
                proc.send_signal(signal.SIGINT)
                assert await asyncio.wait_for(proc.wait(), 10) == 0
            finally:
                for _, writer in held:
                    writer.transport.abort()
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()
            stderr = await err.finish()
            await out.finish()
            # Said once, calmly: no traceback per failed accept().
            assert stderr.count("cannot accept connections") == 1, stderr[-2000:]
            assert "Traceback" not in stderr, stderr[-2000:]
            assert "ERROR" not in stderr, stderr[-2000:]

    run(scenario())
