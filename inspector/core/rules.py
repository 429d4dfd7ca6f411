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

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from inspector.core.filter import FilterError, FlowFilter, parse_filter
from inspector.core.filter_terms import Subject
from inspector.core.flow import Flow
from inspector.core.rule_actions import (
    BOTH,
    MAX_TEXT,
    REQUEST,
    RESPONSE,
    Action,
    BreakpointAction,
    RuleError,
    action_from_json,
    problem,
)

__all__ = ["BOTH", "PHASES", "REQUEST", "RESPONSE", "Rule", "RuleError", "RuleSet"]
PHASES = (REQUEST, RESPONSE, BOTH)

MAX_RULES = 1000
MAX_ORIGINS = 4096
"""Hosts and methods whose candidate rules are kept worked out."""


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
    def at_request(self) -> bool:
        """Judged when the request arrives: some action acts there."""
        return any(action.at_request for action in self.actions)

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
    actions = tuple(action_from_json(item) for item in actions_value)
    return Rule(
        rule_id,
        name or _default_name(actions, rule_id),
        match,
        actions,
        enabled=enabled,
        times=times,
    )


def _default_name(actions: tuple[Action, ...], rule_id: int) -> str:
    if len(actions) == 1 and isinstance(actions[0], BreakpointAction):
        return f"Breakpoint {rule_id}"
    return f"Rule {rule_id}"


def compile_rule(rule: Rule, exists: Callable[[str], bool] = os.path.exists) -> Rule:
    """Compile ``rule``'s match once; a rule that cannot work keeps its
    place with ``error`` set (and is skipped)."""
    rule.filter, rule.error = None, ""
    try:
        compiled = parse_filter(rule.match)
    except FilterError as exc:
        rule.error = f"match: {exc}"
        return rule
    for action in rule.actions:
        rule.error = problem(action, exists)
        if rule.error:
            return rule
    if rule.at_request and compiled.uses_response:
        terms = ", ".join(compiled.response_terms)
        acting = sorted({a.type for a in rule.actions if a.at_request})
        rule.error = (
            f"match: {terms} can only be known once the response arrives, and"
            f" {', '.join(acting)} acts on the request"
        )
        if rule.breakpoint is not None:
            rule.error += "; break on the response instead"
        return rule
    rule.filter = compiled
    return rule


Step = tuple[Rule, Action]
"""An action to take, and the rule it comes from."""


@dataclass(slots=True)
class Plan:
    """What the rules do to one flow: decided when its request arrives,
    completed when its response does."""

    request: list[Step] = field(default_factory=list)
    """The request-phase actions, in order, up to a final one."""
    response: list[Step] = field(default_factory=list)
    """The response-phase actions of the rules that matched the request."""
    matched: list[Rule] = field(default_factory=list)

    @property
    def final(self) -> Step | None:
        """The action that answers the flow itself, if any."""
        if self.request and self.request[-1][1].final:
            return self.request[-1]
        return None

    def breakpoint(self, phase: str) -> Rule | None:
        for rule, action in self.request if phase == REQUEST else self.response:
            if isinstance(action, BreakpointAction):
                return rule
        return None


