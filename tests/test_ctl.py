"""``inspector ctl`` against real headless engines: real processes, real
traffic through the proxy to an origin on 127.0.0.1, the control socket
at a path chosen with ``--control`` (or found in the control directory)."""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from inspector import ctl
from tests.proxy.harness import Origin
from tests.threaded import served

TIMEOUT = 20.0


@dataclass
class Engine:
    proc: subprocess.Popen[str]
    port: int
    control: Path

    def get(self, url: str, data: bytes | None = None) -> tuple[int, bytes]:
        """A request through the proxy; the status and body of its answer."""
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({"http": f"http://127.0.0.1:{self.port}"})
        )
        try:
            with opener.open(url, data=data, timeout=TIMEOUT) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A control directory of the test's own, short enough for socket paths."""
    directory = Path(tempfile.mkdtemp(prefix="ictl-"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(directory))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _wait_for(path: Path) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not path.exists():
        assert time.monotonic() < deadline, f"no control socket at {path}"
        time.sleep(0.02)


@contextmanager
def headless(control: Path | None = None) -> Iterator[Engine]:
    """A headless engine (its control socket at ``control``, or its own in
    the control directory); stopped with SIGINT at the end."""
    args = ["--control", str(control)] if control is not None else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "inspector", "--headless", "-q", "--listen", "127.0.0.1:0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on 127.0.0.1:"), line + proc.stderr.read()  # type: ignore[union-attr]
        runtime = Path(os.environ["XDG_RUNTIME_DIR"]) / "inspector"
        path = control or runtime / f"inspector-{proc.pid}.sock"
        _wait_for(path)
        yield Engine(proc, int(line.rsplit(":", 1)[1]), path)
    finally:
        if proc.poll() is None:
            proc.send_signal(2)
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


@contextmanager
def origin_thread() -> Iterator[Origin]:
    """An Origin (its requests kept) served from a thread's own loop."""
    with served(Origin) as origin:
        yield origin


