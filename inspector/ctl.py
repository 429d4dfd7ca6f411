"""``inspector ctl``: drive a running engine from a shell or a script.

It connects to an engine's control socket (``link.control_socket``: the
only engine running, or the one ``--socket`` names) with the window's own
client, ``link.client.EngineClient``, sends one command and prints the
answer, one item a line:

- ``flows [--filter EXPR]``: ``ID METHOD URL -> STATUS`` (``-`` before a
  response, ``error: TEXT`` for a failure);
- ``break add EXPR [--on request|response|both]`` (the new breakpoint's
  id), ``break list`` (``ID ON EXPR``), ``break rm ID``;
- ``paused``: ``ID request|response METHOD URL``;
- ``resume ID [edits]``, ``abort ID``, ``resume-all``, ``abort-all`` (the
  ids resumed or aborted);
- ``replay ID [--count N]``: the new flows' ids;
- ``send METHOD URL [-H 'N: V']... [--data D]``: ``ID STATUS`` once it is
  over (``ID error: TEXT``, exit status 1, when it failed).

Whatever cannot be done (no engine, several and none chosen, a bad id, an
edit the engine refuses, a malformed filter) is one line on standard
error, ``inspector ctl: ...``, and exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from inspector.cli_errors import OneLineParser, fail
from inspector.core.protocol import ProtocolError
from inspector.core.rule_actions import RuleError
from inspector.core.rules_file import read_rules, warnings, write_rules
from inspector.link.channel import ChannelClosed
from inspector.link.client import EngineClient, EngineError
from inspector.link.control_socket import Unreachable, control_client, control_dir, running

PROG = "inspector ctl"
HELLO_TIMEOUT = 5.0
PHASES = ("request", "response", "both")


class CtlError(Exception):
    """What ``inspector ctl`` cannot do, in one line."""


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog=PROG, description="Drive a running Inspector engine.")
    parser.add_argument(
        "--socket",
        metavar="PATH",
        help=f"the engine's control socket (default: the only one running, in {control_dir()})",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    flows = commands.add_parser("flows", help="list the engine's flows: ID METHOD URL -> STATUS")
    flows.add_argument("--filter", metavar="EXPR", help="only the flows EXPR matches")

    breaks = commands.add_parser("break", help="breakpoints: add, list, rm")
    actions = breaks.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="hold the flows EXPR matches; prints the id")
    add.add_argument("expr", metavar="EXPR", help="a filter expression (docs/filter.md)")
    add.add_argument("--on", choices=PHASES, default="request", help="where to hold them")
    actions.add_parser("list", help="ID ON EXPR, one a line")
    remove = actions.add_parser("rm", help="remove a breakpoint")
    remove.add_argument("id", metavar="ID", type=int)

    rules = commands.add_parser("rules", help="rules: load, list, export")
    rule_actions = rules.add_subparsers(dest="action", required=True, metavar="ACTION")
    load = rule_actions.add_parser("load", help="replace the running rules with a rules file's")
    load.add_argument("file", metavar="FILE")
    rule_actions.add_parser("list", help="ID on|off NAME (HITS hits): EXPR -> ACTIONS, one a line")
    rule_actions.add_parser("export", help="print the running rules as a rules file")
    commands.add_parser("paused", help="the flows held: ID request|response METHOD URL")
    resume = commands.add_parser("resume", help="let a held flow go, edited as asked")
    resume.add_argument("id", metavar="ID", type=int)
    resume.add_argument("--method", metavar="M")
    resume.add_argument("--url", metavar="U")
    resume.add_argument(
        "--set-header", metavar="'N: V'", action="append", default=[], help="repeatable"
    )
    resume.add_argument("--remove-header", metavar="N", action="append", default=[])
    resume.add_argument("--body-file", metavar="F", help="the body, from file F")
    resume.add_argument("--status", metavar="N", type=int, help="a held response's status")
    abort = commands.add_parser("abort", help="fail a held flow (its client gets a 502)")
    abort.add_argument("id", metavar="ID", type=int)
    commands.add_parser("resume-all", help="let every held flow go; prints their ids")
    commands.add_parser("abort-all", help="fail every held flow; prints their ids")

    replay = commands.add_parser("replay", help="send a flow's request again")
    replay.add_argument("id", metavar="ID", type=int)
    replay.add_argument("--count", metavar="N", type=int, default=1)
    send = commands.add_parser("send", help="send a request; prints ID STATUS")
    send.add_argument("method", metavar="METHOD")
    send.add_argument("url", metavar="URL")
    send.add_argument(
        "-H", "--header", metavar="'N: V'", action="append", default=[], help="repeatable"
    )
    send.add_argument("--data", metavar="D", help="the body")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        command = _command(args)
        path = Path(args.socket) if args.socket else _only_engine()
        return asyncio.run(_run(path, command))
    except CtlError as exc:
        return fail(str(exc), PROG)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0  # the reader went away


def _only_engine() -> Path:
    found = running()
    if not found:
        raise CtlError("no engine is running")
    if len(found) > 1:
        names = ", ".join(str(path) for path in found)
        raise CtlError(f"several engines are running: {names}; choose one with --socket")
    return found[0]


Command = Callable[[EngineClient], Coroutine[Any, Any, int]]


async def _run(path: Path, command: Command) -> int:
    try:
        async with control_client(path, HELLO_TIMEOUT) as (client, _hello):
            return await command(client)
    except Unreachable as exc:
        raise CtlError(f"cannot reach the engine at {path}: {exc}") from None
    except EngineError as exc:
        raise CtlError(str(exc)) from None
    except (ChannelClosed, ProtocolError) as exc:
        raise CtlError(f"the engine at {path}: {exc}") from None


def _command(args: argparse.Namespace) -> Command:
    """The request(s) for the command line, checked before connecting."""
    name = args.command
    if name == "flows":
        return lambda client: _flows(client, args.filter)
    if name == "break":
        if args.action == "add":
            return lambda client: _break_add(client, args.expr, args.on)
        if args.action == "list":
            return _break_list
        return lambda client: _done(client.request("remove_rule", id=args.id))
    if name == "rules":
        if args.action == "load":
            try:
                loaded = read_rules(Path(args.file).read_bytes())
            except OSError as exc:
                raise CtlError(f"{args.file}: {exc.strerror or exc}") from None
            except RuleError as exc:
                raise CtlError(f"{args.file}: {exc}") from None
            return lambda client: _rules_load(client, loaded)
        if args.action == "list":
            return _rules_list
        return _rules_export
    if name == "paused":
        return _paused
    if name == "resume":
        edits = _edits(args)
        return lambda client: _done(client.request("resume", id=args.id, **edits))
    if name == "abort":
        return lambda client: _done(client.request("abort", id=args.id))
    if name == "resume-all":
        return lambda client: _ids(client.request("resume_all"), "resumed")
    if name == "abort-all":
        return lambda client: _ids(client.request("abort_all"), "aborted")
    if name == "replay":
        return lambda client: _ids(client.request("replay", id=args.id, count=args.count), "ids")
    headers = [_header(text, "-H") for text in args.header]
    body = os.fsencode(args.data) if args.data is not None else b""
    return lambda client: _send(client, args.method, args.url, headers, body)


def _header(text: str, option: str) -> list[bytes]:
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        raise CtlError(f"{option} {text!r}: a header is 'Name: value'")
    return [os.fsencode(name.strip()), os.fsencode(value.strip())]


def _edits(args: argparse.Namespace) -> dict[str, Any]:
    edits: dict[str, Any] = {}
    if args.method is not None:
        edits["method"] = args.method
    if args.url is not None:
        edits["url"] = args.url
    if args.set_header:
        edits["set_headers"] = [_header(text, "--set-header") for text in args.set_header]
    if args.remove_header:
        edits["remove_headers"] = [os.fsencode(name) for name in args.remove_header]
    if args.body_file is not None:
        try:
            edits["body"] = Path(args.body_file).read_bytes()
        except OSError as exc:
            raise CtlError(f"--body-file {args.body_file}: {exc.strerror or exc}") from None
    if args.status is not None:
        edits["status"] = args.status
    return edits


def _out(lines: list[str]) -> None:
    if lines:
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()


def _answer(result: Any, key: str) -> Any:
    """``result[key]``: an engine that answers otherwise is not one ctl knows."""
    if not isinstance(result, dict) or key not in result:
        raise CtlError(f"the engine's answer has no {key!r}")
    return result[key]


async def _done(pending: Coroutine[Any, Any, Any]) -> int:
    await pending
    return 0


async def _ids(pending: Coroutine[Any, Any, Any], key: str) -> int:
    _out([str(flow_id) for flow_id in _answer(await pending, key)])
    return 0


def flow_line(row: list[Any]) -> str:
    """``ID METHOD URL -> STATUS`` for a row of the ``flows`` answer."""
    flow_id, method, url, status, error = row
    if error is not None:
        return f"{flow_id} {method} {url} -> error: {error}"
    return f"{flow_id} {method} {url} -> {status or '-'}"


async def _flows(client: EngineClient, expr: str | None) -> int:
    args: dict[str, Any] = {} if expr is None else {"filter": expr}
    after = 0
    while True:
        page = await client.request("flows", after=after, **args)
        _out([flow_line(row) for row in _answer(page, "flows")])
        if not page.get("more"):
            return 0
        after = _answer(page, "last")


async def _break_add(client: EngineClient, expr: str, on: str) -> int:
    rule = {"match": expr, "actions": [{"type": "breakpoint", "on": on}]}
    result = await client.request("add_rule", rule=rule)
    rule_id = _answer(result, "id")
    if result.get("error"):
        # The engine keeps a rule it cannot use, disabled, for the window
        # to show; from the command line it is a mistake to take back.
        await client.request("remove_rule", id=rule_id)
        raise CtlError(f"{expr}: {result['error']}")
    _out([str(rule_id)])
    return 0


async def _break_list(client: EngineClient) -> int:
    lines = []
    for rule in _answer(await client.request("rules"), "rules"):
        for action in rule.get("actions", ()):
            if action.get("type") == "breakpoint":
                lines.append(f"{rule['id']} {action.get('on')} {rule.get('match', '')}")
    _out(lines)
    return 0


async def _rules_load(client: EngineClient, rules: list[dict[str, Any]]) -> int:
    result = await client.request("set_rules", rules=rules)
    for line in warnings(_answer(result, "rules")):
        print(f"{PROG}: warning: {line}", file=sys.stderr)
    return 0


async def _rules_list(client: EngineClient) -> int:
    lines = []
    for rule in _answer(await client.request("rules"), "rules"):
        state = "on" if rule.get("enabled") else "off"
        kinds = ", ".join(str(a.get("type")) for a in rule.get("actions", ()))
        error = f" [disabled: {rule['error']}]" if rule.get("error") else ""
        lines.append(
            f"{rule['id']} {state} {rule.get('name', '')} ({rule.get('hits', 0)} hits):"
            f" {rule.get('match', '') or '(every flow)'} -> {kinds}{error}"
        )
    _out(lines)
    return 0


async def _rules_export(client: EngineClient) -> int:
    sys.stdout.write(write_rules(_answer(await client.request("rules"), "rules")))
    return 0


async def _paused(client: EngineClient) -> int:
    held = _answer(await client.request("paused"), "paused")
    _out([f"{f['id']} {f['phase']} {f['method']} {f['url']}" for f in held])
    return 0


async def _send(
    client: EngineClient, method: str, url: str, headers: list[list[bytes]], body: bytes
) -> int:
    result = await client.request(
        "send", method=method, url=url, headers=headers, body=body, wait=True
    )
    flow_id = _answer(result, "id")
    if result.get("error"):
        _out([f"{flow_id} error: {result['error']}"])
        return 1
    _out([f"{flow_id} {result.get('status') or '-'}"])
    return 0
