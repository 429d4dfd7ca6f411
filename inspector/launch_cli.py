"""``inspector launch`` and ``inspector env``: point a client at Inspector
in one step.

- ``inspector launch chromium|chrome|edge|brave|firefox|terminal|shell
  [--proxy HOST:PORT] [-- ARGS]`` starts the client through the running
  Inspector, the CA trusted for it alone, and returns once it has started
  (``shell`` runs a shell in this terminal instead, until it exits).
  The engine opens a port for the client (``listen_tagged``), so its flows
  are tagged with its name (``client:chromium``).
- ``inspector env [--proxy HOST:PORT] [--shell sh|fish|powershell]``
  prints the lines that set the proxy and CA variables:
  ``eval "$(inspector env)"``.

The address and the CA come from the only running engine (through its
control socket, or the one ``--socket`` names); ``--proxy`` gives the
address instead, with the CA of the configuration directory, and no
tagging. Whatever cannot be done is one line on standard error and exit
status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from inspector.cli_errors import OneLineParser, fail
from inspector.core.ca import CAError, CertificateAuthority
from inspector.core.config import config_dir
from inspector.core.flow import authority
from inspector.core.http_rules import MessageRejected, split_authority
from inspector.core.launch_clients import BY_NAME
from inspector.core.launch_env import SHELLS, client_env, env_lines
from inspector.core.protocol import ProtocolError
from inspector.launch import files
from inspector.launch.start import LaunchError, choose, launch
from inspector.link.channel import ChannelClosed
from inspector.link.client import EngineError
from inspector.link.control_socket import Unreachable, control_client, running

HELLO_TIMEOUT = 5.0
SHELL = "shell"
"""``inspector launch shell``: a shell in this terminal, not a new window."""


class CliError(Exception):
    """What cannot be done, in one line."""


@dataclass(frozen=True, slots=True)
class Target:
    proxy: str
    """``host:port`` for the client."""
    ca_pem: str
    tagged: bool


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--proxy",
        metavar="HOST:PORT",
        help="Inspector's address (default: the running Inspector's); flows are then not tagged",
    )
    parser.add_argument(
        "--socket",
        metavar="PATH",
        help="the running engine's control socket (default: the only one)",
    )
    parser.add_argument(
        "--confdir",
        metavar="DIR",
        help="configuration directory (the CA for --proxy, the launched profiles)",
    )


def build_launch_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="inspector launch",
        description="Start a browser or a terminal already pointed at Inspector, the CA "
        "trusted for it alone. Arguments after -- go to the client.",
    )
    names = [*BY_NAME, SHELL]
    parser.add_argument("client", metavar="CLIENT", choices=names, help=", ".join(names))
    _common(parser)
    return parser


def build_env_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="inspector env",
        description="Print the lines that point this shell's clients at Inspector: "
        'eval "$(inspector env)".',
    )
    parser.add_argument("--shell", choices=SHELLS, default="sh", help="the syntax (default sh)")
    _common(parser)
    return parser


def launch_main(argv: list[str]) -> int:
    prog = "inspector launch"
    own, extra = _split(argv)
    args = build_launch_parser().parse_args(own)
    confdir = config_dir(args.confdir)
    name = "terminal" if args.client == SHELL else args.client
    try:
        if args.client == SHELL:
            target = _target(args, SHELL)
            return _shell(target, confdir, extra)
        client, executable = choose(name)
        target = _target(args, client.name)
        launched = launch(client, executable, target.proxy, target.ca_pem, confdir, extra)
    except (CliError, LaunchError) as exc:
        return fail(str(exc), prog)
    tag = f"; its flows are tagged client:{client.name}" if target.tagged else ""
    print(f"{client.label} started (pid {launched.pid}) through {target.proxy}{tag}")
    return 0


def env_main(argv: list[str]) -> int:
    args = build_env_parser().parse_args(argv)
    try:
        target = _target(args, None)
    except CliError as exc:
        return fail(str(exc), "inspector env")
    confdir = config_dir(args.confdir)
    ca_path, bundle, note = files.write_ca_files(confdir, target.ca_pem)
    if note:
        print(f"inspector env: note: {note}", file=sys.stderr)
    node = files.write_node_script(confdir)
    variables = client_env(target.proxy, str(bundle), str(ca_path), str(node))
    print("\n".join(env_lines(variables, args.shell)))
    return 0


def _split(argv: list[str]) -> tuple[list[str], list[str]]:
    if "--" in argv:
        at = argv.index("--")
        return argv[:at], argv[at + 1 :]
    return argv, []


def _shell(target: Target, confdir: Path, extra: list[str]) -> int:
    """A shell in this terminal with the variables set; its exit status."""
    ca_path, bundle, note = files.write_ca_files(confdir, target.ca_pem)
    if note:
        print(f"inspector launch: note: {note}", file=sys.stderr)
    node = files.write_node_script(confdir)
    variables = client_env(target.proxy, str(bundle), str(ca_path), str(node))
    command = extra or [os.environ.get("SHELL") or "/bin/sh"]
    print(f"inspector: a shell through {target.proxy}; exit it to leave", file=sys.stderr)
    try:
        return subprocess.call(command, env={**os.environ, **variables})
    except OSError as exc:
        raise CliError(f"cannot run {command[0]}: {exc.strerror or exc}") from None


def _target(args: argparse.Namespace, tag: str | None) -> Target:
    """Where the client goes and the CA it trusts: ``--proxy`` and the
    configuration directory's CA, or the running engine's (a port tagged
    ``tag`` when one is given, else its main address)."""
    if args.proxy is not None:
        try:
            host, port = split_authority(args.proxy, None)
        except MessageRejected as exc:
            raise CliError(f"invalid --proxy {args.proxy!r}: {exc.message}") from None
        try:
            ca = CertificateAuthority.load_or_create(config_dir(args.confdir))
        except CAError as exc:
            raise CliError(str(exc)) from None
        return Target(authority(host, port), ca.cert_pem().decode("ascii"), False)
    path = Path(args.socket) if args.socket else _only_engine()
    return asyncio.run(_ask_engine(path, tag))


def _only_engine() -> Path:
    found = running()
    if not found:
        raise CliError("no Inspector is running; start it, or give --proxy HOST:PORT")
    if len(found) > 1:
        names = ", ".join(str(path) for path in found)
        raise CliError(f"several Inspectors are running ({names}); choose one with --socket")
    return found[0]


async def _ask_engine(path: Path, tag: str | None) -> Target:
    try:
        async with control_client(path, HELLO_TIMEOUT) as (client, hello):
            ca = hello.get("ca") or {}
            pem = ca.get("pem") if isinstance(ca, dict) else None
            if not isinstance(pem, str):
                why = ca.get("error") if isinstance(ca, dict) else None
                raise CliError(f"Inspector has no CA certificate ({why or 'none given'})")
            status = await client.request("status")
            address = status.get("address") if isinstance(status, dict) else None
            if not address:
                raise CliError("Inspector's proxy is not running; start it first")
            tagged = False
            if tag is not None:
                result = await client.request("listen_tagged", name=tag)
                address, tagged = result["address"], True
            return Target(_reachable(str(address)), pem, tagged)
    except Unreachable as exc:
        raise CliError(f"cannot reach Inspector at {path}: {exc}") from None
    except EngineError as exc:
        raise CliError(str(exc)) from None
    except (ChannelClosed, ProtocolError) as exc:
        raise CliError(f"Inspector at {path}: {exc}") from None


def _reachable(address: str) -> str:
    """A wildcard listen address as a local client reaches it."""
    host, port = split_authority(address, None)
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return address
    if ip.is_unspecified:
        return authority("::1" if ip.version == 6 else "127.0.0.1", port)
    return address
