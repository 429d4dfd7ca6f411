"""The flow filter: what the filter box (and rules) accept.

``parse_filter`` reads an expression (grammar and terms in docs/filter.md:
``host:api status:4xx or -type:image``, ``body:/token=\\w{20}/``) and
compiles it once into closures, so judging a million flows costs about
one Python call per term and flow.

A ``FlowFilter`` judges two things. Called on a summary row
(``core.summary.FlowRow``), what the window holds of every flow, it
answers every term a row can. Header and body terms need the whole flow:
on a row they count as unknown, and the row predicate accepts a row when
some outcome of them would make the expression true (``body:x`` accepts
every row, ``-body:x`` too, ``body:x host:api`` the rows on an api host).
``needs_flow`` says such terms are present; ``matches_flow`` then gives
the exact verdict on a ``core.flow.Flow``, so a row pass followed by a
flow pass over what it kept narrows to the right flows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from inspector.core.filter_parse import And, Node, Not, Parser
from inspector.core.filter_terms import (
    FilterError,
    FlowTest,
    Guard,
    RowTest,
    Subject,
    Term,
    Value,
)
from inspector.core.flow import Flow
from inspector.core.summary import FlowRow

__all__ = ["FilterError", "FlowFilter", "Value", "parse_filter"]

Predicate = RowTest
S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class FlowFilter:
    text: str
    predicate: Predicate | None
    """The row predicate; None when the filter is empty (everything
    matches)."""
    flow_predicate: FlowTest | None = None
    needs_flow: bool = False
    """Some terms (headers, bodies) are only known from a whole flow: the
    row predicate lets through every row they might match, and
    ``matches_flow`` decides."""
    response_terms: list[str] = field(default_factory=list)
    """The terms, as written, whose verdict depends on the response."""
    certain: Predicate | None = None
    """With ``needs_flow``: the rows the expression surely accepts whatever
    their headers and bodies (``predicate`` accepts those it may)."""
    needs_bodies: bool = False
    """Some term reads a body (``needs_flow`` is then true too)."""
    body_values: list[tuple[str, Value]] = field(default_factory=list)
    """The body terms not under a ``not``: side (``req``, ``res``, or empty
    for either) and value, what a body viewer highlights."""
    guards: tuple[Guard, ...] = ()
    """Host, method and path terms every match must pass (those of the
    top-level ``and``): a flow failing one is not a match."""
    only_guards: bool = False
    """The expression is nothing but its guards."""

    def __call__(self, flow: FlowRow) -> bool:
        return self.predicate is None or self.predicate(flow)

    def surely(self, flow: FlowRow) -> bool:
        """Whether the row alone shows the flow matches (always the same
        as calling the filter when ``needs_flow`` is false)."""
        if not self.needs_flow:
            return self(flow)
        return self.certain is not None and self.certain(flow)

    def matches_flow(self, flow: Flow) -> bool:
        """The exact verdict on a whole flow, every term included."""
        return self.flow_predicate is None or self.flow_predicate(Subject(flow))

    def matches_subject(self, subject: Subject) -> bool:
        """``matches_flow`` on a flow already made a ``Subject``: judging
        many filters on one flow (the rules) builds its row once."""
        return self.flow_predicate is None or self.flow_predicate(subject)

    @property
    def uses_response(self) -> bool:
        """Whether a flow's verdict can change once its response arrives."""
        return bool(self.response_terms)


def parse_filter(text: str) -> FlowFilter:
    """Compile ``text``; raises FilterError (with a ``position``) when it
    is malformed."""
    node = Parser(text).parse()
    if node is None:
        return FlowFilter(text, None, only_guards=True)
    terms = list(_terms(node))
    needs_flow = any(term.row is None for term in terms)
    possible, certain = _maybe(node) if needs_flow else (_row(node), None)
    conjuncts = node.nodes if isinstance(node, And) else [node]
    guards = tuple(n.guard for n in conjuncts if isinstance(n, Term) and n.guard is not None)
    return FlowFilter(
        text,
        possible,
        _flow(node),
        needs_flow,
        [term.source for term in terms if term.uses_response],
        certain,
        any(term.body is not None for term in terms),
        [term.body for term in _terms(node, positive_only=True) if term.body is not None],
        guards,
        len(guards) == len(conjuncts),
    )


def _terms(node: Node, positive_only: bool = False) -> list[Term]:
    """The terms of ``node``; with ``positive_only``, those under an even
    number of ``not``s (``not not body:x`` still looks for x)."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Not):
        if not positive_only:
            return _terms(node.node)
        inner = node.node
        return _terms(inner.node, True) if isinstance(inner, Not) else []
    return [term for child in node.nodes for term in _terms(child, positive_only)]


def _combine(tests: list[Callable[[S], bool]], every: bool) -> Callable[[S], bool]:
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        first, second = tests
        if every:
            return lambda item: first(item) and second(item)
        return lambda item: first(item) or second(item)
    if every:
        return lambda item: all(test(item) for test in tests)
    return lambda item: any(test(item) for test in tests)


def _negate(test: Callable[[S], bool]) -> Callable[[S], bool]:
    return lambda item: not test(item)


def _row(node: Node) -> RowTest:
    """The exact row predicate of a tree without flow-only terms."""
    if isinstance(node, Term):
        assert node.row is not None
        return node.row
    if isinstance(node, Not):
        return _negate(_row(node.node))
    return _combine([_row(child) for child in node.nodes], isinstance(node, And))


def _always(row: FlowRow) -> bool:
    return True


def _never(row: FlowRow) -> bool:
    return False


def _maybe(node: Node) -> tuple[RowTest, RowTest]:
    """Row predicates for a tree whose flow-only terms are unknown: whether
    it may be true, and whether it surely is (three-valued logic, each
    test a plain two-valued closure)."""
    if isinstance(node, Term):
        if node.row is None:
            return _always, _never
        return node.row, node.row
    if isinstance(node, Not):
        possible, certain = _maybe(node.node)
        return _negate(certain), _negate(possible)
    pairs = [_maybe(child) for child in node.nodes]
    every = isinstance(node, And)
    return (
        _combine([pair[0] for pair in pairs], every),
        _combine([pair[1] for pair in pairs], every),
    )


def _flow(node: Node) -> FlowTest:
    if isinstance(node, Term):
        return node.flow
    if isinstance(node, Not):
        return _negate(_flow(node.node))
    return _combine([_flow(child) for child in node.nodes], isinstance(node, And))
