"""Launch directories and CA files: leftovers of dead watchers swept, live
ones and fresh ones kept; the bundle holds the system's CAs and ours."""

from __future__ import annotations

import os
import time
from pathlib import Path

from inspector.launch import files


def test_sweep_removes_only_what_no_live_watcher_owns(tmp_path: Path) -> None:
    root = files.launched_dir(tmp_path)
    dead, live, fresh, old = (files.new_launch_dir(tmp_path, n) for n in ("a", "b", "c", "d"))
    (dead / files.PID_FILE).write_text("4000000\n")
    (dead / "profile").mkdir()
    (live / files.PID_FILE).write_text(f"{os.getpid()}\n")
    past = time.time() - files.UNCLAIMED_AGE - 5
    os.utime(old, (past, past))
    removed = files.sweep(tmp_path, is_alive=lambda pid: pid == os.getpid())
    assert sorted(removed) == sorted([dead, old])
    assert sorted(root.iterdir()) == sorted([live, fresh])
    assert files.sweep(tmp_path / "nothing-here") == []


def test_ca_files(tmp_path: Path) -> None:
    pem = "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n"
    ca, bundle, note = files.write_ca_files(tmp_path, pem)
    assert ca.read_text() == pem
    text = bundle.read_text()
    assert text.endswith(pem)
    if files.system_bundle() is not None:
        assert note == ""
        assert text.count("BEGIN CERTIFICATE") > 1
    else:
        assert "no system CA bundle" in note


def test_system_bundle_prefers_the_known_places() -> None:
    seen = "/etc/pki/tls/certs/ca-bundle.crt"
    found = files.system_bundle(lambda path: path == seen)
    assert found == seen
    assert files.system_bundle(lambda path: False) is None
