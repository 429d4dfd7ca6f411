"""Breakpoints in the engine: the rules that hold flows, the flows held,
and the requests that change them.

A held flow is an awaited future (DESIGN.md, "Interception and rules"):
the exchange that holds it (``intercept.py``) waits on a ``Hold`` until a
``resume`` or ``abort`` request resolves it, however long that takes; no
timer lets it go. What a resume changes is checked and worked out here,
in the request, so an invalid edit gets its error reply and the flow
stays held, untouched.

The requests (docs/protocol.md): ``rules``, ``add_rule``, ``set_rules``,
``update_rule``, ``remove_rule``, ``paused``, ``paused_flow``, ``resume``,
``abort``, ``resume_all``, ``abort_all``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from inspector.core import edits
from inspector.core.decode import DecodeError, decode_body
from inspector.core.edits import Edit, EditError
from inspector.core.events import EventSink, RulesChanged
from inspector.core.flow import Flow, Headers
from inspector.core.http_rules import Target, find_header
from inspector.core.protocol import ProtocolError, field
from inspector.core.rules import REQUEST, RESPONSE, RuleError, RuleSet

ABORTED = "aborted at a breakpoint"
MAX_ABORT_REASON = 500


@dataclass(slots=True)
class Release:
    """How a held flow goes on: as it is, edited, or aborted."""

    method: str = ""
    target: Target | None = None
    status: int = 0
    reason: str = ""
    headers: Headers | None = None
    """The headers to send, None when unchanged."""
    body: bytes | None = None
    """The body to send (encoded, framed by ``headers``), None when unchanged."""
    changed: str = ""
    """What the edit changed, for the flow's record."""
    abort: bool = False
    reset: bool = False
    abort_reason: str = ""


@dataclass(slots=True)
class Hold:
    flow: Flow
    phase: str
    body: bytes
    """What was read of the held message's body, as on the wire."""
    head_only: bool
    """The body was not read whole (over the capture limit, or streamed):
    only the head can be edited."""
    since: float
    future: asyncio.Future[Release]


class Breakpoints:
    """The rules and the held flows of one engine."""

    def __init__(self, sink: EventSink) -> None:
        self.rules = RuleSet()
        self.sink = sink
        self.on_change: Callable[[], None] | None = None
        """Told after the rules changed (the session file keeps them)."""
        self.held: dict[int, Hold] = {}
        self.handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "rules": self._rules,
            "add_rule": self._add_rule,
            "set_rules": self._set_rules,
            "update_rule": self._update_rule,
            "remove_rule": self._remove_rule,
            "paused": self._paused,
            "paused_flow": self._paused_flow,
            "resume": self._resume,
            "abort": self._abort,
            "resume_all": self._resume_all,
            "abort_all": self._abort_all,
        }

    def may_hold(self, flow: Flow) -> bool:
        """Whether a breakpoint may hold ``flow``: never a replay or a
        composed request (rules apply to them, breakpoints do not)."""
        return flow.replay_of is None and not flow.composed

    def hold(self, flow: Flow, phase: str, body: bytes, head_only: bool, now: float) -> Hold:
        future: asyncio.Future[Release] = asyncio.get_running_loop().create_future()
        held = Hold(flow, phase, body, head_only, now, future)
        self.held[flow.id] = held
        return held

    def let_go(self, flow_id: int) -> None:
        self.held.pop(flow_id, None)

    # Rules

    def _changed(self) -> None:
        self.rules.refresh()
        self.sink.emit(RulesChanged(len(self.rules)))
        if self.on_change is not None:
            self.on_change()

    def _rules(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"rules": self.rules.to_wire()}

    def _add_rule(self, args: dict[str, Any]) -> dict[str, Any]:
        try:
            rule = self.rules.add(args.get("rule"))
        except RuleError as exc:
            raise ValueError(str(exc)) from None
        self._changed()
        return {"id": rule.id, "error": rule.error}

    def _set_rules(self, args: dict[str, Any]) -> dict[str, Any]:
        values = args.get("rules")
        if not isinstance(values, list | tuple):
            raise ProtocolError("'set_rules' takes a list of rules")
        try:
            self.rules.replace(values)
        except RuleError as exc:
            raise ValueError(str(exc)) from None
        self._changed()
        return {"rules": self.rules.to_wire()}

    def _update_rule(self, args: dict[str, Any]) -> dict[str, Any]:
        """Change a rule: ``rule`` (its whole file form), ``enabled``,
        ``index`` (its place in the list); what is not given stays."""
        rule_id = field(args, "id", int, "update_rule")
        rule = self.rules.get(rule_id)
        if rule is None:
            raise LookupError(f"no rule {rule_id}")
        enabled, index, value = args.get("enabled"), args.get("index"), args.get("rule")
        if enabled is not None and not isinstance(enabled, bool):
            raise ProtocolError("'enabled' must be true or false")
        if index is not None and type(index) is not int:
            raise ProtocolError("'index' must be a position in the list")
        if value is not None:
            try:
                rule = self.rules.update(rule_id, value)
            except RuleError as exc:
                raise ValueError(str(exc)) from None
        if enabled is not None:
            rule.enabled = enabled
        if index is not None:
            self.rules.move(rule_id, index)
        self._changed()
        return {"error": rule.error}

    def _remove_rule(self, args: dict[str, Any]) -> dict[str, Any]:
        rule_id = field(args, "id", int, "remove_rule")
        if not self.rules.remove(rule_id):
            raise LookupError(f"no rule {rule_id}")
        self._changed()
        return {}

    # Held flows

    def _paused(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"paused": [_summary(held) for held in self.held.values()]}

    def _find(self, args: dict[str, Any], op: str) -> Hold:
        flow_id = field(args, "id", int, op)
        held = self.held.get(flow_id)
        if held is None or held.future.done():
            raise LookupError(f"flow {flow_id} is not paused")
        return held

    def _paused_flow(self, args: dict[str, Any]) -> dict[str, Any]:
        """A held flow as its editor shows it: the head, and the body
        decoded when it can be."""
        held = self._find(args, "paused_flow")
        message = held.flow.request if held.phase == REQUEST else held.flow.response
        assert message is not None
        body, decoded = held.body, True
        encoding = find_header(message.headers, b"content-encoding")
        if encoding and not held.head_only:
            try:
                body = decode_body(held.body, encoding).data
            except DecodeError:
                decoded = False
        return {
            **_summary(held),
            "headers": [list(pair) for pair in message.headers],
            "body": body,
            "decoded": decoded,
            "encoding": (encoding or b"").decode("latin-1"),
        }

    def _resume(self, args: dict[str, Any]) -> dict[str, Any]:
        held = self._find(args, "resume")
        try:
            release = _release(held, edits.edit_from_wire(args, held.phase))
        except EditError as exc:
            raise ValueError(f"cannot resume flow {held.flow.id}: {exc}") from None
        held.future.set_result(release)
        return {}

    def _abort(self, args: dict[str, Any]) -> dict[str, Any]:
        held = self._find(args, "abort")
        reset = args.get("reset", False)
        reason = args.get("reason") or ABORTED
        if not isinstance(reset, bool) or not isinstance(reason, str):
            raise ProtocolError("'abort' takes reset (true or false) and a reason (text)")
        if len(reason) > MAX_ABORT_REASON or any(c in reason for c in "\r\n\x00"):
            raise ValueError("an abort reason is one line of text")
        held.future.set_result(Release(abort=True, reset=reset, abort_reason=reason))
        return {}

    def _resume_all(self, args: dict[str, Any]) -> dict[str, Any]:
        ids = [h.flow.id for h in list(self.held.values()) if not h.future.done()]
        for flow_id in ids:
            self.held[flow_id].future.set_result(Release())
        return {"resumed": ids}

    def _abort_all(self, args: dict[str, Any]) -> dict[str, Any]:
        ids = [h.flow.id for h in list(self.held.values()) if not h.future.done()]
        for flow_id in ids:
            self.held[flow_id].future.set_result(Release(abort=True, abort_reason=ABORTED))
        return {"aborted": ids}


