"""Command line entry point: parses arguments and hands over to a
composition root (headless or the desktop app), or runs ``inspector ca``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

from inspector import __version__
from inspector.cli_errors import fail as _fail
from inspector.core.certs import CertStore
from inspector.core.config import config_dir, load_settings, sessions_dir
from inspector.core.filter import FilterError, parse_filter
from inspector.core.hostmatch import HostPatternError, HostPatterns
from inspector.core.http_rules import MessageRejected, split_authority
from inspector.core.render_wire import HELPER_COMMAND as RENDER_COMMAND
from inspector.core.rule_actions import RuleError
from inspector.core.rules_file import read_rules
from inspector.core.session import Session, SessionError
from inspector.core.session_files import new_path, private_dir, prune
from inspector.core.settings import ProxySettings, is_loopback
from inspector.core.upstream_proxy import (
    DEFAULT_BYPASS,
    UpstreamProxyError,
    parse_bypass,
    parse_upstream_proxy,
)
from inspector.core.upstream_proxy import ENV_VAR as UPSTREAM_ENV
from inspector.link.spawn import ENGINE_COMMAND
from inspector.options import ENGINES, Options
from inspector.proxy.auth import parse_credentials
from inspector.proxy.loops import LOOPS, loop_factory
from inspector.sysproxy.manager import WATCHDOG_COMMAND

DEFAULT_LISTEN = "127.0.0.1:8080"
AUTH_ENV = "INSPECTOR_AUTH"
"""Credentials for proxy authentication, as ``--auth`` takes them, out of
sight of other users' process listings."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line on stderr and exit 2, not a usage dump."""
        self.exit(2, f"inspector: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="inspector",
        description="Inspector: an HTTP/HTTPS debugging proxy. "
        "'inspector ca path|export' manages its certificate authority.",
    )
    parser.add_argument("--version", action="version", version=f"inspector {__version__}")
    parser.add_argument("--headless", action="store_true", help="run the proxy without a window")
    parser.add_argument(
        "--listen",
        metavar="HOST:PORT",
        default=None,
        help=f"address to listen on (default {DEFAULT_LISTEN}; port 0 picks a free port)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback listen address (anyone who can reach it can use the proxy)",
    )
    parser.add_argument(
        "--auth",
        metavar="USER:PASS",
        help="require these credentials from every client (Basic proxy authentication, 407); "
        f"${AUTH_ENV} does the same without showing them in the process list",
    )
    parser.add_argument(
        "--confdir",
        metavar="DIR",
        help="configuration directory holding the CA and settings "
        "(default: $INSPECTOR_HOME or the user config directory)",
    )
    parser.add_argument(
        "--max-flows",
        metavar="N",
        type=int,
        default=None,
        help="flows kept (default 200000, or as set in the app); past it the oldest are "
        "dropped, and counted",
    )
    parser.add_argument(
        "--relay",
        choices=("coalescing", "naive"),
        default="coalescing",
        help="event delivery: batched and coalesced (default), or every event at once "
        "(for comparison)",
    )
    https = parser.add_argument_group("HTTPS")
    https.add_argument(
        "--no-intercept", action="store_true", help="relay HTTPS tunnels without decrypting them"
    )
    https.add_argument(
        "--ignore-hosts",
        metavar="PATTERN[,PATTERN...]",
        help="hosts whose HTTPS passes through untouched (localhost, *.example.com, host:8443)",
    )
    https.add_argument(
        "--insecure-upstream",
        action="store_true",
        help="do not verify upstream server certificates (dangerous)",
    )
    https.add_argument(
        "--upstream-ca", metavar="FILE", help="also trust the CA certificates in FILE (PEM)"
    )
    chain = parser.add_argument_group("upstream proxy")
    chain.add_argument(
        "--upstream-proxy",
        metavar="URL",
        help="send traffic on through this proxy, http://[user:pass@]host:port: plain HTTP in "
        "absolute form, the rest through CONNECT (an empty value: none); "
        f"${UPSTREAM_ENV} does the same without showing credentials in the process list. "
        "http_proxy and the system proxy are never used",
    )
    chain.add_argument(
        "--upstream-bypass",
        metavar="PATTERN[,PATTERN...]",
        help="hosts reached directly, not through the upstream proxy, in --ignore-hosts syntax "
        f"(default: {DEFAULT_BYPASS}; an empty value sends everything through it)",
    )
    headless = parser.add_argument_group("headless mode")
    headless.add_argument("-q", "--quiet", action="store_true", help="do not print finished flows")
    headless.add_argument(
        "--body-limit",
        metavar="MIB",
        type=float,
        default=8.0,
        help="MiB of each body kept (default 8); the rest streams through",
    )
    headless.add_argument(
        "--body-memory",
        metavar="MIB",
        type=float,
        default=512.0,
        help="MiB of bodies kept across all flows (default 512); older bodies are dropped",
    )
    headless.add_argument(
        "--stats", metavar="SECONDS", type=float, help="print the event relay's metrics"
    )
    headless.add_argument(
        "--filter",
        metavar="EXPR",
        help="print only the flows that match EXPR (the filter language, docs/filter.md)",
    )
    headless.add_argument(
        "--session",
        metavar="FILE",
        help="record every flow to this session file (created, or continued)",
    )
    headless.add_argument(
        "--rules",
        metavar="FILE",
        help="apply the rules in this rules file (README, Rules)",
    )
    headless.add_argument(
        "--relay-capacity",
        metavar="N",
        type=int,
        default=None,
        help="distinct flows the relay queues before degrading to a resync (default 50000)",
    )
    parser.add_argument(
        "--control",
        metavar="PATH",
        help="the engine's control socket, for 'inspector ctl' (default: one per engine in "
        "$XDG_RUNTIME_DIR/inspector, or run/ in the configuration directory)",
    )
    parser.add_argument(
        "--loop",
        choices=LOOPS,
        default="auto",
        help="the engine's event loop: uvloop where installed (auto, the default), "
        "uvloop, or Python's own (asyncio)",
    )
    gui = parser.add_argument_group("desktop app")
    gui.add_argument(
        "--engine",
        choices=ENGINES,
        default=None,
        help="run the engine in a process of its own (default), on a thread of the "
        "window's process, or on the window's qasync loop (the last two for comparison)",
    )
    gui.add_argument(
        "--engine-loop",
        choices=("thread", "qasync"),
        default=None,
        help="the same as --engine thread|qasync",
    )
    gui.add_argument(
        "--open",
        metavar="SESSION",
        help="show a saved session file in a window of its own (nothing is captured)",
    )
    gui.add_argument(
        "--no-session",
        action="store_true",
        help="do not record the capture to a session file on disk",
    )
    gui.add_argument("--flush-ms", type=int, metavar="MS", help="GUI refresh interval (default 33)")
    gui.add_argument("--theme", choices=("system", "light", "dark"), default="system")
    gui.add_argument(
        "--selftest",
        action="store_true",
        help="start offscreen, send test traffic through the proxy, check the table, exit",
    )
    gui.add_argument("--screenshot", metavar="PATH", help="with --selftest: save the window")
    return parser


