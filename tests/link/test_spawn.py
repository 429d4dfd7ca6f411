"""Starting an engine in a process of its own, with real processes: the
bootstrap line and what a bad one costs, the hello over either channel,
and lifetimes (the engine ends when its window's end closes, on request,
on SIGTERM, and when the window is killed outright)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from inspector.core.protocol import ProtocolError
from inspector.link import spawn
from inspector.link.client import EngineClient
from inspector.link.spawn import ENGINE_COMMAND, Bootstrap, EngineProcess, spawn_engine
from tests.link.processes import gone, wait_gone

TIMEOUT = 30.0
EXIT_WAIT = 10.0
"""Ending takes well under a second; this is room for a slow machine."""


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())


async def _connected(engine: EngineProcess) -> EngineClient:
    client = EngineClient(name="test")
    await client.connect(await engine.channel_socket(), engine.secret, timeout=TIMEOUT)
    return client


def _spawn(confdir: Path, *args: str, loopback: bool | None = None) -> EngineProcess:
    return spawn_engine(["--confdir", str(confdir), *args], loopback=loopback)


# The bootstrap line


@pytest.mark.parametrize(
    "bootstrap", [Bootstrap("s" * 64, fd=5), Bootstrap("s", port=40000), Bootstrap("☃", fd=0)]
)
def test_the_bootstrap_line_round_trips(bootstrap: Bootstrap) -> None:
    line = bootstrap.to_line()
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert Bootstrap.from_line(line.decode()) == bootstrap


BAD_LINES = [
    ("empty: the window died first", ""),
    ("not JSON", "hello\n"),
    ("truncated", '{"secret": "s", "fd": 3'),
    ("a list", '["s", 3]'),
    ("no secret", '{"fd": 3}'),
    ("secret a number", '{"secret": 5, "fd": 3}'),
    ("neither fd nor port", '{"secret": "s"}'),
    ("both null", '{"secret": "s", "fd": null, "port": null}'),
    ("fd as text", '{"secret": "s", "fd": "3"}'),
    ("fd a float", '{"secret": "s", "fd": 3.0}'),
    ("fd true", '{"secret": "s", "fd": true}'),
    ("fd negative", '{"secret": "s", "fd": -3}'),
    ("port zero", '{"secret": "s", "port": 0}'),
    ("port past 65535", '{"secret": "s", "port": 70000}'),
    ("port negative", '{"secret": "s", "port": -1}'),
    ("port true", '{"secret": "s", "port": true}'),
]


@pytest.mark.parametrize("line", [b[1] for b in BAD_LINES], ids=[b[0] for b in BAD_LINES])
def test_a_bad_bootstrap_line_is_a_protocol_error(line: str) -> None:
    with pytest.raises(ProtocolError, match="bootstrap line"):
        Bootstrap.from_line(line)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    "line",
    [
        "",
        "garbage\n",
        '{"secret": "s", "fd": -3}\n',
        '{"secret": "s", "fd": true}\n',
        '{"secret": "s", "fd": 0}\n',
        '{"secret": "s", "fd": 999}\n',
        '{"secret": "s", "port": 70000}\n',
        "PORT",
    ],
    ids=["nothing", "garbage", "negative fd", "fd true", "fd not a socket", "fd closed",
         "port out of range", "port with nobody listening"],
)  # fmt: skip
def test_an_engine_given_a_bad_bootstrap_line_says_why_and_exits_2(
    line: str, tmp_path: Path
) -> None:
    if line == "PORT":
        line = json.dumps({"secret": "s", "port": _free_port()}) + "\n"
    result = subprocess.run(
        spawn.engine_command(["--confdir", str(tmp_path)]),
        input=line,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("inspector engine: cannot start: "), result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_the_engine_command(monkeypatch: pytest.MonkeyPatch) -> None:
    assert spawn.engine_command(["--x"]) == [
        sys.executable,
        "-m",
        "inspector",
        ENGINE_COMMAND,
        "--x",
    ]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert spawn.engine_command(["--x"]) == [sys.executable, ENGINE_COMMAND, "--x"]


# Real engines


@pytest.mark.parametrize("loopback", [False, True], ids=["socketpair", "loopback"])
def test_the_engine_says_hello_with_its_secret(tmp_path: Path, loopback: bool) -> None:
    async def scenario() -> None:
        engine = _spawn(tmp_path / "conf", "--first-id", "41", loopback=loopback)
        try:
            assert (engine.sock is None) == loopback
            client = await _connected(engine)
            hello = client.hello
            assert hello["secret"] == engine.secret and len(engine.secret) == 64
            assert hello["pid"] == engine.pid != os.getpid()
            assert hello["first_id"] == 42
            assert hello["ca"]["pem"].startswith("-----BEGIN CERTIFICATE-----")
            assert Path(hello["ca"]["path"]).is_relative_to(tmp_path / "conf")
            status = await client.request("status")
            assert status["listening"] is False and status["last_id"] == 41
            assert engine.exit_description() == "still running"
            client.close()
            await engine.wait(EXIT_WAIT)
            assert engine.process.returncode == 0
            assert engine.exit_description() == "exited with status 0"
        finally:
            engine.terminate()

    run(scenario)


def test_closing_the_windows_end_stops_the_proxy_and_the_engine(tmp_path: Path) -> None:
    async def scenario() -> None:
        engine = _spawn(tmp_path)
        try:
            client = await _connected(engine)
            address = (await client.request("start"))["address"]
            host, port = address.rsplit(":", 1)
            probe = socket.create_connection((host, int(port)), timeout=TIMEOUT)
            probe.close()
            client.close()
            await engine.wait(EXIT_WAIT)
            assert engine.process.returncode == 0
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection((host, int(port)), timeout=TIMEOUT).close()
        finally:
            engine.terminate()

    run(scenario)


def test_shutdown_on_request(tmp_path: Path) -> None:
    async def scenario() -> None:
        engine = _spawn(tmp_path)
        try:
            client = await _connected(engine)
            await client.request("start")
            assert await client.request("shutdown") == {}
            await asyncio.wait_for(client.closed, TIMEOUT)
            await engine.wait(EXIT_WAIT)
            assert engine.process.returncode == 0
        finally:
            engine.terminate()

    run(scenario)


def test_sigterm_ends_the_engine_in_order(tmp_path: Path) -> None:
    async def scenario() -> None:
        engine = _spawn(tmp_path)
        try:
            client = await _connected(engine)
            await client.request("start")
            engine.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(client.closed, TIMEOUT)
            await engine.wait(EXIT_WAIT)
            assert engine.process.returncode == 0
        finally:
            engine.terminate()

    run(scenario)


def test_sigint_is_left_to_the_window(tmp_path: Path) -> None:
    async def scenario() -> None:
        engine = _spawn(tmp_path)
        try:
            client = await _connected(engine)
            engine.process.send_signal(signal.SIGINT)
            # Still serving: a request made after the signal is answered.
            assert "time" in await client.request("ping")
            assert engine.process.poll() is None
            client.close()
            await engine.wait(EXIT_WAIT)
            assert engine.process.returncode == 0
        finally:
            engine.terminate()

    run(scenario)


def test_a_killed_engine_is_described_so(tmp_path: Path) -> None:
    async def scenario() -> None:
        engine = _spawn(tmp_path)
        try:
            client = await _connected(engine)
            engine.process.kill()
            await asyncio.wait_for(client.closed, TIMEOUT)
            await engine.wait(EXIT_WAIT)
            assert engine.exit_description() == "killed by SIGKILL"
        finally:
            engine.terminate()

    run(scenario)


def test_a_loopback_engine_that_never_connects_is_given_up_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(spawn, "ACCEPT_TIMEOUT", 0.3)
    silent = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )

    async def scenario() -> None:
        listener = socket.create_server(("127.0.0.1", 0), backlog=1)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        engine = EngineProcess(silent, "s", listener=listener)
        with pytest.raises(ProtocolError, match="did not connect"):
            await engine.channel_socket()
        assert engine.listener is None and listener.fileno() == -1
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT).close()
        engine.terminate(EXIT_WAIT)  # closing its standard input ends it
        assert silent.returncode == 0

    run(scenario)


PARENT = """
import asyncio, sys, time
from inspector.link.client import EngineClient
from inspector.link.spawn import spawn_engine

async def main():
    engine = spawn_engine(["--confdir", sys.argv[1]], loopback=sys.argv[2] == "loopback")
    client = EngineClient()
    await client.connect(await engine.channel_socket(), engine.secret)
    await client.request("start")
    print(engine.pid, flush=True)
    time.sleep(3600)  # the window hangs, then is killed

asyncio.run(main())
"""


@pytest.mark.parametrize("channel", ["socketpair", "loopback"])
def test_kill_9_of_the_window_leaves_no_engine_behind(tmp_path: Path, channel: str) -> None:
    script = tmp_path / "window.py"
    script.write_text(textwrap.dedent(PARENT))
    parent = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "conf"), channel],
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.getcwd(),
    )
    engine_pid = 0
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        engine_pid = int(line)
        assert not gone(engine_pid)
        parent.kill()
        parent.wait(TIMEOUT)
        assert wait_gone(engine_pid, 5.0), f"engine {engine_pid} outlived its window"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        parent.stdout.close()  # type: ignore[union-attr]
        if engine_pid and not gone(engine_pid):
            os.kill(engine_pid, signal.SIGKILL)
