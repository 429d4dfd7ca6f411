"""Judging a session file's flows with a filter: the body search.

A filter with header or body terms (``FlowFilter.needs_flow``) cannot be
judged from the summary rows the window holds. This module judges it from
a session file, a page of flows at a time, outside the engine and the
window (``inspector session search`` runs it in a helper process):

- ``scan`` reads every flow after an id, in id order, and says of each
  whether it matches. A row the summary alone decides (surely in, surely
  out) is judged without reading its head; the others are loaded, with
  their bodies only when a term reads them, and each body is decoded once.
- ``check`` judges given ids, those of them in the file; the window asks
  this of flows that finished after the scan passed them.

Each page is its own short read, so a long search never holds a snapshot
of the file open against its writer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from inspector.core.filter import FlowFilter
from inspector.core.session import Session, SessionError
from inspector.core.summary import FlowRow, check_row, row_of

PAGE = 500


@dataclass(slots=True)
class Verdicts:
    """One page's verdicts, and how far the search has got."""

    matches: list[int] = field(default_factory=list)
    misses: list[int] = field(default_factory=list)
    done: int = 0
    """Flows judged so far (this page included)."""
    total: int = 0
    """Flows the search judges in all (as counted when it started)."""
    last: int = 0
    """The highest id judged so far."""


def _row(values: tuple[Any, ...]) -> FlowRow | None:
    """A stored summary row, or None when it does not read as one (a file
    written by an older version: the flow is then judged whole)."""
    return row_of(values) if check_row(values) else None


def judge(
    session: Session, flow_filter: FlowFilter, flow_id: int, values: tuple[Any, ...], head: bytes
) -> bool:
    """Whether one flow of ``session`` matches. Raises SessionError for a
    damaged record."""
    row = _row(values)
    if row is not None:
        if not flow_filter(row):
            return False
        if flow_filter.surely(row):
            return True
    flow = session.load(flow_id, head, bodies=flow_filter.needs_bodies)
    return flow_filter.matches_flow(flow)


def _judge_page(
    session: Session,
    flow_filter: FlowFilter,
    heads: list[tuple[int, tuple[Any, ...], bytes]],
    verdicts: Verdicts,
) -> None:
    for flow_id, values, head in heads:
        try:
            matched = judge(session, flow_filter, flow_id, values, head)
        except SessionError:
            matched = False  # a damaged record matches nothing; the rest go on
        (verdicts.matches if matched else verdicts.misses).append(flow_id)
        verdicts.last = max(verdicts.last, flow_id)


def scan(
    session: Session, flow_filter: FlowFilter, after: int = 0, page: int = PAGE
) -> Iterator[Verdicts]:
    """Every flow after ``after``, judged, a page per step (at least one
    step, even for an empty file). Flows written while it runs are judged
    too when their ids come after the page being read."""
    total = session.count_after(after)
    done = 0
    last = after
    while True:
        heads = session.heads(last, page)
        verdicts = Verdicts(total=total, last=last)
        _judge_page(session, flow_filter, heads, verdicts)
        done += len(heads)
        verdicts.done = done
        verdicts.total = max(total, done)
        last = verdicts.last
        yield verdicts
        if len(heads) < page:
            return


def check(
    session: Session, flow_filter: FlowFilter, ids: Iterable[int]
) -> tuple[Verdicts, set[int]]:
    """Verdicts for those of ``ids`` in the file, and the ids not in it
    (not written yet, or deleted)."""
    wanted = set(ids)
    heads = session.heads_of(wanted)
    verdicts = Verdicts()
    _judge_page(session, flow_filter, heads, verdicts)
    verdicts.done = verdicts.total = len(heads)
    return verdicts, wanted.difference(entry[0] for entry in heads)
