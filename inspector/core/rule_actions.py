"""The actions a rule can take, as the rules file writes them.

Each action is a frozen dataclass with ``type`` (its name in the file),
``to_json`` (its file form, defaults included) and the phase it acts in.
``action_from_json`` checks an action's shape (``RuleError`` for a wrong
one); ``problem`` says why a well-formed action cannot work (a regex
that does not compile, a file that is not there), which disables its rule
without refusing the others.

Final actions (``reply``, ``map_local``, ``block``) answer the flow
themselves and end the rule list for it; the others combine.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from inspector.core.http_rules import MessageRejected, parse_absolute_target

REQUEST = "request"
RESPONSE = "response"
BOTH = "both"
MAX_TEXT = 4096
MAX_BODY = 16 * 1024 * 1024
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


class RuleError(ValueError):
    """A rule (or a list of them) is not in the rules file's shape."""


@dataclass(frozen=True, slots=True)
class BreakpointAction:
    type: ClassVar[str] = "breakpoint"
    final: ClassVar[bool] = False
    on: str = REQUEST

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "on": self.on}

    @property
    def at_request(self) -> bool:
        return self.on != RESPONSE

    @property
    def at_response(self) -> bool:
        return self.on != REQUEST


@dataclass(frozen=True, slots=True)
class MapRemote:
    """Send to another scheme, host and port (and path prefix)."""

    type: ClassVar[str] = "map_remote"
    final: ClassVar[bool] = False
    at_request: ClassVar[bool] = True
    at_response: ClassVar[bool] = False
    to: str
    scheme: str = field(default="http", compare=False)
    host: str = field(default="", compare=False)
    port: int = field(default=80, compare=False)
    prefix: str = field(default="", compare=False)
    """A path the request's path goes under (``/v2``), or empty."""

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "to": self.to}


@dataclass(frozen=True, slots=True)
class MapLocal:
    """Answer from a file, or from a directory by the URL's path."""

    type: ClassVar[str] = "map_local"
    final: ClassVar[bool] = True
    at_request: ClassVar[bool] = True
    at_response: ClassVar[bool] = False
    path: str
    strip: str = ""

    def to_json(self) -> dict[str, Any]:
        value: dict[str, Any] = {"type": self.type, "path": self.path}
        if self.strip:
            value["strip"] = self.strip
        return value


class _OnOneSide:
    """An action that acts on the request or the response, as ``on`` says."""

    __slots__ = ()
    on: str

    @property
    def at_request(self) -> bool:
        return self.on == REQUEST

    @property
    def at_response(self) -> bool:
        return self.on == RESPONSE


@dataclass(frozen=True, slots=True)
class SetHeader(_OnOneSide):
    type: ClassVar[str] = "set_header"
    final: ClassVar[bool] = False
    name: str
    value: str
    on: str = REQUEST

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "on": self.on, "name": self.name, "value": self.value}


@dataclass(frozen=True, slots=True)
class RemoveHeader(_OnOneSide):
    type: ClassVar[str] = "remove_header"
    final: ClassVar[bool] = False
    name: str
    on: str = REQUEST

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "on": self.on, "name": self.name}


@dataclass(frozen=True, slots=True)
class ReplaceBody(_OnOneSide):
    """A regex replace on the decoded body (``with`` may use ``\\1``)."""

    type: ClassVar[str] = "replace_body"
    final: ClassVar[bool] = False
    pattern: str
    replacement: str
    on: str = RESPONSE

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "on": self.on,
            "pattern": self.pattern,
            "with": self.replacement,
        }


@dataclass(frozen=True, slots=True)
class Block:
    type: ClassVar[str] = "block"
    final: ClassVar[bool] = True
    at_request: ClassVar[bool] = True
    at_response: ClassVar[bool] = False
    status: int = 403
    reset: bool = False

    def to_json(self) -> dict[str, Any]:
        if self.reset:
            return {"type": self.type, "reset": True}
        return {"type": self.type, "status": self.status}