def run_ctl(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    """``inspector ctl ARGV`` in this process: status, output lines, errors."""
    capsys.readouterr()
    try:
        status = ctl.main(list(argv))
    except SystemExit as exc:  # a usage error
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    return status, out.splitlines(), err


def on(engine: Engine, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    """``inspector ctl --socket ENGINE ARGV``, which must not fail."""
    status, lines, err = run_ctl(capsys, "--socket", str(engine.control), *argv)
    assert (status, err) == (0, ""), err
    return status, lines


def failure(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The one line of ``inspector ctl ARGV``, which must exit 2."""
    status, lines, err = run_ctl(capsys, *argv)
    assert status == 2 and lines == [], (status, lines)
    assert err.count("\n") == 1, err
    return err.rstrip("\n")


def until_flow(engine: Engine, capsys: pytest.CaptureFixture[str], line: str) -> list[str]:
    """``ctl flows`` once it shows ``line`` (replays end in the background)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        lines = on(engine, capsys, "flows")[1]
        if line in lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_flows_filter_replay_and_send(runtime: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with origin_thread() as origin, headless(runtime / "e.sock") as engine:
        base = f"http://127.0.0.1:{origin.port}"
        assert engine.get(f"{base}/one") == (200, b"hello /one")
        assert engine.get(f"{base}/two", data=b"x=1")[0] == 200
        assert engine.get("http://127.0.0.1:1/closed")[0] == 502
        assert on(engine, capsys, "flows")[1] == [
            f"1 GET {base}/one -> 200",
            f"2 POST {base}/two -> 200",
            "3 GET http://127.0.0.1:1/closed -> error: connection to 127.0.0.1:1 refused",
        ]
        assert on(engine, capsys, "flows", "--filter", "method:POST or path:/nothing")[1] == [
            f"2 POST {base}/two -> 200"
        ]
        assert on(engine, capsys, "flows", "--filter", 'body:"x=1"')[1] == [
            f"2 POST {base}/two -> 200"
        ]
        assert on(engine, capsys, "replay", "2", "--count", "2")[1] == ["4", "5"]
        assert f"5 POST {base}/two -> 200" in until_flow(
            engine, capsys, f"5 POST {base}/two -> 200"
        )
        assert [r.body for r in origin.requests[-2:]] == [b"x=1", b"x=1"]

        sent = on(engine, capsys, "send", "PUT", f"{base}/put", "-H", "X-Test: yes", "--data", "hi")
        assert sent[1] == ["6 200"]
        request = origin.requests[-1]
        assert (request.method, request.target, request.body) == (b"PUT", b"/put", b"hi")
        assert (b"x-test", b"yes") in [(n.lower(), v) for n, v in request.headers]

        assert failure(capsys, "--socket", str(engine.control), "replay", "99") == (
            "inspector ctl: no flow 99"
        )
        message = failure(capsys, "--socket", str(engine.control), "flows", "--filter", "status:")
        assert message.startswith("inspector ctl: 'flows': 'status:' needs a value")
        assert failure(capsys, "--socket", str(engine.control), "replay", "x").startswith(
            "inspector ctl replay: argument ID: invalid int value: 'x'"
        )
        assert failure(capsys, "--socket", str(engine.control), "send", "GET", "/", "-H", "X") == (
            "inspector ctl: -H 'X': a header is 'Name: value'"
        )


def test_discovery_none_one_several_and_stale(
    runtime: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert failure(capsys, "flows") == "inspector ctl: no engine is running"
    unreachable = runtime / "nobody.sock"
    assert failure(capsys, "--socket", str(unreachable), "flows") == (
        f"inspector ctl: cannot reach the engine at {unreachable}: No such file or directory"
    )
    with headless() as first:
        assert first.control.parent == runtime / "inspector"
        assert run_ctl(capsys, "flows") == (0, [], "")
        # The command line as a user types it, through inspector's entry point.
        done = subprocess.run(
            [sys.executable, "-m", "inspector", "ctl", "paused"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
        with headless() as second:
            sockets = sorted([first, second], key=lambda engine: engine.proc.pid)
            assert failure(capsys, "flows") == (
                f"inspector ctl: several engines are running: {sockets[0].control}, "
                f"{sockets[1].control}; "
                "choose one with --socket"
            )
        assert not second.control.exists()  # removed as it stopped
        # A dead engine's socket left behind (it was killed) is cleaned up.
        stale = runtime / "inspector" / "inspector-999999999.sock"
        leftover = socket.socket(socket.AF_UNIX)
        leftover.bind(str(stale))
        leftover.close()
        assert run_ctl(capsys, "flows") == (0, [], "")
        assert not stale.exists()
    assert not first.control.exists()


def test_breakpoints_pause_edit_resume_and_abort(
    runtime: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pool = concurrent.futures.ThreadPoolExecutor(4)
    with origin_thread() as origin, headless(runtime / "e.sock") as engine, pool:
        base = f"http://127.0.0.1:{origin.port}"
        assert on(engine, capsys, "break", "add", "path:/held")[1] == ["1"]
        assert on(engine, capsys, "break", "add", "path:/late", "--on", "response")[1] == ["2"]
        assert on(engine, capsys, "break", "list")[1] == [
            "1 request path:/held",
            "2 response path:/late",
        ]
        message = failure(capsys, "--socket", str(engine.control), "break", "add", "status:")
        assert message.startswith("inspector ctl: status:: match:")
        assert on(engine, capsys, "break", "list")[1] == [
            "1 request path:/held",
            "2 response path:/late",
        ]

        def paused(count: int) -> list[str]:
            deadline = time.monotonic() + TIMEOUT
            while len(lines := on(engine, capsys, "paused")[1]) < count:
                assert time.monotonic() < deadline, lines
                time.sleep(0.05)
            return lines

        # Edited at the breakpoint: a header set, the body replaced.
        posted = pool.submit(engine.get, f"{base}/held", b"original body")
        assert paused(1) == [f"1 request POST {base}/held"]
        body = runtime / "body"
        body.write_bytes(b"a longer, edited body")
        edits = ["--set-header", "X-Edited: 1", "--body-file", str(body)]
        assert on(engine, capsys, "resume", "1", *edits)[1] == []
        assert posted.result(TIMEOUT) == (200, b"hello /held")
        request = origin.requests[-1]
        assert request.body == b"a longer, edited body"
        headers = {n.lower(): v for n, v in request.headers}
        assert headers[b"content-length"] == b"21" and headers[b"x-edited"] == b"1"
        assert on(engine, capsys, "paused")[1] == []
        assert failure(capsys, "--socket", str(engine.control), "resume", "1") == (
            "inspector ctl: flow 1 is not paused"
        )

        # Aborted: the client gets a 502. A held response, too.
        aborted = pool.submit(engine.get, f"{base}/held?abort")
        paused(1)
        late = pool.submit(engine.get, f"{base}/late")
        assert sorted(paused(2)) == [
            f"2 request GET {base}/held?abort",
            f"3 response GET {base}/late",
        ]
        message = failure(capsys, "--socket", str(engine.control), "resume", "3", "--status", "9")
        assert message.startswith("inspector ctl: cannot resume flow 3:")
        assert on(engine, capsys, "abort", "2")[1] == []
        assert aborted.result(TIMEOUT)[0] == 502
        assert on(engine, capsys, "resume", "3", "--status", "201")[1] == []
        assert late.result(TIMEOUT) == (201, b"hello /late")

        # Everything at once.
        first = pool.submit(engine.get, f"{base}/held/a")
        paused(1)
        second = pool.submit(engine.get, f"{base}/held/b")
        paused(2)
        assert sorted(on(engine, capsys, "resume-all")[1]) == ["4", "5"]
        assert [first.result(TIMEOUT)[0], second.result(TIMEOUT)[0]] == [200, 200]
        third = pool.submit(engine.get, f"{base}/held/c")
        paused(1)
        assert on(engine, capsys, "abort-all")[1] == ["6"]
        assert third.result(TIMEOUT)[0] == 502

        assert on(engine, capsys, "break", "rm", "1")[1] == []
        assert on(engine, capsys, "break", "list")[1] == ["2 response path:/late"]
        assert engine.get(f"{base}/held/free") == (200, b"hello /held/free")
        assert failure(capsys, "--socket", str(engine.control), "break", "rm", "1") == (
            "inspector ctl: no rule 1"
        )
