"""``inspector ca``: the CA is created once, reused, exported without its key."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from cryptography import x509


def _ca(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inspector", "ca", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_path_creates_once_and_reuses(tmp_path: Path) -> None:
    first = _ca("--confdir", str(tmp_path), "path")
    assert first.returncode == 0, first.stderr
    cert_path = Path(first.stdout.strip())
    assert cert_path.parent == tmp_path and cert_path.exists()
    key = tmp_path / "inspector-ca-key.pem"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    before = cert_path.read_bytes()
    fingerprint = _ca("--confdir", str(tmp_path), "fingerprint").stdout
    again = _ca("--confdir", str(tmp_path), "path")
    assert Path(again.stdout.strip()) == cert_path
    assert cert_path.read_bytes() == before
    assert _ca("--confdir", str(tmp_path), "fingerprint").stdout == fingerprint


def test_inspector_home_is_honoured(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "inspector", "ca", "path"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "INSPECTOR_HOME": str(tmp_path / "home")},
    )
    assert result.returncode == 0
    assert Path(result.stdout.strip()).parent == tmp_path / "home"


def test_export_pem_and_der_never_the_key(tmp_path: Path) -> None:
    conf = str(tmp_path / "conf")
    assert _ca("--confdir", conf, "export", str(tmp_path / "ca.pem")).returncode == 0
    assert _ca("--confdir", conf, "export", "--der", str(tmp_path / "ca.cer")).returncode == 0
    pem = (tmp_path / "ca.pem").read_bytes()
    assert b"PRIVATE KEY" not in pem
    cert = x509.load_pem_x509_certificate(pem)
    der = x509.load_der_x509_certificate((tmp_path / "ca.cer").read_bytes())
    assert cert == der


def test_export_to_an_unwritable_place_is_one_line(tmp_path: Path) -> None:
    result = _ca("--confdir", str(tmp_path), "export", str(tmp_path / "missing" / "dir" / "x.pem"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("inspector: ")


def test_bad_subcommand_is_one_line() -> None:
    result = _ca("bogus")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
