"""Rules: a match (a filter expression, docs/filter.md) and what to do to
the flows it matches, in the shape of the rules file.

A rule is ``{"name", "match", "enabled", "times", "actions": [...]}``; a
breakpoint is a rule whose one action is ``{"type": "breakpoint", "on":
"request" | "response" | "both"}``. ``rule_from_json`` checks a rule's
shape (a wrong shape is a ``RuleError``: the whole request or file is
refused); ``compile_rule`` then compiles its match once, and a rule that
is well formed but cannot work (a match that does not parse, a response
term where only the request is known) keeps its place in the list,
disabled, with ``error`` saying why.

``RuleSet`` holds the list in order and answers, for a flow at a point of
its life, which breakpoint holds it. Pure: no sockets, no clocks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from inspector.core.filter import FilterError, FlowFilter, parse_filter
from inspector.core.flow import Flow

REQUEST = "request"
RESPONSE = "response"
BOTH = "both"
PHASES = (REQUEST, RESPONSE, BOTH)
MAX_RULES = 1000
MAX_TEXT = 4096
"""Longest name or match expression accepted."""


class RuleError(ValueError):
    """A rule (or a list of them) is not in the rules file's shape."""


@dataclass(frozen=True, slots=True)
class BreakpointAction:
    on: str = REQUEST

    type = "breakpoint"

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "on": self.on}

    @property
    def at_request(self) -> bool:
        return self.on != RESPONSE

    @property
    def at_response(self) -> bool:
        return self.on != REQUEST


Action = BreakpointAction


@dataclass(slots=True)
class Rule:
    id: int
    name: str
    match: str
    actions: tuple[Action, ...]
    enabled: bool = True
    times: int | None = None
    """Only the next this many flows; None for every flow."""
    hits: int = 0
    """Flows this rule has acted on."""
    error: str = ""
    """Why the rule cannot work (it is then skipped), or empty."""
    filter: FlowFilter | None = field(default=None, repr=False, compare=False)

    @property
    def active(self) -> bool:
        """Enabled, working, and not spent."""
        return (
            self.enabled
            and not self.error
            and self.filter is not None
            and (self.times is None or self.hits < self.times)
        )

    @property
    def breakpoint(self) -> BreakpointAction | None:
        for action in self.actions:
            if isinstance(action, BreakpointAction):
                return action
        return None

    def to_json(self) -> dict[str, Any]:
        """The rule as the rules file holds it."""
        return {
            "name": self.name,
            "match": self.match,
            "enabled": self.enabled,
            "times": self.times,
            "actions": [action.to_json() for action in self.actions],
        }

    def to_wire(self) -> dict[str, Any]:
        """The rule as the engine reports it: the file's fields, its id,
        its hits and its error."""
        return {"id": self.id, **self.to_json(), "hits": self.hits, "error": self.error}


def rule_from_json(value: Any, rule_id: int) -> Rule:
    """A rule from its file form; raises RuleError naming what is wrong."""
    if not isinstance(value, Mapping):
        raise RuleError("a rule must be an object")
    unknown = set(value) - {"name", "match", "enabled", "times", "actions", "id", "hits", "error"}
    if unknown:
        raise RuleError(f"a rule has no field {sorted(unknown)[0]!r}")
    match = value.get("match", "")
    if not isinstance(match, str) or len(match) > MAX_TEXT:
        raise RuleError("a rule's 'match' must be a filter expression (text)")
    name = value.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > MAX_TEXT):
        raise RuleError("a rule's 'name' must be text")
    enabled = value.get("enabled", True)
    if not isinstance(enabled, bool):
        raise RuleError("a rule's 'enabled' must be true or false")
    times = value.get("times")
    if times is not None and (type(times) is not int or times < 1):
        raise RuleError("a rule's 'times' must be a positive whole number or null")
    actions_value = value.get("actions")
    if not isinstance(actions_value, list | tuple) or not actions_value:
        raise RuleError("a rule needs a non-empty list of 'actions'")
    actions = tuple(_action(item) for item in actions_value)
    return Rule(
        rule_id,
        name or _default_name(actions, rule_id),
        match,
        actions,
        enabled=enabled,
        times=times,
    )