@dataclass(frozen=True, slots=True)
class Reply:
    """A mock: the answer given inline."""

    type: ClassVar[str] = "reply"
    final: ClassVar[bool] = True
    at_request: ClassVar[bool] = True
    at_response: ClassVar[bool] = False
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "status": self.status,
            "headers": dict(self.headers),
            "body": self.body,
        }


@dataclass(frozen=True, slots=True)
class Delay:
    type: ClassVar[str] = "delay"
    final: ClassVar[bool] = False
    at_request: ClassVar[bool] = True
    at_response: ClassVar[bool] = False
    ms: int

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "ms": self.ms}


@dataclass(frozen=True, slots=True)
class Throttle:
    """Bandwidth both ways (kbit/s, None for unlimited) and latency added
    once per exchange."""

    type: ClassVar[str] = "throttle"
    final: ClassVar[bool] = False
    at_request: ClassVar[bool] = True
    at_response: ClassVar[bool] = False
    down_kbps: float | None = None
    up_kbps: float | None = None
    latency_ms: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "down_kbps": self.down_kbps,
            "up_kbps": self.up_kbps,
            "latency_ms": self.latency_ms,
        }


Action = (
    BreakpointAction
    | MapRemote
    | MapLocal
    | SetHeader
    | RemoveHeader
    | ReplaceBody
    | Block
    | Reply
    | Delay
    | Throttle
)


def action_from_json(value: Any) -> Action:
    if not isinstance(value, Mapping):
        raise RuleError("an action must be an object with a 'type'")
    kind = value.get("type")
    if not isinstance(kind, str):
        raise RuleError("an action needs a 'type'")
    reader = _READERS.get(kind)
    if reader is None:
        known = ", ".join(sorted(_READERS))
        raise RuleError(f"unknown action type {kind!r} (known: {known})")
    fields, read = reader
    unknown = set(value) - fields - {"type"}
    if unknown:
        raise RuleError(f"a {kind} action has no field {sorted(unknown)[0]!r}")
    return read(_Fields(kind, value))


class _Fields:
    """One action's fields, read with their types checked."""

    def __init__(self, kind: str, value: Mapping[str, Any]) -> None:
        self.kind, self.value = kind, value

    def fail(self, message: str) -> RuleError:
        return RuleError(f"a {self.kind} action's {message}")

    def text(self, name: str, default: str | None = None) -> str:
        value = self.value.get(name, default)
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise self.fail(f"'{name}' must be text")
        return value

    def phase(self, default: str, allowed: tuple[str, ...] = (REQUEST, RESPONSE)) -> str:
        value = self.value.get("on", default)
        if value not in allowed:
            raise self.fail(f"'on' must be {' or '.join(allowed)}")
        return str(value)

    def number(self, name: str, default: int | None, low: int, high: int) -> int | None:
        value = self.value.get(name, default)
        if value is None:
            return None
        if type(value) is not int or not low <= value <= high:
            raise self.fail(f"'{name}' must be a whole number from {low} to {high}")
        return value

    def rate(self, name: str) -> float | None:
        value = self.value.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise self.fail(f"'{name}' must be a positive number of kbit/s, or null")
        return float(value)


def _header_name(fields: _Fields) -> str:
    name = fields.text("name")
    if not _TOKEN.fullmatch(name):
        raise fields.fail(f"'name' {name!r} is not a header name")
    return name


def _header_value(fields: _Fields, name: str, value: str) -> str:
    if any(c in value for c in "\r\n\x00"):
        raise fields.fail(f"header {name} holds a line break or NUL")
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise fields.fail(f"header {name} must be Latin-1 text") from None
    return value