def build_ca_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="inspector ca", description="Inspector's certificate authority.")
    parser.add_argument("--confdir", metavar="DIR", help="configuration directory")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("path", help="print the CA certificate's path (creating the CA if needed)")
    export = commands.add_parser("export", help="write the CA certificate (never its key) to FILE")
    export.add_argument("--der", action="store_true", help="DER instead of PEM")
    export.add_argument("file", metavar="FILE")
    commands.add_parser("fingerprint", help="print the CA certificate's SHA-256 fingerprint")
    return parser


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``PORT``; IPv6 hosts in brackets."""
    if text.isdigit():
        text = f"127.0.0.1:{text}"
    elif text.startswith(":"):
        text = f"127.0.0.1{text}"
    try:
        if text.endswith(":0"):
            host, _ = split_authority(text[:-2] + ":1", None)
            return host, 0
        return split_authority(text, None)
    except MessageRejected as exc:
        raise ValueError(f"invalid --listen {text!r}: {exc.message}") from None


def apply_shared_options(settings: ProxySettings, args: argparse.Namespace) -> None:
    """The command-line options headless mode and the app share (HTTPS,
    ``--auth`` or ``INSPECTOR_AUTH``, ``--max-flows``) over ``settings``;
    ValueError when bad."""
    if args.auth is not None:
        settings.proxy_auth = parse_credentials(args.auth)
    elif os.environ.get(AUTH_ENV):
        try:
            settings.proxy_auth = parse_credentials(os.environ[AUTH_ENV])
        except ValueError as exc:
            raise ValueError(str(exc).replace("--auth", AUTH_ENV, 1)) from None
    if args.max_flows is not None:
        if args.max_flows < 1:
            raise ValueError("--max-flows must be at least 1")
        settings.max_flows = args.max_flows
    if args.no_intercept:
        settings.intercept_tls = False
    if args.ignore_hosts is not None:
        try:
            HostPatterns.parse(args.ignore_hosts)
        except HostPatternError as exc:
            raise ValueError(f"invalid --ignore-hosts: {exc}") from None
        settings.ignore_hosts = args.ignore_hosts
    if args.insecure_upstream:
        settings.insecure_upstream = True
    if args.upstream_ca:
        if not Path(args.upstream_ca).is_file():
            raise ValueError(f"--upstream-ca {args.upstream_ca}: no such file")
        settings.upstream_ca_file = args.upstream_ca
    apply_upstream_options(settings, args)


def apply_upstream_options(settings: ProxySettings, args: argparse.Namespace) -> None:
    """``--upstream-proxy`` (or ``INSPECTOR_UPSTREAM_PROXY``) and
    ``--upstream-bypass``; ValueError, never showing a password, when bad."""
    source, upstream = "--upstream-proxy", args.upstream_proxy
    if upstream is None and UPSTREAM_ENV in os.environ:
        source, upstream = UPSTREAM_ENV, os.environ[UPSTREAM_ENV]
    try:
        if upstream is not None:
            upstream = upstream.strip()
            if upstream:
                parse_upstream_proxy(upstream)
            settings.upstream_proxy = upstream or None
        if args.upstream_bypass is not None:
            source = "--upstream-bypass"
            parse_bypass(args.upstream_bypass)
            settings.upstream_bypass = args.upstream_bypass
    except UpstreamProxyError as exc:
        raise ValueError(f"invalid {source}: {exc}") from None


def settings_from(args: argparse.Namespace) -> ProxySettings:
    host, port = parse_listen(args.listen or DEFAULT_LISTEN)
    if args.body_limit < 0:
        raise ValueError("--body-limit must not be negative")
    if args.body_memory <= 0:
        raise ValueError("--body-memory must be positive")
    settings = ProxySettings(
        listen_host=host,
        listen_port=port,
        allow_remote=args.allow_remote,
        body_capture_limit=int(args.body_limit * 1024 * 1024),
        body_memory_limit=int(args.body_memory * 1024 * 1024),
    )
    apply_shared_options(settings, args)
    return settings


def options_from(args: argparse.Namespace, listen_given: bool) -> Options:
    """The desktop app's options: persisted settings, overridden by the
    command line. ValueError when an option is bad."""
    selftest_mode = bool(args.selftest)
    confdir = config_dir(args.confdir)
    if selftest_mode:
        confdir = Path(tempfile.mkdtemp(prefix="inspector-selftest-"))
    settings, problems = load_settings(confdir)
    if listen_given:
        settings.proxy.listen_host, settings.proxy.listen_port = parse_listen(args.listen)
    if selftest_mode:
        settings.proxy.listen_host, settings.proxy.listen_port = "127.0.0.1", 0
        # The selftest's HTTPS origin uses a throwaway CA made here.
        with CertStore.load_or_create(confdir / "selftest-upstream") as upstream:
            settings.proxy.upstream_ca_file = str(upstream.ca_cert_path)
    settings.proxy.allow_remote = args.allow_remote or settings.proxy.allow_remote
    apply_shared_options(settings.proxy, args)
    if args.flush_ms is not None:
        settings.relay.flush_interval_ms = args.flush_ms
    session = None
    open_path = None
    directory = None if selftest_mode else sessions_dir(args.confdir)
    if args.open:
        open_path = Path(args.open)
        try:
            Session.open(open_path).close()
        except SessionError as exc:
            raise ValueError(str(exc)) from None
    elif directory is not None and not args.no_session and settings.proxy.record_session:
        private_dir(directory)
        prune(directory, settings.proxy.session_keep_days)
        session = new_path(directory)
    return Options(
        settings=settings,
        confdir=confdir,
        relay=args.relay,
        engine=args.engine or args.engine_loop or "process",
        loop=args.loop,
        theme=args.theme,
        selftest=selftest_mode,
        screenshot=args.screenshot,
        persist=not selftest_mode,
        session=session,
        open_path=open_path,
        sessions_dir=directory,
        control=Path(args.control) if args.control else None,
        window_args=_window_args(args),
        problems=problems,
    )


def _window_args(args: argparse.Namespace) -> list[str]:
    """What a window opened from this one needs to see the same setup."""
    extra = ["--confdir", str(Path(args.confdir).expanduser().resolve())] if args.confdir else []
    if args.theme != "system":
        extra += ["--theme", args.theme]
    return extra


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(
        level=logging.WARNING, format="inspector: %(levelname)s %(name)s: %(message)s"
    )
    if argv[:1] == ["ca"]:
        return ca_main(argv[1:])
    if argv[:1] in (["session"], ["har"]):
        from inspector import session_cli

        if argv[0] == "session":
            return session_cli.session_main(argv[1:])
        return session_cli.har_main(argv[1:])
    if argv[:1] == ["ctl"]:
        from inspector import ctl

        return ctl.main(argv[1:])
    if argv[:1] == ["launch"]:
        from inspector import launch_cli

        return launch_cli.launch_main(argv[1:])
    if argv[:1] == ["env"]:
        from inspector import launch_cli

        return launch_cli.env_main(argv[1:])
    if argv[:1] == ["__launched__"]:
        from inspector.launch import watch

        return watch.main(argv[1:])
    if argv[:1] == [RENDER_COMMAND]:
        from inspector import render_helper

        return render_helper.main(argv[1:])
    if argv[:1] == ["__session_writer__"]:
        from inspector.proxy import session_process

        return session_process.main(argv[1:])
    if argv[:1] == [ENGINE_COMMAND]:
        from inspector import engine

        return engine.main(argv[1:])
    if argv[:1] == [WATCHDOG_COMMAND]:
        from inspector.sysproxy import watchdog

        return watchdog.main(argv[1:])
    args = build_parser().parse_args(argv)
    if args.stats is not None and args.stats <= 0:
        return _fail("--stats takes a positive number of seconds")
    if args.relay_capacity is not None and args.relay_capacity < 1:
        return _fail("--relay-capacity takes a positive number")
    if args.screenshot and not args.selftest:
        return _fail("--screenshot goes with --selftest")
    if args.engine and args.engine_loop and args.engine != args.engine_loop:
        return _fail("--engine and --engine-loop disagree")
    try:
        factory = loop_factory(args.loop)
    except ValueError as exc:
        return _fail(str(exc))
    try:
        settings = settings_from(args)
    except ValueError as exc:
        return _fail(str(exc))
    if args.headless:
        if not _check_remote(settings.listen_host, settings.allow_remote):
            return 2
        only = None
        if args.filter is not None:
            try:
                only = parse_filter(args.filter)
            except FilterError as exc:
                return _fail(f"--filter: {exc}")
        rules = None
        if args.rules is not None:
            try:
                rules = read_rules(Path(args.rules).read_bytes())
            except (OSError, RuleError) as exc:
                return _fail(f"--rules: {exc}")
        from inspector import headless

        try:
            with asyncio.Runner(loop_factory=factory) as runner:
                return runner.run(
                    headless.run(
                        settings,
                        quiet=args.quiet,
                        stats_interval=args.stats,
                        relay_kind=args.relay,
                        confdir=config_dir(args.confdir),
                        relay_capacity=args.relay_capacity,
                        session_path=Path(args.session) if args.session else None,
                        only=only,
                        control=Path(args.control) if args.control else None,
                        rules=rules,
                    )
                )
        except KeyboardInterrupt:
            return 0
    try:
        options = options_from(args, listen_given=args.listen is not None)
    except ValueError as exc:
        return _fail(str(exc))
    try:
        from inspector import app
    except ImportError as exc:
        return _fail(f"the desktop app cannot start ({exc}); try --headless")
    if not _check_remote(options.settings.proxy.listen_host, options.settings.proxy.allow_remote):
        return 2
    return app.run(options)


def ca_main(argv: list[str]) -> int:
    from inspector.core.ca import CAError
    from inspector.core.certs import CertStore

    args = build_ca_parser().parse_args(argv)
    directory = config_dir(args.confdir)
    try:
        with CertStore.load_or_create(directory) as store:
            if args.command == "path":
                print(store.ca_cert_path)
            elif args.command == "fingerprint":
                print(store.ca_fingerprint())
            else:
                store.export_ca(Path(args.file), der=args.der)
    except CAError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot write {args.file}: {exc.strerror}")
    return 0


def _check_remote(host: str, allowed: bool) -> bool:
    """Refuse (False) or warn about a listen address others can reach."""
    if is_loopback(host):
        return True
    if not allowed:
        print(
            f"inspector: refusing to listen on {host}, which other machines can reach; "
            "pass --allow-remote to do it anyway",
            file=sys.stderr,
        )
        return False
    print(
        f"inspector: warning: listening on {host}: anyone who can reach this address can "
        "use the proxy",
        file=sys.stderr,
    )
    return True
