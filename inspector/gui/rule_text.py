"""Rules as the window words and builds them: the action types and their
labels, a new action of each type, a line saying what a rule does, the
check the engine will run on a draft, and a mock made from a flow.

Rules travel in their file form (docs/rules.md); the engine's list adds
``id``, ``hits`` and ``error``. Nothing here talks to the engine or draws.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inspector.core.decode import DecodeError, decode_body
from inspector.core.flow import Flow
from inspector.core.rules import RuleError, compile_rule, rule_from_json
from inspector.gui.breakpoint_rules import path_match

ACTION_LABELS: dict[str, str] = {
    "map_remote": "Map Remote",
    "map_local": "Map Local",
    "set_header": "Set Header",
    "remove_header": "Remove Header",
    "replace_body": "Replace Body",
    "block": "Block",
    "reply": "Reply (mock)",
    "delay": "Delay",
    "throttle": "Throttle",
    "breakpoint": "Breakpoint",
}
"""Every action type, in the order the editor offers them."""

THROTTLE_PRESETS: dict[str, tuple[int, int, int]] = {
    "3G": (780, 330, 100),
    "Slow 4G": (4000, 1500, 60),
    "DSL": (2000, 256, 5),
}
"""Down and up kbit/s and latency in ms (docs/rules.md, "throttle")."""

LONG = 36
"""Longer values are cut short (with an ellipsis) in a summary."""


def default_action(kind: str) -> dict[str, Any]:
    """A new action of ``kind``, as the editor starts it."""
    defaults: dict[str, dict[str, Any]] = {
        "map_remote": {"to": ""},
        "map_local": {"path": ""},
        "set_header": {"on": "request", "name": "", "value": ""},
        "remove_header": {"on": "request", "name": ""},
        "replace_body": {"on": "response", "pattern": "", "with": ""},
        "block": {"status": 403},
        "reply": {"status": 200, "headers": {}, "body": ""},
        "delay": {"ms": 500},
        "throttle": {"down_kbps": 780, "up_kbps": 330, "latency_ms": 100},
        "breakpoint": {"on": "request"},
    }
    return {"type": kind, **defaults[kind]}


def _short(text: str, limit: int = LONG) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _rate(value: object) -> str:
    return f"{value:g}" if isinstance(value, int | float) and value else "∞"


def action_summary(action: Mapping[str, Any]) -> str:
    """One action in a few words: ``map_remote → https://staging…``."""
    kind = str(action.get("type", "?"))
    on = " (response)" if action.get("on") == "response" else ""
    if kind == "map_remote":
        return f"map_remote → {_short(str(action.get('to', '')))}"
    if kind == "map_local":
        strip = f" (less {action['strip']})" if action.get("strip") else ""
        return f"map_local ← {_short(str(action.get('path', '')))}{strip}"
    if kind == "set_header":
        value = _short(str(action.get("value", "")), 20)
        return f"set_header {action.get('name', '')}: {value}{on}"
    if kind == "remove_header":
        return f"remove_header {action.get('name', '')}{on}"
    if kind == "replace_body":
        side = " (request)" if action.get("on") == "request" else ""
        pattern, replacement = _short(str(action.get("pattern", "")), 20), action.get("with", "")
        return f"replace_body /{pattern}/ → {_short(str(replacement), 20)!r}{side}"
    if kind == "block":
        return "block (reset)" if action.get("reset") else f"block {action.get('status', 403)}"
    if kind == "reply":
        headers = action.get("headers") or {}
        types = [v for k, v in headers.items() if str(k).lower() == "content-type"]
        body = str(action.get("body", ""))
        kind_text = f" {_short(str(types[0]), 24)}" if types else ""
        return f"reply {action.get('status', 200)}{kind_text}, {len(body.encode())} bytes"
    if kind == "delay":
        return f"delay {action.get('ms', 0)} ms"
    if kind == "throttle":
        down, up = _rate(action.get("down_kbps")), _rate(action.get("up_kbps"))
        return f"throttle ↓{down} ↑{up} kbit/s, +{action.get('latency_ms', 0)} ms"
    if kind == "breakpoint":
        return f"breakpoint ({action.get('on', 'request')})"
    return kind


def rule_summary(rule: Mapping[str, Any]) -> str:
    """What a rule does: its actions' summaries, in order."""
    actions = rule.get("actions") or ()
    return "; ".join(action_summary(a) for a in actions if isinstance(a, Mapping))


def rule_problem(rule: Mapping[str, Any]) -> str:
    """Why ``rule`` (a file form) would be refused or disabled by the
    engine, in its own words; "" when it can work."""
    try:
        compiled = compile_rule(rule_from_json(rule, 0))
    except RuleError as exc:
        return str(exc)
    return compiled.error


def mock_from_flow(flow: Flow) -> tuple[dict[str, Any], str]:
    """A ``reply`` action answering as ``flow``'s response did (status,
    content type, decoded body), and a note on what could not be kept
    ("" when all of it was)."""
    response = flow.response
    if response is None:
        return default_action("reply"), "the flow has no response yet: an empty 200"
    headers: dict[str, str] = {}
    content_type = response.header(b"content-type")
    if content_type is not None:
        headers["Content-Type"] = content_type.decode("latin-1")
    note = ""
    try:
        data = decode_body(response.body, response.header(b"content-encoding")).data
    except DecodeError as exc:
        data, note = b"", f"body left out: {exc}"
    if response.body_truncated or response.body_size > len(response.body):
        note = note or "body cut at the capture limit"
    try:
        body = data.decode("utf-8")
    except UnicodeDecodeError:
        body, note = "", "body left out: it is not text (UTF-8)"
    status = response.status if 200 <= response.status <= 999 else 200
    return {"type": "reply", "status": status, "headers": headers, "body": body}, note


def rule_for_flow(host: str, path: str, action: Mapping[str, Any]) -> dict[str, Any]:
    """A new rule on a flow's host and path (its query left out) doing
    ``action``."""
    kind = str(action.get("type"))
    label = "Mock" if kind == "reply" else ACTION_LABELS.get(kind, "Rule")
    return {
        "name": f"{label} {host}",
        "match": path_match(host, path),
        "enabled": True,
        "times": None,
        "actions": [dict(action)],
    }
