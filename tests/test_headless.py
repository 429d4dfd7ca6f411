"""The headless CLI as a user runs it: a real process, real signals."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest

from tests.proxy.harness import Origin
from tests.threaded import served


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "inspector", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@contextmanager
def headless(*args: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    proc = _start("--headless", "--listen", "127.0.0.1:0", *args)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on 127.0.0.1:"), line
        yield proc, int(line.rsplit(":", 1)[1])
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def _get_via(proxy_port: int, url: str) -> tuple[int, bytes]:
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({"http": f"http://127.0.0.1:{proxy_port}"})
    )
    try:
        with opener.open(url, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_serves_prints_flows_and_stops_on_sigint() -> None:
    with origin_thread() as port, headless() as (proc, proxy_port):
        status, body = _get_via(proxy_port, f"http://127.0.0.1:{port}/hi")
        assert (status, body) == (200, b"hello /hi")
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith(f"GET http://127.0.0.1:{port}/hi -> 200 9 B "), line
        assert line.rstrip().endswith("ms")
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) == 0
        assert time.monotonic() - started < 2.0


def test_filter_prints_only_the_matching_flows() -> None:
    expr = 'path:/keep or body:"hello /body"'
    with origin_thread() as port, headless("--filter", expr) as (proc, proxy_port):
        for path in ("/drop", "/keep", "/body", "/also-dropped"):
            assert _get_via(proxy_port, f"http://127.0.0.1:{port}{path}")[0] == 200
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
    paths = [line.split()[1].split(str(port))[1] for line in out.splitlines()]
    assert paths == ["/keep", "/body"]


def test_error_flows_are_printed_and_sigterm_exits_zero() -> None:
    with headless() as (proc, proxy_port):
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        dead = closed.getsockname()[1]
        closed.close()
        status, body = _get_via(proxy_port, f"http://127.0.0.1:{dead}/")
        assert status == 502
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert (
            line
            == f"GET http://127.0.0.1:{dead}/ -> error: connection to 127.0.0.1:{dead} refused\n"
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0


def test_quiet_prints_only_the_listening_line() -> None:
    with origin_thread() as port, headless("-q") as (proc, proxy_port):
        _get_via(proxy_port, f"http://127.0.0.1:{port}/")
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=5)
        assert out == ""


def test_port_in_use_is_one_line_and_exit_2() -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    try:
        proc = _start("--headless", "--listen", f"127.0.0.1:{port}")
        out, err = proc.communicate(timeout=10)
    finally:
        blocker.close()
    assert proc.returncode == 2
    assert out == ""
    assert err == f"inspector: cannot listen on 127.0.0.1:{port}: the port is already in use\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--listen", "0.0.0.0:0"], "refusing to listen on 0.0.0.0"),
        (["--listen", "127.0.0.1:99999"], "invalid --listen"),
        (["--listen", "nonsense:port"], "invalid --listen"),
        (["--bogus"], "unrecognized arguments"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    proc = _start("--headless", *args)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 2
    assert err.count("\n") == 1 and message in err, err


def test_allow_remote_warns() -> None:
    proc = _start("--headless", "--listen", "0.0.0.0:0", "--allow-remote")
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("listening on 0.0.0.0:")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "warning: listening on 0.0.0.0" in err


def test_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "inspector", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("inspector ")


@contextmanager
def origin_thread() -> Iterator[int]:
    """An Origin served from a background thread's loop, for sync tests."""
    with served(Origin) as origin:
        yield origin.port


assert os.name == "posix"


def test_stats_lines_have_the_documented_form() -> None:
    import re

    pattern = re.compile(
        r"^stats depth=\d+ hwm=\d+ emitted=\d+ delivered=\d+ coalesced=\d+ dropped=\d+ "
        r"flush_p99_ms=[\d.]+ lag_ms=[\d.]+( \S+=\S+)*$"
    )
    with origin_thread() as port, headless("--stats", "0.2", "-q") as (proc, proxy_port):
        for i in range(20):
            _get_via(proxy_port, f"http://127.0.0.1:{port}/{i}")
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        for line in lines:
            assert pattern.match(line.rstrip()), line
        emitted = [int(re.search(r"emitted=(\d+)", line).group(1)) for line in lines]  # type: ignore[union-attr]
        assert emitted[-1] >= 20 * 4
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) == 0


