"""``inspector session info``: its output lines and its exit status on bad
input (one line, exit 2, nothing changed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspector.cli import main
from inspector.core.flow import Flow, FlowState, Request
from inspector.core.session import Session


def _session(path: Path, count: int) -> None:
    with Session.create(path) as session:
        flows = []
        for i in range(1, count + 1):
            flow = Flow(i, ("127.0.0.1", 1))
            flow.request = Request(method="GET", host="example.com", target=f"/{i}")
            flow.t_start, flow.t_end = 1_800_000_000.0 + i, 1_800_000_000.5 + i
            flow.state = FlowState.COMPLETE
            flows.append(flow)
        session.write(flows)


def test_info_prints_flows_and_span(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "a.inspector"
    _session(path, 3)
    assert main(["session", "info", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "flows 3"
    assert out[1].startswith("span ") and out[1].endswith("(2.50 s)")


def test_info_of_an_empty_session(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "a.inspector"
    _session(path, 0)
    assert main(["session", "info", str(path)]) == 0
    assert capsys.readouterr().out == "flows 0\n"


@pytest.mark.parametrize("content", [None, b"", b"not a session at all\n"])
def test_info_of_what_is_not_a_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None
) -> None:
    path = tmp_path / "x.inspector"
    if content is not None:
        path.write_bytes(content)
    assert main(["session", "info", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1
    if content is not None:
        assert path.read_bytes() == content


def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["session", "frobnicate"])
    assert exited.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_headless_refuses_a_session_that_is_not_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("my notes\n")
    code = main(
        [
            "--headless",
            "--listen",
            "127.0.0.1:0",
            "--confdir",
            str(tmp_path),
            "--session",
            str(path),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "not an Inspector session" in err and len(err.strip().splitlines()) == 1
    assert path.read_text() == "my notes\n"


def test_open_refuses_what_is_not_a_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("my notes\n")
    assert main(["--open", str(path), "--confdir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not an Inspector session" in err and len(err.strip().splitlines()) == 1


def test_headless_refuses_a_malformed_filter_before_listening(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["--headless", "--listen", "127.0.0.1:0", "--confdir", str(tmp_path), "--filter", "(a"]
    )
    assert code == 2
    captured = capsys.readouterr()
    assert "listening" not in captured.out
    assert captured.err.startswith("inspector: --filter:")
    assert len(captured.err.strip().splitlines()) == 1