def _action(value: Any) -> Action:
    if not isinstance(value, Mapping):
        raise RuleError("an action must be an object with a 'type'")
    kind = value.get("type")
    if kind == "breakpoint":
        unknown = set(value) - {"type", "on"}
        if unknown:
            raise RuleError(f"a breakpoint action has no field {sorted(unknown)[0]!r}")
        on = value.get("on", REQUEST)
        if on not in PHASES:
            raise RuleError("a breakpoint's 'on' must be request, response or both")
        return BreakpointAction(on)
    if not isinstance(kind, str):
        raise RuleError("an action needs a 'type'")
    raise RuleError(f"unknown action type {kind!r}")


def _default_name(actions: tuple[Action, ...], rule_id: int) -> str:
    if len(actions) == 1 and isinstance(actions[0], BreakpointAction):
        return f"Breakpoint {rule_id}"
    return f"Rule {rule_id}"


def compile_rule(rule: Rule) -> Rule:
    """Compile ``rule``'s match once; a rule that cannot work keeps its
    place with ``error`` set (and is skipped)."""
    rule.filter, rule.error = None, ""
    try:
        compiled = parse_filter(rule.match)
    except FilterError as exc:
        rule.error = f"match: {exc}"
        return rule
    pause = rule.breakpoint
    if pause is not None and pause.on == REQUEST and compiled.uses_response:
        terms = ", ".join(compiled.response_terms)
        rule.error = (
            f"match: {terms} can only be known once the response arrives;"
            " break on the response (or both) instead"
        )
        return rule
    rule.filter = compiled
    return rule


class RuleSet:
    """The rules in order, with their hit counts."""

    def __init__(self) -> None:
        self._rules: list[Rule] = []
        self._next_id = 1
        self.pausing_any = False
        """Some breakpoint is active (the request path's quick test)."""

    def refresh(self) -> None:
        """Recount ``pausing_any`` after rules changed."""
        self.pausing_any = any(r.breakpoint is not None and r.active for r in self._rules)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    def get(self, rule_id: int) -> Rule | None:
        for rule in self._rules:
            if rule.id == rule_id:
                return rule
        return None

    def add(self, value: Any) -> Rule:
        """Append a rule from its file form; RuleError when malformed."""
        if len(self._rules) >= MAX_RULES:
            raise RuleError(f"at most {MAX_RULES} rules")
        rule = compile_rule(rule_from_json(value, self._next_id))
        self._next_id += 1
        self._rules.append(rule)
        self.refresh()
        return rule

    def replace(self, values: Iterable[Any]) -> list[Rule]:
        """Replace every rule; all or nothing (RuleError changes nothing)."""
        values = list(values)
        if len(values) > MAX_RULES:
            raise RuleError(f"at most {MAX_RULES} rules")
        rules = [
            compile_rule(rule_from_json(value, self._next_id + i)) for i, value in enumerate(values)
        ]
        self._next_id += len(rules)
        self._rules = rules
        self.refresh()
        return list(rules)

    def remove(self, rule_id: int) -> bool:
        rule = self.get(rule_id)
        if rule is None:
            return False
        self._rules.remove(rule)
        self.refresh()
        return True

    def to_wire(self) -> list[dict[str, Any]]:
        return [rule.to_wire() for rule in self._rules]

    # Breakpoints

    def pausing(self, phase: str) -> list[Rule]:
        """The active rules that may hold a flow at ``phase``."""
        found = []
        for rule in self._rules:
            pause = rule.breakpoint
            if pause is None or not rule.active:
                continue
            if pause.at_request if phase == REQUEST else pause.at_response:
                found.append(rule)
        return found

    def needs_bodies(self, phase: str) -> bool:
        """Some rule that may hold a flow at ``phase`` reads a body: the
        flow's body must be at hand before it is judged."""
        return any(r.filter is not None and r.filter.needs_bodies for r in self.pausing(phase))

    def breakpoint_for(self, flow: Flow, phase: str, held_before: int | None = None) -> Rule | None:
        """The first breakpoint that holds ``flow`` at ``phase``, counted
        as a hit; None when none does. ``held_before`` names a rule that
        already held this flow at its request: it holds the response too
        (if it breaks on both) without counting a second hit or being
        spent in between."""
        if phase == RESPONSE and held_before is not None:
            rule = self.get(held_before)
            pause = rule.breakpoint if rule is not None else None
            if (
                rule is not None
                and pause is not None
                and pause.at_response
                and rule.enabled
                and rule.filter is not None
                and rule.filter.matches_flow(flow)
            ):
                return rule
        for rule in self.pausing(phase):
            if rule.id == held_before:
                continue
            assert rule.filter is not None
            if rule.filter.matches_flow(flow):
                rule.hits += 1
                if not rule.active:
                    self.refresh()  # spent
                return rule
        return None