def test_naive_relay_prints_flows_too() -> None:
    with origin_thread() as port, headless("--relay", "naive") as (proc, proxy_port):
        assert _get_via(proxy_port, f"http://127.0.0.1:{port}/n")[0] == 200
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith(f"GET http://127.0.0.1:{port}/n -> 200")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0


def test_https_through_headless_with_curl_and_the_ca_path(
    tmp_path: Path, upstream_certs_dir: tuple[Path, Path]
) -> None:
    """The documented recipe: curl --cacert "$(inspector ca path)" -x ..."""
    import shutil

    upstream_ca, upstream_dir = upstream_certs_dir
    conf = tmp_path / "conf"
    ca_path = subprocess.run(
        [sys.executable, "-m", "inspector", "ca", "--confdir", str(conf), "path"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with (
        tls_origin_thread(upstream_dir) as port,
        headless("--confdir", str(conf), "--upstream-ca", str(upstream_ca)) as (proc, proxy_port),
    ):
        url = f"https://localhost:{port}/secure"
        if shutil.which("curl"):
            out = subprocess.run(
                ["curl", "-sS", "--cacert", ca_path, "-x", f"http://127.0.0.1:{proxy_port}", url],
                capture_output=True,
                timeout=30,
            )
            assert out.returncode == 0, out.stderr
            assert out.stdout == b"hello /secure"
        else:
            import http.client
            import ssl

            conn = http.client.HTTPSConnection(
                "127.0.0.1", proxy_port, context=ssl.create_default_context(cafile=ca_path)
            )
            conn.set_tunnel("localhost", port)
            conn.request("GET", "/secure")
            assert conn.getresponse().read() == b"hello /secure"
            conn.close()
        assert proc.stdout is not None
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        assert any(line.startswith(f"GET {url} -> 200") for line in lines), lines
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) == 0


@pytest.fixture
def upstream_certs_dir(tmp_path: Path) -> tuple[Path, Path]:
    from inspector.core.certs import CertStore

    directory = tmp_path / "upstream"
    with CertStore.load_or_create(directory) as store:
        return store.ca_cert_path, directory


@asynccontextmanager
async def _tls_origin(upstream_dir: Path) -> AsyncIterator[Origin]:
    from inspector.core.certs import CertStore

    with CertStore.load_or_create(upstream_dir) as store:
        async with Origin(tls=store.server_context("localhost")) as origin:
            yield origin


@contextmanager
def tls_origin_thread(upstream_dir: Path) -> Iterator[int]:
    with served(lambda: _tls_origin(upstream_dir)) as origin:
        yield origin.port


def test_relay_capacity_overflow_shows_as_drops_and_resyncs() -> None:
    import re
    from concurrent.futures import ThreadPoolExecutor

    with (
        origin_thread() as port,
        headless("--stats", "0.3", "-q", "--relay-capacity", "1") as (
            proc,
            proxy_port,
        ),
    ):
        with ThreadPoolExecutor(20) as pool:
            statuses = list(
                pool.map(
                    lambda i: _get_via(proxy_port, f"http://127.0.0.1:{port}/{i}")[0], range(40)
                )
            )
        assert statuses == [200] * 40
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(4)]
        resyncs = [int(re.search(r"resyncs=(\d+)", line).group(1)) for line in lines]  # type: ignore[union-attr]
        dropped = [int(re.search(r" dropped=(\d+)", line).group(1)) for line in lines]  # type: ignore[union-attr]
        assert resyncs[-1] > 0
        assert dropped[-1] > 0
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) == 0


def test_flows_past_the_cap_are_dropped_and_counted_in_stats() -> None:
    import re

    with (
        origin_thread() as port,
        headless("--stats", "0.2", "--max-flows", "3") as (proc, proxy_port),
    ):
        for i in range(5):
            assert _get_via(proxy_port, f"http://127.0.0.1:{port}/{i}")[0] == 200
        assert proc.stdout is not None
        for _ in range(50):
            line = proc.stdout.readline()
            found = re.search(r" flows=(\d+) flows_dropped=(\d+)", line)
            if found and found.group(2) == "2":
                break
        else:
            raise AssertionError("no stats line with the dropped flows")
        assert found.group(1) == "3"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=5) == 0


def test_max_flows_must_be_positive() -> None:
    proc = _start("--headless", "--max-flows", "0")
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 2
    assert err == "inspector: --max-flows must be at least 1\n"
