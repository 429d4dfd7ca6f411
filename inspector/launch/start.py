"""Launch a client pointed at Inspector: find it, prepare its fresh
profile (or its environment), start it through a watcher
(``launch.watch``) and wait until it has started or failed.

The caller says where the proxy is (``host:port``, usually a port the
engine opened for this client alone, so its flows are tagged) and gives
Inspector's CA. Nothing outside the configuration directory changes: the
browser's trust and proxy live in its own profile, the terminal's in its
environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from inspector.core import launch_args, launch_clients
from inspector.core.http_rules import MessageRejected, split_authority
from inspector.core.launch_clients import Client
from inspector.core.launch_env import client_env, env_lines
from inspector.launch import files, watch

REPORT_TIMEOUT = 30.0
"""Seconds to wait for the watcher's word (the client's start included)."""
CERTUTIL_TIMEOUT = 20.0


class LaunchError(Exception):
    """The client cannot be launched; the message says why, in one line."""


@dataclass(frozen=True, slots=True)
class Launched:
    client: Client
    pid: int
    """The client's process (the browser, or the terminal emulator)."""
    directory: Path
    """Its launch directory, removed once it exits."""


def locate(client: Client) -> str | None:
    return launch_clients.find(client, sys.platform, shutil.which, os.path.isfile, os.environ)


def missing(client: Client) -> str:
    """The one line saying ``client`` is not installed, and what was tried."""
    if client.kind == "terminal":
        return f"no terminal found (looked for {launch_clients.looked_for(client, sys.platform)})"
    return (
        f"{client.label} is not installed "
        f"(looked for {launch_clients.looked_for(client, sys.platform)})"
    )


def choose(name: str) -> tuple[Client, str]:
    """The client the command line's ``name`` means and its executable.
    ``chromium`` takes any Chromium-based browser when Chromium itself is
    missing. Raises LaunchError."""
    client = launch_clients.BY_NAME.get(name)
    if client is None:
        names = ", ".join(launch_clients.BY_NAME)
        raise LaunchError(f"unknown client {name!r} (choose {names})")
    choices = [client]
    if name == "chromium":
        choices += [c for c in launch_clients.BROWSERS if c.kind == "chromium" and c is not client]
    for candidate in choices:
        executable = locate(candidate)
        if executable is not None:
            return candidate, executable
    if name == "chromium":
        looked = "; ".join(launch_clients.looked_for(c, sys.platform) for c in choices)
        raise LaunchError(f"no Chromium-based browser is installed (looked for {looked})")
    raise LaunchError(missing(client))


def launch(
    client: Client,
    executable: str,
    proxy: str,
    ca_pem: str,
    confdir: Path,
    extra: list[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Launched:
    """Start ``client`` through ``proxy`` with the CA trusted; returns once
    it has started. Raises LaunchError."""
    try:
        host, port = split_authority(proxy, None)
    except MessageRejected as exc:
        raise LaunchError(f"invalid proxy address {proxy!r}: {exc.message}") from None
    files.sweep(confdir)
    base_env = dict(os.environ if env is None else env)
    directory = files.new_launch_dir(confdir, client.name)
    try:
        argv, child_env = _prepare(
            client,
            executable,
            proxy,
            (host, port),
            ca_pem,
            confdir,
            directory,
            extra or [],
            base_env,
        )
        pid = _start(client, directory, argv, child_env)
    except BaseException:
        files.remove(directory)
        raise
    return Launched(client, pid, directory)


def _prepare(
    client: Client,
    executable: str,
    proxy: str,
    address: tuple[str, int],
    ca_pem: str,
    confdir: Path,
    directory: Path,
    extra: list[str],
    env: dict[str, str],
) -> tuple[list[str], dict[str, str]]:
    profile = directory / "profile"
    if client.kind == "chromium":
        profile.mkdir(mode=0o700)
        spki = launch_args.spki_hash(ca_pem.encode())
        root = hasattr(os, "geteuid") and os.geteuid() == 0
        argv = launch_args.chromium_args(executable, str(profile), proxy, spki, extra, root)
        return argv, env
    if client.kind == "firefox":
        profile.mkdir(mode=0o700)
        _firefox_profile(profile, address, ca_pem, directory)
        return launch_args.firefox_args(executable, str(profile), extra), env
    ca_path, bundle, _note = files.write_ca_files(confdir, ca_pem)
    node = files.write_node_script(confdir)
    variables = client_env(proxy, str(bundle), str(ca_path), str(node))
    return _terminal(executable, variables, confdir, extra, env), {**env, **variables}


def _firefox_profile(profile: Path, address: tuple[str, int], ca_pem: str, directory: Path) -> None:
    (profile / "user.js").write_text(launch_args.firefox_prefs(*address), encoding="utf-8")
    certutil = shutil.which("certutil")
    if certutil is None:
        raise LaunchError(
            "Firefox needs NSS's certutil to trust Inspector's CA in its own profile, and "
            "it is not installed (Debian and Ubuntu: libnss3-tools; Fedora: nss-tools; "
            "macOS: brew install nss)"
        )
    ca_path = directory / "inspector-ca.pem"
    ca_path.write_text(ca_pem, encoding="utf-8")
    for step in launch_args.certutil_commands(certutil, str(profile), str(ca_path)):
        try:
            done = subprocess.run(
                step, capture_output=True, text=True, timeout=CERTUTIL_TIMEOUT, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise LaunchError(f"certutil failed: {exc}") from None
        if done.returncode != 0:
            why = (done.stderr or done.stdout).strip().splitlines()
            raise LaunchError(f"certutil failed: {why[-1] if why else done.returncode}")


def _terminal(
    executable: str,
    variables: dict[str, str],
    confdir: Path,
    extra: list[str],
    env: Mapping[str, str],
) -> list[str]:
    """A new terminal window whose shell has ``variables``: given on the
    command line too, as a terminal with a server (gnome-terminal) starts
    the shell from the server's environment, not the launcher's."""
    if sys.platform == "darwin":
        script = confdir / files.CA_FILES / "terminal.command"
        lines = env_lines(variables, "sh")
        script.write_text("#!/bin/sh\n" + "\n".join(lines) + '\nexec "${SHELL:-/bin/sh}" -l\n')
        script.chmod(0o700)
        return [executable, "-a", "Terminal", str(script)]
    if sys.platform == "win32":
        setup = "; ".join(env_lines(variables, "powershell"))
        return [executable, "-NoExit", "-Command", setup]
    shell = extra or [env.get("SHELL") or "/bin/sh"]
    program = ["env", *(f"{name}={value}" for name, value in variables.items()), *shell]
    return launch_clients.terminal_command(executable, program)


def _start(client: Client, directory: Path, argv: list[str], env: dict[str, str]) -> int:
    """Run ``argv`` under a detached watcher; its pid once started."""
    command = watch.command(
        ["--detach", "--dir", str(directory), "--label", client.label, "--", *argv]
    )
    try:
        proc = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=env,
            timeout=REPORT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise LaunchError(f"{client.label} did not start within {REPORT_TIMEOUT:g} s") from None
    except OSError as exc:
        raise LaunchError(f"cannot start {client.label}: {exc.strerror or exc}") from None
    word, _, rest = proc.stdout.decode("utf-8", "replace").strip().partition(" ")
    if word == "started" and rest.isdigit():
        return int(rest)
    if word == "failed":
        raise LaunchError(rest)
    why = proc.stderr.decode("utf-8", "replace").strip().splitlines()
    raise LaunchError(
        f"cannot start {client.label}: the watcher said nothing" + (f" ({why[-1]})" if why else "")
    )
