from __future__ import annotations

import gzip
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inspector.cli import main
from inspector.core.session import Session
from tests.core.test_search import _flow


@pytest.fixture
def session_path(tmp_path: Path) -> Path:
    path = tmp_path / "s.inspector"
    with Session.create(path) as session:
        session.write(
            [
                _flow(1, b'{"token": "abc"}'),
                _flow(2, gzip.compress(b"token in gzip"), encoding=b"gzip"),
                _flow(3, b"nothing"),
                _flow(4, b"token", host="cdn.example.com"),
            ]
        )
    return path


def test_prints_matching_ids_one_a_line(
    session_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["session", "search", str(session_path), "body:token -host:cdn"]) == 0
    assert capsys.readouterr().out == "1\n2\n"


def test_after_skips_lower_ids(session_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["session", "search", str(session_path), "body:token", "--after", "1"]) == 0
    assert capsys.readouterr().out == "2\n4\n"


def test_no_match_prints_nothing(session_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["session", "search", str(session_path), "body:absent"]) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("body:", "inspector: EXPR: 'body:' needs a value (at character 6)"),
        ("(host:a", "inspector: EXPR: unbalanced '(' (at character 1)"),
        ("size>lots", "inspector: EXPR:"),
    ],
)
def test_a_malformed_expression_is_exit_2_and_one_line(
    session_path: Path, capsys: pytest.CaptureFixture[str], expr: str, message: str
) -> None:
    assert main(["session", "search", str(session_path), expr]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(message)
    assert captured.err.count("\n") == 1


def test_what_is_not_a_session_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.inspector"
    junk.write_bytes(b"not a database at all" * 100)
    assert main(["session", "search", str(junk), "body:x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("inspector: ") and err.count("\n") == 1


def test_watch_speaks_the_window_protocol_and_judges_ids_as_they_are_written(
    session_path: Path,
) -> None:
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "inspector",
            "session",
            "search",
            str(session_path),
            "body:token",
            "--watch",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as process:
        _watch(process, session_path)


def _watch(process: subprocess.Popen[str], session_path: Path) -> None:
    assert process.stdin is not None and process.stdout is not None
    lines = [process.stdout.readline().strip() for _ in range(4)]
    assert lines == ["match 1 2 4", "miss 3", "progress 4 4", "scanned"]
    # Flow 5 is not in the file yet: judged once it is.
    process.stdin.write("5 3\n")
    process.stdin.flush()
    assert process.stdout.readline().strip() == "miss 3"
    time.sleep(0.3)
    with Session.open(session_path, writable=True) as session:
        session.write([_flow(5, b"late token")])
    assert process.stdout.readline().strip() == "match 5"
    process.stdin.close()
    assert process.wait(timeout=10) == 0