def _map_remote(f: _Fields) -> Action:
    to = f.text("to")
    if not to.lower().startswith(("http://", "https://")):
        raise f.fail("'to' must be an http:// or https:// URL")
    try:
        target = parse_absolute_target(to)
    except MessageRejected as exc:
        raise f.fail(f"'to' is not a URL: {exc.message}") from None
    prefix = "" if target.path == "/" else target.path.rstrip("/")
    if "?" in prefix:
        raise f.fail("'to' cannot have a query")
    return MapRemote(to, target.scheme, target.host, target.port, prefix)


def _map_local(f: _Fields) -> Action:
    path = f.text("path")
    if not path:
        raise f.fail("'path' must name a file or directory")
    strip = f.text("strip", "")
    if strip and not strip.startswith("/"):
        raise f.fail("'strip' must be a path starting with /")
    return MapLocal(path, strip.rstrip("/"))


def _set_header(f: _Fields) -> Action:
    name = _header_name(f)
    return SetHeader(name, _header_value(f, name, f.text("value")), f.phase(REQUEST))


def _remove_header(f: _Fields) -> Action:
    return RemoveHeader(_header_name(f), f.phase(REQUEST))


def _replace_body(f: _Fields) -> Action:
    pattern = f.text("pattern")
    if not pattern:
        raise f.fail("'pattern' must not be empty")
    return ReplaceBody(pattern, f.text("with", ""), f.phase(RESPONSE))


def _block(f: _Fields) -> Action:
    reset = f.value.get("reset", False)
    if not isinstance(reset, bool):
        raise f.fail("'reset' must be true or false")
    if reset and "status" in f.value:
        raise f.fail("'status' and 'reset' cannot go together")
    status = f.number("status", 403, 200, 999)
    return Block(status or 403, reset)


def _reply(f: _Fields) -> Action:
    status = f.number("status", 200, 200, 999)
    headers = f.value.get("headers", {})
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise f.fail("'headers' must map names to text values")
    pairs = []
    for name, value in headers.items():
        if not _TOKEN.fullmatch(name):
            raise f.fail(f"header name {name!r} is not a header name")
        pairs.append((name, _header_value(f, name, value)))
    body = f.value.get("body", "")
    if not isinstance(body, str) or len(body) > MAX_BODY:
        raise f.fail("'body' must be text")
    return Reply(status or 200, tuple(pairs), body)


def _delay(f: _Fields) -> Action:
    ms = f.number("ms", None, 0, 600_000)
    if ms is None:
        raise f.fail("'ms' must be a whole number from 0 to 600000")
    return Delay(ms)


def _throttle(f: _Fields) -> Action:
    latency = f.number("latency_ms", 0, 0, 60_000)
    return Throttle(f.rate("down_kbps"), f.rate("up_kbps"), latency or 0)


def _breakpoint(f: _Fields) -> Action:
    return BreakpointAction(f.phase(REQUEST, (REQUEST, RESPONSE, BOTH)))


_READERS: dict[str, tuple[set[str], Callable[[_Fields], Action]]] = {
    "breakpoint": ({"on"}, _breakpoint),
    "map_remote": ({"to"}, _map_remote),
    "map_local": ({"path", "strip"}, _map_local),
    "set_header": ({"on", "name", "value"}, _set_header),
    "remove_header": ({"on", "name"}, _remove_header),
    "replace_body": ({"on", "pattern", "with"}, _replace_body),
    "block": ({"status", "reset"}, _block),
    "reply": ({"status", "headers", "body"}, _reply),
    "delay": ({"ms"}, _delay),
    "throttle": ({"down_kbps", "up_kbps", "latency_ms"}, _throttle),
}


def problem(action: Action, exists: Callable[[str], bool] = os.path.exists) -> str:
    """Why ``action`` cannot work, or empty."""
    if isinstance(action, ReplaceBody):
        try:
            re.compile(action.pattern)
        except re.error as exc:
            return f"replace_body: bad pattern {action.pattern!r}: {exc}"
    if isinstance(action, MapLocal) and not exists(action.path):
        return f"map_local: {action.path} does not exist"
    return ""
