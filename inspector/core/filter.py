"""The flow filter: what the filter box accepts.

Whitespace-separated terms, all of which must match:

- a plain word matches a substring of the URL (case-insensitive);
- ``method:GET`` matches the method exactly (case-insensitive);
- ``status:404``, ``status:4xx`` (a class), ``status:error`` (failed
  flows) and ``status:pending`` (no response yet);
- ``host:example`` matches a substring of the host;
- ``type:ws`` (or ``websocket``) matches WebSocket flows, ``type:tunnel``
  CONNECT tunnels, and any other value a substring of the content type
  (``type:json``);
- a leading ``-`` negates a term (``-host:cdn``).

Parsing compiles the terms into one predicate so filtering a million flows
costs one Python call per flow and term. Predicates read a flow's summary
row (``core.summary.FlowRow``): what the window holds of every flow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from inspector.core.flow import FlowState
from inspector.core.summary import FlowRow

Predicate = Callable[[FlowRow], bool]


class FilterError(ValueError):
    """The filter text is malformed; the message says which term."""


@dataclass(frozen=True, slots=True)
class FlowFilter:
    text: str
    predicate: Predicate | None
    """None when the filter is empty (everything matches)."""

    def __call__(self, flow: FlowRow) -> bool:
        return self.predicate is None or self.predicate(flow)

    @property
    def uses_response(self) -> bool:
        """Whether a flow's verdict can change once its response arrives."""
        text = self.text.lower()
        return "status:" in text or "type:" in text


def parse_filter(text: str) -> FlowFilter:
    terms = [_term(word) for word in text.split()]
    if not terms:
        return FlowFilter(text, None)
    if len(terms) == 1:
        return FlowFilter(text, terms[0])

    def all_match(flow: FlowRow) -> bool:
        return all(term(flow) for term in terms)

    return FlowFilter(text, all_match)


def _term(word: str) -> Predicate:
    negate = word.startswith("-") and len(word) > 1
    if negate:
        word = word[1:]
    key, sep, value = word.partition(":")
    if sep and key.lower() in _KEYS:
        if not value:
            raise FilterError(f"'{key}:' needs a value")
        predicate = _KEYS[key.lower()](value)
    else:
        needle = word.lower()

        def predicate(flow: FlowRow) -> bool:
            return needle in flow.url.lower()

    if negate:
        inner = predicate

        def predicate(flow: FlowRow) -> bool:
            return not inner(flow)

    return predicate


def _method(value: str) -> Predicate:
    wanted = value.upper()
    return lambda flow: flow.method == wanted


def _host(value: str) -> Predicate:
    needle = value.lower()
    return lambda flow: needle in flow.host


def _status(value: str) -> Predicate:
    value = value.lower()
    if value == "error":
        return lambda flow: flow.state is FlowState.FAILED
    if value == "pending":
        return lambda flow: not flow.has_response and not flow.finished
    if len(value) == 3 and value[0] in "12345" and value[1:] == "xx":
        low = int(value[0]) * 100
        return lambda flow: flow.has_response and low <= flow.status < low + 100
    if value.isdigit() and len(value) == 3:
        code = int(value)
        return lambda flow: flow.has_response and flow.status == code
    raise FilterError(f"status:{value} is not a status (try 404, 4xx, error or pending)")


def _type(value: str) -> Predicate:
    value = value.lower()
    if value in ("ws", "websocket"):
        return lambda flow: flow.is_websocket
    if value == "tunnel":
        return lambda flow: flow.is_tunnel
    return lambda flow: value in flow.content_type.lower()


_KEYS: dict[str, Callable[[str], Predicate]] = {
    "method": _method,
    "host": _host,
    "status": _status,
    "type": _type,
}
