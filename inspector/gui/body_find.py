"""Where a filter's body terms match in a displayed body: the spans the body
viewer highlights and steps through with F3.

Plain terms match case-insensitively, as the filter itself matches them
(``needle in text.lower()``); regex terms run their own pattern. Spans from
several terms are merged where they overlap, so one stretch of text is one
match. No Qt here: the viewer may run this on a worker thread for a big
body, and positions come out in the UTF-16 units a ``QTextDocument`` counts.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from inspector.core.filter_terms import Value

MAX_MATCHES = 10_000
"""Enough to step through by hand; more would cost seconds of highlighting
for a body that is one long run of the term."""

Span = tuple[int, int]

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


@dataclass(slots=True)
class Matches:
    spans: list[Span] = field(default_factory=list)
    """Start and end of each match, in order, none overlapping."""
    capped: bool = False
    """There were more than ``MAX_MATCHES``; ``spans`` holds the first ones."""


def find_matches(text: str, values: Sequence[Value], limit: int = MAX_MATCHES) -> Matches:
    """The matches of ``values`` in ``text``, as indexes into ``text``."""
    found: list[Span] = []
    # Past the horizon a term that hit the limit stopped looking, so spans
    # of other terms there cannot be put in order against its own.
    horizon = len(text)
    for value in values:
        spans = list(_spans(text, value, limit + 1))
        if len(spans) > limit:
            horizon = min(horizon, spans[-1][0])
        found.extend(spans)
    found.sort()
    merged: list[Span] = []
    for start, end in found:
        if start >= horizon:
            break
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    capped = horizon < len(text) or len(merged) > limit
    return Matches(merged[:limit], capped)


def utf16_spans(text: str, spans: list[Span]) -> list[Span]:
    """``spans`` counted in UTF-16 code units, where each character beyond
    the Basic Multilingual Plane (an emoji) takes two."""
    astral = [m.start() for m in _ASTRAL.finditer(text)]
    if not astral:
        return spans
    return [
        (start + bisect.bisect_left(astral, start), end + bisect.bisect_left(astral, end))
        for start, end in spans
    ]


def document_matches(text: str, values: Sequence[Value]) -> Matches:
    """The matches of ``values`` in a document whose plain text is ``text``,
    in the document's positions."""
    matches = find_matches(text, values)
    matches.spans = utf16_spans(text, matches.spans)
    return matches


def _spans(text: str, value: Value, limit: int) -> Iterator[Span]:
    if value.regex is not None:
        count = 0
        for match in value.regex.finditer(text):
            if match.end() > match.start():
                yield match.span()
                count += 1
                if count == limit:
                    return
        return
    needle = value.text.lower()
    if not needle:
        return
    lowered = text.lower()
    if len(lowered) != len(text):
        # Some character lowers to two (such as "İ"): indexes into the
        # lowered text would drift, so let the regex engine fold case.
        yield from _spans(
            text, Value(value.text, 0, re.compile(re.escape(value.text), re.I)), limit
        )
        return
    at = lowered.find(needle)
    count = 0
    while at >= 0 and count < limit:
        yield at, at + len(needle)
        count += 1
        at = lowered.find(needle, at + len(needle))
