"""Command line entry point: parses arguments and hands over to a
composition root (headless or the desktop app)."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import sys
from typing import NoReturn

from inspector import __version__
from inspector.core.http_rules import MessageRejected, split_authority
from inspector.core.settings import ProxySettings

DEFAULT_LISTEN = "127.0.0.1:8080"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line on stderr and exit 2, not a usage dump."""
        self.exit(2, f"inspector: {message} (see inspector --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="inspector", description="Inspector: an HTTP/HTTPS debugging proxy.")
    parser.add_argument("--version", action="version", version=f"inspector {__version__}")
    parser.add_argument("--headless", action="store_true", help="run the proxy without a window")
    parser.add_argument(
        "--listen",
        metavar="HOST:PORT",
        default="127.0.0.1:8080",
        help="address to listen on (default 127.0.0.1:8080; port 0 picks a free port)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback listen address (anyone who can reach it can use the proxy)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="headless: do not print finished flows"
    )
    parser.add_argument(
        "--body-limit",
        metavar="MIB",
        type=float,
        default=8.0,
        help="MiB of each body kept for display (default 8); the rest streams through",
    )
    parser.add_argument(
        "--stats",
        metavar="SECONDS",
        type=float,
        help="headless: print the event relay's metrics every SECONDS",
    )
    parser.add_argument(
        "--relay",
        choices=("coalescing", "naive"),
        default="coalescing",
        help="event delivery: batched and coalesced (default), or every event at once "
        "(for comparison)",
    )
    gui = parser.add_argument_group("desktop app")
    gui.add_argument(
        "--confdir",
        metavar="DIR",
        help="configuration directory (default: $INSPECTOR_HOME or the user config directory)",
    )
    gui.add_argument(
        "--engine-loop",
        choices=("thread", "qasync"),
        default="thread",
        help="run the engine on its own thread (default) or on the GUI's qasync loop",
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


def settings_from(args: argparse.Namespace) -> ProxySettings:
    host, port = parse_listen(args.listen or DEFAULT_LISTEN)
    if args.body_limit < 0:
        raise ValueError("--body-limit must not be negative")
    return ProxySettings(
        listen_host=host,
        listen_port=port,
        allow_remote=args.allow_remote,
        body_capture_limit=int(args.body_limit * 1024 * 1024),
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="inspector: %(levelname)s %(name)s: %(message)s"
    )
    if args.stats is not None and args.stats <= 0:
        print("inspector: --stats takes a positive number of seconds", file=sys.stderr)
        return 2
    if args.screenshot and not args.selftest:
        print("inspector: --screenshot goes with --selftest", file=sys.stderr)
        return 2
    try:
        settings = settings_from(args)
    except ValueError as exc:
        print(f"inspector: {exc}", file=sys.stderr)
        return 2
    if not _check_remote(settings.listen_host, settings.allow_remote):
        return 2
    if args.headless:
        from inspector import headless

        try:
            return asyncio.run(
                headless.run(
                    settings,
                    quiet=args.quiet,
                    stats_interval=args.stats,
                    relay_kind=args.relay,
                )
            )
        except KeyboardInterrupt:
            return 0
    try:
        from inspector import app
    except ImportError as exc:
        print(f"inspector: the desktop app cannot start ({exc}); try --headless", file=sys.stderr)
        return 2
    try:
        options = app.options_from(args, listen_given=args.listen is not None)
    except ValueError as exc:
        print(f"inspector: {exc}", file=sys.stderr)
        return 2
    if not _check_remote(options.settings.proxy.listen_host, options.settings.proxy.allow_remote):
        return 2
    return app.run(options)


def _check_remote(host: str, allowed: bool) -> bool:
    """Refuse (False) or warn about a listen address others can reach."""
    if _is_loopback(host):
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
