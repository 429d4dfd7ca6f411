"""Rules from the command line: ``inspector --headless --rules FILE`` and
``inspector ctl rules load|list|export``, against a real headless engine
and an origin on 127.0.0.1; a bad file exits 2 with one line, an
unworkable rule is a warning naming it while the others run."""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.test_ctl import Engine, _wait_for, on, origin_thread, run_ctl


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A control directory of the test's own, short enough for socket paths."""
    directory = Path(tempfile.mkdtemp(prefix="irul-"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(directory))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def headless_with(*args: str, control: Path) -> Iterator[tuple[Engine, dict[str, str]]]:
    """A headless engine with ``args``; the dict gets its ``stderr`` once it stopped."""
    ended: dict[str, str] = {}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "inspector",
            "--headless",
            "-q",
            "--listen",
            "127.0.0.1:0",
            "--control",
            str(control),
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on 127.0.0.1:"), line + proc.stderr.read()  # type: ignore[union-attr]
        _wait_for(control)
        yield Engine(proc, int(line.rsplit(":", 1)[1]), control), ended
    finally:
        if proc.poll() is None:
            proc.send_signal(2)
        try:
            ended["stderr"] = proc.communicate(timeout=10)[1]
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def _file(tmp: Path, rules: list[dict[str, Any]]) -> Path:
    path = tmp / "rules.json"
    path.write_text(json.dumps({"rules": rules}))
    return path


def test_headless_applies_a_rules_file(
    runtime: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "page.html").write_text("<h1>local</h1>")
    with origin_thread() as origin:
        rules = _file(
            tmp_path,
            [
                {
                    "name": "Mock",
                    "match": "path:/api/user",
                    "actions": [
                        {
                            "type": "reply",
                            "status": 200,
                            "headers": {"Content-Type": "application/json"},
                            "body": '{"name": "test"}',
                        }
                    ],
                },
                {
                    "name": "Local",
                    "match": "path:/static",
                    "actions": [
                        {"type": "map_local", "path": str(tmp_path / "site"), "strip": "/static"}
                    ],
                },
                {"name": "Block", "match": "path:/ads", "actions": [{"type": "block"}]},
                {"name": "Broken", "match": "host:(", "actions": [{"type": "block"}]},
                {
                    "name": "Env",
                    "actions": [{"type": "set_header", "name": "X-Env", "value": "test"}],
                },
            ],
        )
        with headless_with("--rules", str(rules), control=runtime / "r.sock") as (engine, ended):
            base = f"http://127.0.0.1:{origin.port}"
            assert engine.get(f"{base}/api/user") == (200, b'{"name": "test"}')
            assert engine.get(f"{base}/static/page.html") == (200, b"<h1>local</h1>")
            status, body = engine.get(f"{base}/ads/banner")
            assert status == 403 and b"Block" in body
            assert engine.get(f"{base}/plain")[0] == 200
            deadline = time.monotonic() + 10
            while not origin.requests and time.monotonic() < deadline:
                time.sleep(0.02)
            assert dict(origin.requests[0].headers)[b"x-env"] == b"test"
            _, lines = on(engine, capsys, "rules", "list")
            assert lines[0] == "1 on Mock (1 hits): path:/api/user -> reply"
            assert lines[3].startswith("4 on Broken (0 hits): host:( -> block [disabled: match:")
            # A final action (reply, map_local, block) ends the list: Env saw
            # only the flow nothing else answered.
            assert lines[4] == "5 on Env (1 hits): (every flow) -> set_header"
        assert "inspector: warning: rule 4 (Broken) disabled: match:" in ended["stderr"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "--rules: not JSON"),
        ('{"rule": []}', '--rules: a rules file is an object with a "rules" list'),
        ('{"rules": [{"actions": [{"type": "warp"}]}]}', "--rules: rule 1: unknown action type"),
    ],
)
def test_a_bad_rules_file_exits_2_with_one_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "inspector",
            "--headless",
            "--listen",
            "127.0.0.1:0",
            "--rules",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and message in proc.stderr


