"""Breakpoint rules as the window handles them: built from a dialog or a
flow's row, checked the way the engine will check them, described in a
line, and reduced to the form kept in the settings.

A rule travels in its file form (``core/rules.py``): ``{"name", "match",
"enabled", "times", "actions": [{"type": "breakpoint", "on": ...}]}``;
the engine's list adds ``id``, ``hits`` and ``error``. Nothing here talks
to the engine or draws anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inspector.core.rules import BOTH, REQUEST, RESPONSE, RuleError, compile_rule, rule_from_json

ON_LABELS = {REQUEST: "request", RESPONSE: "response", BOTH: "both"}
PLAIN = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/:[]%!$&'*+,;=@?"
)
"""Characters a filter value may hold unquoted (docs/filter.md, "word")."""


def breakpoint_rule(
    match: str, on: str = REQUEST, times: int | None = None, name: str = ""
) -> dict[str, Any]:
    """A new, enabled breakpoint in its file form."""
    rule: dict[str, Any] = {
        "match": match,
        "enabled": True,
        "times": times,
        "actions": [{"type": "breakpoint", "on": on}],
    }
    if name:
        rule["name"] = name
    return rule


def problem(match: str, on: str) -> str:
    """Why a breakpoint on ``match`` at ``on`` cannot work ("" when it
    can): the engine's own words, from the same check it runs."""
    try:
        rule = compile_rule(rule_from_json(breakpoint_rule(match, on), 0))
    except RuleError as exc:
        return str(exc)
    return rule.error.removeprefix("match: ")


def quote_value(text: str) -> str:
    """``text`` as a filter term's value: bare when the language reads it
    as plain text, quoted otherwise (spaces, parentheses, quotes, and a
    value between slashes, which would be a regex)."""
    regex_like = len(text) > 1 and text.startswith("/") and text.endswith("/")
    if text and all(c in PLAIN for c in text) and not regex_like:
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def host_match(host: str) -> str:
    """The expression for every flow to ``host``."""
    return f"host:{quote_value(host)}"


def path_match(host: str, path: str) -> str:
    """The expression for flows to ``host`` at ``path`` (its query left
    out, as ``path:`` judges it)."""
    bare = path.split("?", 1)[0] or "/"
    return f"{host_match(host)} path:{quote_value(bare)}"


def on_of(rule: Mapping[str, Any]) -> str:
    """Where a rule breaks: request, response or both ("" for none)."""
    for action in rule.get("actions") or ():
        if isinstance(action, Mapping) and action.get("type") == "breakpoint":
            return str(action.get("on", REQUEST))
    return ""


def is_breakpoint(rule: Mapping[str, Any]) -> bool:
    return bool(on_of(rule))


def stored_form(rule: Mapping[str, Any]) -> dict[str, Any]:
    """What the settings keep of a rule the engine reported: its file
    form, without the engine's id, hits and error."""
    name = str(rule.get("name") or "")
    if name in (f"Breakpoint {rule.get('id')}", f"Rule {rule.get('id')}"):
        name = ""  # the engine's default, named after an id the next engine renumbers
    return {
        "name": name,
        "match": rule.get("match", ""),
        "enabled": bool(rule.get("enabled", True)),
        "times": rule.get("times"),
        "actions": [dict(a) for a in rule.get("actions") or () if isinstance(a, Mapping)],
    }


def remaining(rule: Mapping[str, Any]) -> str:
    """``only 2 more`` while a limited rule has flows left, ``spent``
    once it has none; "" for a rule without a limit."""
    times = rule.get("times")
    if not isinstance(times, int):
        return ""
    left = times - int(rule.get("hits", 0))
    return f"only {left} more" if left > 0 else "spent"


def hits_text(rule: Mapping[str, Any]) -> str:
    hits = int(rule.get("hits", 0))
    text = f"{hits} hit" + ("" if hits == 1 else "s")
    left = remaining(rule)
    return f"{text}, {left}" if left else text
