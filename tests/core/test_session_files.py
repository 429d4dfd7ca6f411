"""Session files on disk: fresh names, the recorded ones newest first,
pruning old ones with their WAL companions, and private folders."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from inspector.core import session_files as F
from inspector.core.session import Session


def test_new_paths_recorded_and_pruned(tmp_path: Path) -> None:
    now = time.time()
    first = F.new_path(tmp_path, now)
    Session.create(first).close()
    second = F.new_path(tmp_path, now)
    assert second != first and second.suffix == F.SUFFIX
    Session.create(second).close()
    old = tmp_path / "2020-01-01_000000.inspector"
    Session.create(old).close()
    (tmp_path / "2020-01-01_000000.inspector-wal").write_bytes(b"")
    os.utime(old, (now - 30 * 86400, now - 30 * 86400))
    (tmp_path / "notes.txt").write_text("not a session")
    assert set(F.recorded(tmp_path)) == {first, second, old}
    assert F.prune(tmp_path, 7, now) == [old]
    assert not old.exists() and not (tmp_path / "2020-01-01_000000.inspector-wal").exists()
    assert set(F.recorded(tmp_path)) == {first, second}
    assert (tmp_path / "notes.txt").exists()


def test_the_sessions_folder_is_made_private_even_if_it_existed(tmp_path: Path) -> None:
    folder = tmp_path / "sessions"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    F.private_dir(folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    fresh = tmp_path / "new" / "sessions"
    F.private_dir(fresh)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
