"""``inspector env`` and ``inspector launch`` end to end: a headless
Inspector, origins on 127.0.0.1 (HTTPS with a certificate from a test CA
the engine trusts upstream), and real clients (curl, Python, Chromium,
Firefox) pointed at it with no system trust change."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from inspector.core.certs import CertStore
from inspector.launch.files import PID_FILE
from tests.proxy.harness import Origin
from tests.threaded import served

TIMEOUT = 30.0
INSPECTOR = [sys.executable, "-m", "inspector"]


@dataclass
class Engine:
    proc: subprocess.Popen[str]
    port: int
    control: Path
    home: Path

    def run(self, *args: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
        """``inspector ARGS`` against this engine, its home the test's."""
        return subprocess.run(
            [*INSPECTOR, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "INSPECTOR_HOME": str(self.home)},
            check=False,
        )

    def flows(self, expr: str = "") -> list[str]:
        args = ["ctl", "--socket", str(self.control), "flows"]
        done = self.run(*args, *(["--filter", expr] if expr else []))
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()

    def wait_flows(self, expr: str, count: int = 1) -> list[str]:
        """The flows ``expr`` matches, once ``count`` of them are over."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            lines = self.flows(expr)
            over = [line for line in lines if not line.endswith("-> -")]
            if len(over) >= count or time.monotonic() > deadline:
                return lines
            time.sleep(0.2)


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CertStore]:
    """The CA standing in for the public PKI, which the engine trusts."""
    with CertStore.load_or_create(tmp_path_factory.mktemp("upstream")) as store:
        yield store


@contextmanager
def serving(tls: bool, upstream: CertStore) -> Iterator[int]:
    """An origin on 127.0.0.1 (HTTPS with a certificate for 127.0.0.1)."""
    context = upstream.server_context("127.0.0.1") if tls else None
    with served(lambda: Origin(tls=context)) as origin:
        yield origin.port


@pytest.fixture
def engine(tmp_path: Path, upstream: CertStore) -> Iterator[Engine]:
    home = Path(os.environ.get("TMPDIR", "/tmp")) / f"il-{os.getpid()}-{time.monotonic_ns()}"
    home.mkdir()
    control = home / "ctl.sock"
    proc = subprocess.Popen(
        [
            *INSPECTOR,
            "--headless",
            "-q",
            "--listen",
            "127.0.0.1:0",
            "--confdir",
            str(home),
            "--upstream-ca",
            str(upstream.ca_cert_path),
            "--control",
            str(control),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on 127.0.0.1:"), line
        deadline = time.monotonic() + TIMEOUT
        while not control.exists():
            assert time.monotonic() < deadline, "no control socket"
            time.sleep(0.02)
        yield Engine(proc, int(line.rsplit(":", 1)[1]), control, home)
    finally:
        # Clients a failed test left running end with it.
        for profile in _profiles_in(home):
            _stop(profile)
            _gone(profile)
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
        shutil.rmtree(home, ignore_errors=True)


def _one_line_failure(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    for word in words:
        assert word in done.stderr


# inspector env


def test_env_makes_curl_and_python_trust_the_ca_and_use_the_proxy(
    engine: Engine, upstream: CertStore
) -> None:
    done = engine.run("env", "--socket", str(engine.control))
    assert done.returncode == 0, done.stderr
    assert f"export https_proxy='http://127.0.0.1:{engine.port}'" in done.stdout
    assert "export no_proxy=''" in done.stdout
    with serving(True, upstream) as port:
        url = f"https://127.0.0.1:{port}/through"
        clean = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        clean.pop("SSL_CERT_FILE", None)
        clients = []
        if shutil.which("curl"):
            clients.append(["curl", "-sS", "--fail", url])
        python = shutil.which("python3") or sys.executable
        has_requests = (
            subprocess.run([python, "-c", "import requests"], capture_output=True).returncode == 0
        )
        if has_requests:
            clients.append([python, "-c", f"import requests; print(requests.get({url!r}).text)"])
        clients.append(
            [
                sys.executable,
                "-c",
                f"import urllib.request; print(urllib.request.urlopen({url!r}).read().decode())",
            ]
        )
        if shutil.which("node"):
            # Node before 24 ignores the proxy variables: the script that
            # NODE_OPTIONS loads sends the https module through the proxy.
            fetch = (
                f"require('https').get({url!r}, r => {{ let b = ''; r.on('data', d => b += d);"
                " r.on('end', () => { console.log(b); process.exit(0); }); })"
                ".on('error', e => { console.error(e.message); process.exit(1); })"
            )
            clients.append(["node", "-e", fetch])
        for client in clients:
            # The printed lines applied in a shell, then the client run in it.
            script = 'eval "$1"; shift; exec "$@"'
            out = subprocess.run(
                ["sh", "-c", script, "sh", done.stdout, *client],
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                env=clean,
                check=False,
            )
            assert out.returncode == 0, (client, out.stderr)
            assert out.stdout.strip() == "hello /through", client
        lines = engine.wait_flows(f"url:{url}", len(clients))
        assert len(lines) == len(clients)
        assert all(line.endswith("-> 200") for line in lines), lines


def test_env_with_proxy_needs_no_engine_and_quotes_for_each_shell(tmp_path: Path) -> None:
    env = {**os.environ, "INSPECTOR_HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(tmp_path)}
    for shell, start in (
        ("sh", "export http_proxy='http://127.0.0.1:8888'"),
        ("fish", "set -gx http_proxy 'http://127.0.0.1:8888'"),
        ("powershell", "$env:http_proxy = 'http://127.0.0.1:8888'"),
    ):
        done = subprocess.run(
            [*INSPECTOR, "env", "--proxy", "127.0.0.1:8888", "--shell", shell],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[0] == start
    bundle = (tmp_path / "launch" / "ca-bundle.pem").read_text()
    ca = (tmp_path / "inspector-ca.pem").read_text()
    assert bundle.rstrip().endswith(ca.strip())
    assert bundle.count("BEGIN CERTIFICATE") > 1  # the system's CAs too


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["env", "--shell", "tcsh"], ["invalid choice", "tcsh"]),
        (["env", "--proxy", "no-port"], ["--proxy"]),
        (["env", "--proxy", "127.0.0.1:0"], ["--proxy", "invalid port"]),
        (["env"], ["no Inspector is running"]),
        (["launch", "netscape"], ["invalid choice", "netscape"]),
        (["launch", "chromium", "--proxy", "[::1"], ["--proxy"]),
        (["launch", "firefox"], ["no Inspector is running"]),
    ],
)
def test_bad_input_is_one_line_and_status_2(
    tmp_path: Path, args: list[str], words: list[str]
) -> None:
    env = {**os.environ, "INSPECTOR_HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(tmp_path)}
    done = subprocess.run([*INSPECTOR, *args], capture_output=True, text=True, env=env, check=False)
    _one_line_failure(done, *words)


def test_no_browser_installed_names_what_was_looked_for(tmp_path: Path) -> None:
    env = {**os.environ, "INSPECTOR_HOME": str(tmp_path), "PATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "inspector", "launch", "chromium", "--proxy", "127.0.0.1:9"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    _one_line_failure(done, "no Chromium-based browser", "chromium-browser", "google-chrome")
    done = subprocess.run(
        [sys.executable, "-m", "inspector", "launch", "firefox", "--proxy", "127.0.0.1:9"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    _one_line_failure(done, "Firefox is not installed", "firefox-esr")


def test_a_client_that_exits_at_once_is_reported(tmp_path: Path) -> None:
    """A 'browser' that fails at once: its last words, status 2, nothing left."""
    fake = tmp_path / "bin" / "chromium"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'cannot open display' >&2\nexit 3\n")
    fake.chmod(0o755)
    env = {**os.environ, "INSPECTOR_HOME": str(tmp_path), "PATH": f"{fake.parent}:/usr/bin:/bin"}
    done = subprocess.run(
        [*INSPECTOR, "launch", "chromium", "--proxy", "127.0.0.1:9"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=TIMEOUT,
    )
    _one_line_failure(done, "Chromium exited at once (status 3)", "cannot open display")
    assert list((tmp_path / "launched").iterdir()) == []


# Launched browsers

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")


def _profiles(engine: Engine) -> list[Path]:
    return _profiles_in(engine.home)


def _profiles_in(home: Path) -> list[Path]:
    try:
        return list((home / "launched").iterdir())
    except OSError:
        return []


def _stop(profile: Path) -> None:
    """End a launched client: its watcher then removes the profile."""
    try:
        pid = int((profile / PID_FILE).read_text())
    except (OSError, ValueError):
        return
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    for child in children.stdout.split():
        os.kill(int(child), signal.SIGTERM)


def _gone(path: Path) -> bool:
    deadline = time.monotonic() + TIMEOUT
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return not path.exists()


@needs_chromium
def test_chromium_loads_http_and_https_through_inspector_tagged(
    engine: Engine, upstream: CertStore
) -> None:
    with serving(False, upstream) as plain, serving(True, upstream) as secure:
        pages = [f"http://127.0.0.1:{plain}/plain", f"https://127.0.0.1:{secure}/secure"]
        for page in pages:  # headless Chromium takes one page at a time
            done = engine.run(
                "launch", "chromium", "--socket", str(engine.control), "--", "--headless=new", page
            )
            assert done.returncode == 0, done.stderr
            assert "tagged client:chromium" in done.stdout
        lines = engine.wait_flows("client:chromium host:127.0.0.1 path:/plain", 1)
        assert lines and lines[0].endswith(f"GET {pages[0]} -> 200"), lines
        # The CA is trusted by this profile: the request inside TLS arrived.
        lines = engine.wait_flows(f"client:chromium url:{pages[1]}", 1)
        assert lines and lines[0].endswith(f"GET {pages[1]} -> 200"), lines
        assert engine.flows("-client:chromium host:127.0.0.1") == []
        profiles = _profiles(engine)
        assert len(profiles) == 2 and all((p / "profile").is_dir() for p in profiles)
        for profile in profiles:
            _stop(profile)
            assert _gone(profile), "the profile outlived the browser"


@needs_chromium
def test_a_leftover_profile_is_removed_at_the_next_launch(engine: Engine) -> None:
    leftover = engine.home / "launched" / "chromium-leftover"
    (leftover / "profile").mkdir(parents=True)
    (leftover / PID_FILE).write_text("999999999\n")  # no such process
    done = engine.run("launch", "chromium", "--socket", str(engine.control), "--", "--headless=new")
    assert done.returncode == 0, done.stderr
    assert not leftover.exists()
    (profile,) = _profiles(engine)
    _stop(profile)
    assert _gone(profile)


FIREFOX = shutil.which("firefox") or shutil.which("firefox-esr")
CERTUTIL = shutil.which("certutil")


@pytest.mark.skipif(FIREFOX is None, reason="Firefox is not installed")
@pytest.mark.skipif(CERTUTIL is None, reason="certutil (libnss3-tools) is not installed")
def test_firefox_loads_https_through_inspector_with_its_own_trust(
    engine: Engine, upstream: CertStore
) -> None:
    with serving(True, upstream) as secure:
        page = f"https://127.0.0.1:{secure}/fox"
        done = engine.run(
            "launch", "firefox", "--socket", str(engine.control), "--", "--headless", page
        )
        assert done.returncode == 0, done.stderr
        (profile,) = _profiles(engine)
        assert (
            "network.proxy.allow_hijacking_localhost" in (profile / "profile/user.js").read_text()
        )
        assert (profile / "profile" / "cert9.db").exists()
        lines = engine.wait_flows(f"client:firefox url:{page}", 1)
        assert lines and lines[0].endswith(f"GET {page} -> 200"), lines
        _stop(profile)
        assert _gone(profile)
