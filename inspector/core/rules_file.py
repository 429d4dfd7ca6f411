"""The rules file: ``{"rules": [rule, ...]}`` in JSON (README, "Rules").

``read_rules`` checks the whole file's shape, every rule and action
included, and returns the rules' file forms; a file that is not JSON or
not this shape raises ``RuleError`` with one line saying where. Rules that
are well formed but cannot work are not refused here: the engine keeps
them disabled with their reason (``warnings`` words them for a person).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from inspector.core.rule_actions import RuleError
from inspector.core.rules import MAX_RULES, rule_from_json

MAX_FILE = 32 * 1024 * 1024


def read_rules(text: str | bytes) -> list[dict[str, Any]]:
    """The rules in a rules file's text; RuleError when it is not one."""
    if len(text) > MAX_FILE:
        raise RuleError(f"a rules file is at most {MAX_FILE // (1024 * 1024)} MiB")
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RuleError(f"not JSON: {exc}") from None
    if not isinstance(value, Mapping) or not isinstance(value.get("rules"), list):
        raise RuleError('a rules file is an object with a "rules" list')
    rules = value["rules"]
    if len(rules) > MAX_RULES:
        raise RuleError(f"at most {MAX_RULES} rules")
    for number, rule in enumerate(rules, start=1):
        try:
            rule_from_json(rule, number)
        except RuleError as exc:
            raise RuleError(f"rule {number}: {exc}") from None
    return [dict(rule) for rule in rules]


def write_rules(rules: Iterable[Mapping[str, Any]]) -> str:
    """A rules file holding ``rules`` (file forms, or the engine's rule
    maps, whose id, hits and error are left out)."""
    kept = ("name", "match", "enabled", "times", "actions")
    forms = [{key: rule[key] for key in kept if key in rule} for rule in rules]
    return json.dumps({"rules": forms}, indent=2, ensure_ascii=False) + "\n"


def warnings(rules: Iterable[Mapping[str, Any]]) -> list[str]:
    """One line per rule the engine disabled, naming it and why."""
    return [
        f"rule {number} ({rule.get('name', '')}) disabled: {rule['error']}"
        for number, rule in enumerate(rules, start=1)
        if rule.get("error")
    ]