def _summary(held: Hold) -> dict[str, Any]:
    flow = held.flow
    response = flow.response if held.phase == RESPONSE else None
    return {
        "id": flow.id,
        "phase": held.phase,
        "since": held.since,
        "method": flow.request.method,
        "url": flow.request.url,
        "status": response.status if response is not None else 0,
        "reason": response.reason if response is not None else "",
        "head_only": held.head_only,
        "body_size": len(held.body),
    }


def _release(held: Hold, edit: Edit) -> Release:
    """Work out what ``edit`` sends, or raise EditError."""
    if edit.empty:
        return Release()
    if held.head_only and (edit.body is not None or edit.remove_encoding):
        raise EditError(
            "only the head can be edited: the body is streamed or over the capture limit"
        )
    flow = held.flow
    message = flow.request if held.phase == REQUEST else flow.response
    assert message is not None
    old_headers = list(message.headers)
    headers = edits.apply_headers(edit, old_headers)
    release = Release(headers=headers)
    if held.phase == REQUEST:
        request = flow.request
        release.method = edit.method or request.method
        if edit.url is not None:
            target = edits.target_of(edit.url)
            release.target = target
            if (target.host, target.port) != (request.host, request.port) and not _names_host(edit):
                release.headers = edits.with_host(headers, target)
    else:
        response = flow.response
        assert response is not None
        release.status = edit.status if edit.status is not None else response.status
        release.reason = edit.reason if edit.reason is not None else response.reason
    body_changed = False
    if edit.body is not None:
        release.headers, release.body = edits.with_body(release.headers or headers, edit.body)
        body_changed = True
    elif edit.remove_encoding and held.body:
        try:
            plain = decode_body(held.body, find_header(old_headers, b"content-encoding")).data
        except DecodeError as exc:
            raise EditError(f"the body does not decode, so its encoding stays: {exc}") from None
        release.headers, release.body = edits.framed(release.headers or headers, len(plain)), plain
        body_changed = True
    elif not held.head_only and release.headers is not None and _reframe(old_headers, held.body):
        # Headers changed and the body did not: keep it framed by its length.
        release.headers = edits.framed(release.headers, len(held.body))
        release.body = held.body
    release.changed = edits.changes(edit, body_changed)
    return release


def _reframe(headers: Headers, body: bytes) -> bool:
    """Whether a held body is sent framed by its length: it has bytes, or
    came chunked. (An empty body keeps the head's framing: a HEAD's answer
    names a length it does not carry.)"""
    return bool(body) or find_header(headers, b"transfer-encoding") is not None


def _names_host(edit: Edit) -> bool:
    named = list(edit.set_headers) + (list(edit.headers) if edit.headers is not None else [])
    return any(name.lower() == b"host" for name, _ in named)
