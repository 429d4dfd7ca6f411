"""The control socket, in this process: where it is made and with which
modes, who may connect, what a control client may ask, and that neither a
control client nor a failure to make the socket disturbs the window's
channel."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import stat
import struct
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from inspector.core.protocol import Message, ProtocolError
from inspector.link.client import EngineClient, EngineError
from inspector.link.control_socket import running
from inspector.proxy.control import ControlServer, peer_uid
from tests.proxy.engine_pair import EnginePair, engine_pair, until
from tests.proxy.harness import Client, Origin


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory with a short path: a Unix socket's path is at most
    about 100 bytes, more than pytest's tmp_path leaves."""
    directory = Path(tempfile.mkdtemp(prefix="ictl-"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def run(scenario: Callable[[EnginePair], Awaitable[None]]) -> None:
    async def main() -> None:
        async with engine_pair() as pair:
            await scenario(pair)

    asyncio.run(main())


@asynccontextmanager
async def control_client(
    path: Path, batches: list[Message] | None = None
) -> AsyncIterator[EngineClient]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(path))
    client = EngineClient(batches.append if batches is not None else None, name="control test")
    try:
        await client.connect(sock, timeout=5)
        yield client
    finally:
        client.close()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_the_socket_is_in_the_runtime_directory_owner_only_and_removed_on_close(
    short_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(short_dir))

    async def scenario(pair: EnginePair) -> None:
        control = ControlServer(pair.service)
        path = control.start()
        assert path == short_dir / "inspector" / f"inspector-{os.getpid()}.sock"
        assert _mode(short_dir / "inspector") == 0o700
        assert stat.S_ISSOCK(path.lstat().st_mode)
        assert _mode(path) == 0o600
        assert running() == [path]
        async with control_client(path) as client:
            hello = client.hello
            assert hello["pid"] == os.getpid() and "secret" not in hello
            assert "time" in await client.request("ping")
        await control.close()
        assert not path.exists()
        assert running() == []

    run(scenario)


def test_without_a_runtime_directory_it_is_run_in_the_configuration_directory(
    short_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("INSPECTOR_HOME", str(short_dir / "home"))

    async def scenario(pair: EnginePair) -> None:
        control = ControlServer(pair.service)
        path = control.start()
        assert path == short_dir / "home" / "run" / f"inspector-{os.getpid()}.sock"
        assert _mode(short_dir / "home" / "run") == 0o700
        assert _mode(path) == 0o600
        await control.close()
        assert not path.exists()

    run(scenario)


def test_a_directory_open_to_others_is_refused_with_a_warning(
    short_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(short_dir))
    (short_dir / "inspector").mkdir(mode=0o755)
    os.chmod(short_dir / "inspector", 0o755)

    async def scenario(pair: EnginePair) -> None:
        control = ControlServer(pair.service)
        with caplog.at_level(logging.WARNING, "inspector.proxy.control"):
            assert control.start() is None
        assert "is open to other users (mode 755)" in caplog.text
        assert list((short_dir / "inspector").iterdir()) == []
        assert "time" in await pair.request("ping")
        await control.close()

    run(scenario)


def test_a_socket_that_cannot_be_made_is_a_warning_and_the_engine_serves_on(
    short_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(pair: EnginePair) -> None:
        control = ControlServer(pair.service, short_dir / "missing" / "engine.sock")
        with caplog.at_level(logging.WARNING, "inspector.proxy.control"):
            assert control.start() is None
        assert "no control socket" in caplog.text
        assert not control.listening
        assert (await pair.request("status"))["listening"] is False
        await control.close()

    run(scenario)


def test_an_explicit_path_replaces_a_stale_socket_but_not_a_live_one(
    short_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = short_dir / "engine.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # its file stays, and nobody listens

    async def scenario(pair: EnginePair) -> None:
        first = ControlServer(pair.service, path)
        assert first.start() == path
        second = ControlServer(pair.service, path)
        with caplog.at_level(logging.WARNING, "inspector.proxy.control"):
            assert second.start() is None
        assert f"another engine listens on {path}" in caplog.text
        await second.close()
        assert path.exists()  # the second never made it: not its to remove
        async with control_client(path) as client:
            assert "time" in await client.request("ping")
        await first.close()
        assert not path.exists()

    run(scenario)


def test_another_users_connection_is_refused(
    short_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = short_dir / "engine.sock"

    async def scenario(pair: EnginePair) -> None:
        control = ControlServer(pair.service, path, uid_of=lambda sock: os.getuid() + 1)
        control.start()
        with (
            caplog.at_level(logging.WARNING, "inspector.proxy.control"),
            pytest.raises(ProtocolError, match="closed the channel"),
        ):
            async with control_client(path):
                pass
        assert f"refused a connection from uid {os.getuid() + 1}" in caplog.text
        await control.close()

    run(scenario)


def test_the_peer_uid_is_the_kernels() -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX)
    with ours, theirs:
        assert peer_uid(ours) == os.getuid()


def test_a_control_client_may_not_configure_or_shut_down(short_dir: Path) -> None:
    path = short_dir / "engine.sock"

    async def scenario(pair: EnginePair) -> None:
        control = ControlServer(pair.service, path)
        control.start()
        async with control_client(path) as client:
            for op in ("configure", "shutdown"):
                with pytest.raises(EngineError, match=f"'{op}' is not allowed on a control"):
                    await client.request(op)
            assert client.connected
            assert (await client.request("status"))["listening"] is False
        # The window may.
        assert await pair.request("shutdown") == {}
        await control.close()

    run(scenario)


def test_a_control_client_is_answered_while_the_window_gets_its_batches(
    short_dir: Path,
) -> None:
    path = short_dir / "engine.sock"

    async def scenario(pair: EnginePair) -> None:
        control = ControlServer(pair.service, path)
        control.start()
        port = await pair.start()
        batches: list[Message] = []
        async with Origin() as origin, control_client(path, batches) as client:
            proxied = await Client.connect(port)
            answer = await proxied.request("GET", f"http://127.0.0.1:{origin.port}/a")
            assert answer.status == 200
            proxied.close()
            await pair.caught_up()
            seen_before = len(pair.batches)
            page = await client.request("flows")
            assert page == {
                "flows": ((1, "GET", f"http://127.0.0.1:{origin.port}/a", 200, None),),
                "last": 1,
                "more": False,
            }
            replayed = await client.request("replay", id=1)
            assert replayed == {"ids": (2,)}
            await until(lambda: 2 in pair.shown(), what="the window sees the replay")
            await pair.caught_up()
            assert len(pair.batches) > seen_before
        assert batches == []
        await control.close()

    run(scenario)


def _frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


@pytest.mark.parametrize(
    "garbage",
    [
        _frame(b"\xc1"),  # not msgpack
        _frame(b"\x81\xa1t\xa3ack"),  # {"t": "ack"}: no batches to acknowledge here
        _frame(b"\x82\xa1t\xa3req\xa2id\xa1x"),  # a request whose id is not a number
        struct.pack(">I", 1 << 30),  # a frame past the limit
    ],
)
def test_a_bad_frame_closes_only_that_client(
    short_dir: Path, garbage: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = short_dir / "engine.sock"

    async def scenario(pair: EnginePair) -> None:
        control = ControlServer(pair.service, path)
        control.start()
        async with control_client(path) as good:
            reader, writer = await asyncio.open_unix_connection(str(path))
            with caplog.at_level(logging.WARNING, "inspector.link.channel"):
                writer.write(garbage)
                await writer.drain()
                rest = await asyncio.wait_for(reader.read(), 5)  # up to the close
            assert rest.startswith(b"\x00")  # the hello came first, then EOF
            writer.close()
            assert "control channel: protocol error" in caplog.text
            assert "time" in await good.request("ping")
            assert "time" in await pair.request("ping")
        await control.close()

    run(scenario)
