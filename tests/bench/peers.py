"""Peers the suite compares against, installed into virtualenvs of their own.

``mitmproxy`` is installed on request (``make bench PEERS=mitmproxy``) with
``python -m venv`` and ``pip`` into ``.bench-venv-mitmproxy`` at the
repository root, once; later runs reuse it. The newest release that
supports the running Python is taken (11.0.2 is the last for Python 3.11).
Its CA is generated in a scratch configuration directory on first start,
and the HTTPS client trusts that one.

Run as ``python -m tests.bench.peers mitmproxy`` to install and print the
version.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
KNOWN = ("mitmproxy",)
REQUIREMENT = {"mitmproxy": "mitmproxy>=10"}


def venv_dir(peer: str) -> Path:
    return ROOT / f".bench-venv-{peer}"


def ensure(peer: str, log: bool = True) -> Path:
    """Install ``peer`` if needed; return its main executable."""
    if peer not in KNOWN:
        raise ValueError(f"unknown peer {peer!r} (known: {', '.join(KNOWN)})")
    venv = venv_dir(peer)
    exe = venv / "bin" / "mitmdump"
    if exe.exists():
        return exe
    if log:
        print(f"installing {peer} into {venv} ...", file=sys.stderr, flush=True)
    started = time.monotonic()
    for argv in (
        [sys.executable, "-m", "venv", str(venv)],
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", REQUIREMENT[peer]],
    ):
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stderr.strip()[-3000:]}")
    if log:
        print(f"installed {peer} in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return exe


def version(exe: Path) -> str:
    done = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=False)
    first = done.stdout.strip().splitlines()[:1]
    return first[0].split(":", 1)[-1].strip() if first else "unknown"


def add_mitmdump(
    work: Path,
    modes: list[str],
    launch: dict[str, Any],
    versions: dict[str, str],
    failures: list[str],
) -> None:
    """Install mitmdump (once) and join it to a run: its mode to ``modes``,
    its launch options to ``launch``, its version to ``versions``. When it
    cannot be installed, say so in ``failures`` and run without it."""
    try:
        exe = ensure("mitmproxy")
    except (RuntimeError, OSError) as exc:
        failures.append(f"mitmproxy could not be installed: {exc}")
        return
    versions["mitmproxy"] = version(exe)
    launch.update(mitmdump=exe, mitm_confdir=work / "mitmproxy")
    modes.append("mitmdump")


def wait_for_ca(confdir: Path, timeout: float = 20.0) -> Path:
    """mitmproxy writes its CA into ``confdir`` on first start."""
    path = confdir / "mitmproxy-ca-cert.pem"
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"mitmproxy did not create {path}")
        time.sleep(0.1)
    return path


def main(argv: list[str] | None = None) -> int:
    names = (sys.argv[1:] if argv is None else argv) or list(KNOWN)
    for name in names:
        exe = ensure(name)
        print(f"{name} {version(exe)} at {exe}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