def test_ctl_loads_lists_and_exports_rules(
    runtime: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with origin_thread() as origin, headless_with(control=runtime / "c.sock") as (engine, _):
        base = f"http://127.0.0.1:{origin.port}"
        rules = [
            {"name": "Mock", "match": "path:/m", "actions": [{"type": "reply", "body": "mocked"}]},
            {"name": "Bad", "actions": [{"type": "replace_body", "pattern": "(", "with": ""}]},
        ]
        status, lines, err = run_ctl(
            capsys, "--socket", str(engine.control), "rules", "load", str(_file(tmp_path, rules))
        )
        assert status == 0 and lines == []
        assert err.startswith("inspector ctl: warning: rule 2 (Bad) disabled: replace_body")
        assert engine.get(f"{base}/m") == (200, b"mocked")
        _, exported = on(engine, capsys, "rules", "export")
        assert json.loads("\n".join(exported))["rules"][0] == {
            "name": "Mock",
            "match": "path:/m",
            "enabled": True,
            "times": None,
            "actions": [{"type": "reply", "status": 200, "headers": {}, "body": "mocked"}],
        }
        bad = tmp_path / "bad.json"
        bad.write_text("{")
        status, lines, err = run_ctl(
            capsys, "--socket", str(engine.control), "rules", "load", str(bad)
        )
        assert status == 2 and err.count("\n") == 1 and "not JSON" in err
        status, lines, err = run_ctl(
            capsys, "--socket", str(engine.control), "rules", "load", str(tmp_path / "none.json")
        )
        assert status == 2 and "No such file" in err
        # The bad loads changed nothing.
        assert len(on(engine, capsys, "rules", "list")[1]) == 2


def test_the_session_file_keeps_the_rules_in_effect(
    runtime: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = [{"name": "Mock", "actions": [{"type": "reply", "body": "one"}]}]
    second = [{"name": "Other", "match": "host:x", "actions": [{"type": "delay", "ms": 1}]}]
    session = tmp_path / "s.inspector"
    rules = _file(tmp_path, first)
    with headless_with(
        "--rules", str(rules), "--session", str(session), control=runtime / "s.sock"
    ) as (engine, _):
        loaded = tmp_path / "second.json"
        loaded.write_text(json.dumps({"rules": second}))
        on(engine, capsys, "rules", "load", str(loaded))
        deadline = time.monotonic() + 10
        while True:
            shown = subprocess.run(
                [sys.executable, "-m", "inspector", "session", "rules", str(session)],
                capture_output=True,
                text=True,
                timeout=60,
            )
            kept = json.loads(shown.stdout)["rules"]
            if [r["name"] for r in kept] == ["Other"] or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert shown.returncode == 0 and [r["name"] for r in kept] == ["Other"]
        assert kept[0]["actions"] == second[0]["actions"]


def test_a_session_without_rules_prints_an_empty_rules_file(tmp_path: Path) -> None:
    from inspector.core.session import Session

    path = tmp_path / "empty.inspector"
    Session.create(path).close()
    shown = subprocess.run(
        [sys.executable, "-m", "inspector", "session", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0 and json.loads(shown.stdout) == {"rules": []}
    missing = subprocess.run(
        [sys.executable, "-m", "inspector", "session", "rules", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1


def test_headless_applies_every_other_action(
    runtime: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """map_remote, remove_header, replace_body, block with a reset, delay,
    throttle and breakpoint, from a rules file, through a headless engine."""
    with origin_thread() as origin:
        base = f"http://127.0.0.1:{origin.port}"
        rules = _file(
            tmp_path,
            [
                {"match": "host:api.invalid", "actions": [{"type": "map_remote", "to": base}]},
                {
                    "match": "path:/rewrite",
                    "actions": [
                        {"type": "replace_body", "pattern": "hello", "with": "bye"},
                        {"type": "remove_header", "on": "response", "name": "Content-Type"},
                    ],
                },
                {"match": "path:/cut", "actions": [{"type": "block", "reset": True}]},
                {"match": "path:/slow", "actions": [{"type": "delay", "ms": 300}]},
                {
                    "match": "path:/thin",
                    "actions": [{"type": "throttle", "down_kbps": 64, "latency_ms": 200}],
                },
                {"match": "path:/hold", "actions": [{"type": "breakpoint", "on": "request"}]},
            ],
        )
        with headless_with("--rules", str(rules), control=runtime / "a.sock") as (engine, _):
            assert engine.get("http://api.invalid/mapped") == (200, b"hello /mapped")
            opener = urllib.request.build_opener(
                urllib.request.ProxyHandler({"http": f"http://127.0.0.1:{engine.port}"})
            )
            with opener.open(f"{base}/rewrite", timeout=20) as answer:
                assert answer.read() == b"bye /rewrite"
                assert answer.headers.get("Content-Type") is None
            with pytest.raises((urllib.error.URLError, http.client.HTTPException, OSError)):
                engine.get(f"{base}/cut")
            start = time.monotonic()
            assert engine.get(f"{base}/slow")[0] == 200
            assert time.monotonic() - start >= 0.3
            start = time.monotonic()
            assert engine.get(f"{base}/thin") == (200, b"hello /thin")
            assert time.monotonic() - start >= 0.2
            held: list[tuple[int, bytes]] = []
            thread = threading.Thread(target=lambda: held.append(engine.get(f"{base}/hold")))
            thread.start()
            deadline = time.monotonic() + 20
            while not on(engine, capsys, "paused")[1]:
                assert time.monotonic() < deadline, "never held"
                time.sleep(0.05)
            assert held == []
            on(engine, capsys, "resume-all")
            thread.join(20)
            assert held == [(200, b"hello /hold")]
            _, lines = on(engine, capsys, "rules", "list")
            assert [line.split(" (")[1].split(" ")[0] for line in lines] == ["1"] * 6
