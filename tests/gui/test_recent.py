"""What Open Recent remembers, and how its entries read."""

from __future__ import annotations

import os
import time
from pathlib import Path

from inspector.gui.recent import (
    MAX_RECENT,
    FileSummary,
    RecentState,
    describe,
    recent_files,
    summarize_file,
    when,
)
from tests.gui.sessions import write_session


def test_recent_files_are_kept_newest_first_and_capped(tmp_path: Path) -> None:
    files = [write_session(tmp_path / f"s{i}.inspector", 0) for i in range(MAX_RECENT + 2)]
    state = RecentState(tmp_path / "conf")
    for path in files:
        state.add(path)
    state.add(files[3])  # again: to the front, not twice
    again = RecentState(tmp_path / "conf")
    kept = files[-MAX_RECENT:]  # the two oldest went
    assert again.files() == [files[3], *(f for f in reversed(kept) if f != files[3])]
    files[-1].unlink()
    assert files[-1] not in again.files()


def test_a_damaged_state_file_is_an_empty_list(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    for text in ("{not json", "[1, 2]", '{"recent": [3, null], "quiet": "x"}'):
        (conf / "recent.json").write_text(text)
        state = RecentState(conf)
        assert state.files() == []
        assert not state.is_quiet("x")
    state.quieten("save-holds-secrets")
    assert RecentState(conf).is_quiet("save-holds-secrets")


def test_recorded_sessions_come_first_without_the_live_one(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    old, new, live = (write_session(sessions / f"{n}.inspector", 1) for n in ("old", "new", "live"))
    now = time.time()
    for age, path in ((300, old), (200, new), (100, live)):
        os.utime(path, (now - age, now - age))
    saved = write_session(tmp_path / "saved.inspector", 2)
    state = RecentState(None)
    for path in (saved, old):
        state.add(path)
    assert recent_files(sessions, state, exclude=live) == ([new, old], [saved])
    assert recent_files(None, state) == ([], [old, saved])


def test_entries_say_how_many_flows_and_when(tmp_path: Path) -> None:
    path = write_session(tmp_path / "capture.inspector", 3)
    summary = summarize_file(path)
    assert summary is not None and summary.flows == 3
    assert describe(path, summary).startswith("capture   (3 flows, today ")
    assert describe(path, FileSummary(1, summary.ended)).startswith("capture   (1 flow, ")
    assert describe(path, None) == "capture.inspector"
    (tmp_path / "junk.inspector").write_text("junk")
    assert summarize_file(tmp_path / "junk.inspector") is None
    noon = time.mktime((2025, 3, 2, 12, 0, 0, 0, 0, -1))
    assert when(noon, noon + 3600) == "today 12:00"
    assert when(noon - 86400, noon) == "yesterday 12:00"
    assert when(noon - 3 * 86400, noon) == "2025-02-27 12:00"