class RuleSet:
    """The rules in order, with their hit counts."""

    def __init__(self) -> None:
        self._rules: list[Rule] = []
        self._next_id = 1
        self._active: tuple[list[Rule], list[Rule]] = ([], [])
        self._by_origin: dict[tuple[int, str, str, str], list[Rule]] = {}
        self._bodies = (False, False)
        """The active rules judged at the request, and those judged at
        the response (their actions all act there)."""

    @property
    def any_active(self) -> bool:
        """Some rule may act (the request path's quick test)."""
        return bool(self._active[0] or self._active[1])

    @property
    def judged_at_response(self) -> bool:
        """Some active rule is judged once the response arrives."""
        return bool(self._active[1])

    @property
    def pausing_any(self) -> bool:
        return any(r.breakpoint is not None for group in self._active for r in group)

    def refresh(self) -> None:
        """Recount the active rules after rules changed."""
        active = [r for r in self._rules if r.active]
        self._active = (
            [r for r in active if r.at_request],
            [r for r in active if not r.at_request],
        )
        self._by_origin.clear()
        requests, responses = (
            any(r.filter is not None and r.filter.needs_bodies for r in group)
            for group in self._active
        )
        self._bodies = (requests, responses)

    def _candidates(self, phase: int, flow: Flow) -> list[Rule]:
        """The active rules of ``phase`` (0 request, 1 response) whose
        host, method (and at the response, status) terms let ``flow``
        through: worked out once per host, method and status, so a flow
        meets only the rules that may match it (most traffic goes to a
        few hosts)."""
        request, response = flow.request, flow.response
        status = str(response.status) if phase and response is not None else ""
        key = (phase, request.host, request.method, status)
        found = self._by_origin.get(key)
        if found is None:
            if len(self._by_origin) >= MAX_ORIGINS:
                self._by_origin.clear()
            fields = {"host": request.host, "method": request.method}
            if status:
                fields["status"] = status
            found = [
                rule
                for rule in self._active[phase]
                if rule.filter is not None
                and all(
                    test(fields[name]) if name in fields else name == "path"
                    for name, test in rule.filter.guards
                )
            ]
            self._by_origin[key] = found
        return found

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
        rules = []
        for i, value in enumerate(values):
            try:
                rules.append(compile_rule(rule_from_json(value, self._next_id + i)))
            except RuleError as exc:
                raise RuleError(f"rule {i + 1}: {exc}") from None
        self._next_id += len(rules)
        self._rules = rules
        self.refresh()
        return list(rules)

    def update(self, rule_id: int, value: Any) -> Rule:
        """Rule ``rule_id`` rewritten from a file form, keeping its id,
        place and hits; RuleError when malformed, LookupError when gone."""
        old = self.get(rule_id)
        if old is None:
            raise LookupError(f"no rule {rule_id}")
        rule = compile_rule(rule_from_json(value, rule_id))
        rule.hits = old.hits
        self._rules[self._rules.index(old)] = rule
        self.refresh()
        return rule

    def remove(self, rule_id: int) -> bool:
        rule = self.get(rule_id)
        if rule is None:
            return False
        self._rules.remove(rule)
        self.refresh()
        return True

    def move(self, rule_id: int, index: int) -> bool:
        """Put a rule at ``index`` (rules apply in order)."""
        rule = self.get(rule_id)
        if rule is None:
            return False
        self._rules.remove(rule)
        self._rules.insert(max(0, min(index, len(self._rules))), rule)
        self.refresh()
        return True

    def to_wire(self) -> list[dict[str, Any]]:
        return [rule.to_wire() for rule in self._rules]

    # Deciding

    def needs_bodies(self, phase: str) -> bool:
        """Some rule judged at ``phase`` reads a body: the flow's body
        must be at hand before it is judged."""
        return self._bodies[0 if phase == REQUEST else 1]

    def plan_request(self, flow: Flow, pause: bool = True) -> Plan:
        """The rules that match ``flow``'s request, each counted as a hit,
        and their actions; without ``pause``, breakpoints are left out
        (replays and composed requests never stop at one)."""
        plan = Plan()
        for rule in self._matching(0, flow, plan):
            for action in _actions(rule, pause):
                if action.at_request:
                    plan.request.append((rule, action))
                    if action.final:
                        return plan
                if action.at_response:
                    plan.response.append((rule, action))
        return plan

    def plan_response(self, flow: Flow, plan: Plan, pause: bool = True) -> Plan:
        """Complete ``plan`` once the response head (and, when a rule
        reads it, the body) is known: the rules judged there that match."""
        for rule in self._matching(1, flow, plan):
            plan.response.extend((rule, action) for action in _actions(rule, pause))
        return plan

    def _matching(self, phase: int, flow: Flow, plan: Plan) -> Iterator[Rule]:
        """The rules of ``phase`` that match ``flow``, in order, each
        counted as a hit (and in ``plan``) as it is found."""
        judge = _Judge(flow)
        for rule in self._candidates(phase, flow):
            if judge(rule):
                rule.hits += 1
                plan.matched.append(rule)
                if not rule.active:
                    self.refresh()  # spent
                yield rule


def _actions(rule: Rule, pause: bool) -> Iterator[Action]:
    """``rule``'s actions, less its breakpoints unless ``pause``."""
    for action in rule.actions:
        if pause or not isinstance(action, BreakpointAction):
            yield action


class _Judge:
    """Judges candidate rules (their host and method terms passed) on one
    flow: each rule's path terms on the request itself first, and the
    whole expression (on a row built once, on first need) only for the
    rules those let through."""

    __slots__ = ("_flow", "_path", "_subject")

    def __init__(self, flow: Flow) -> None:
        self._flow = flow
        self._path = flow.request.target.partition("?")[0]
        self._subject: Subject | None = None

    def __call__(self, rule: Rule) -> bool:
        compiled = rule.filter
        assert compiled is not None
        path = self._path
        for name, test in compiled.guards:
            if name == "path" and not test(path):
                return False
        if compiled.only_guards:
            return True
        if self._subject is None:
            self._subject = Subject(self._flow)
        return compiled.matches_subject(self._subject)
