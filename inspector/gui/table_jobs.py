"""The table's long work, cut into steps so a million rows never hold the
window: sorting ids by a key, filtering rows, and the runs of rows to
remove. Each generator yields its progress (0-100) to the sliced job that
drives it (``jobs.py``) and returns its result.

Sorting: runs of ``SORT_CHUNK`` ids are sorted one per step, then merged a chunk of
output per step. Keys live in flat lists, never in per-row
tuples: a million tuples would cost a long pause just to free. Sorting is
stable, so equal keys keep the ids' order (reversed when descending).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Generator
from typing import Any, Protocol

from inspector.core.mirror import RowMirror
from inspector.core.summary import FlowRow


class RowFilter(Protocol):
    """What the table filters rows with: a ``core.filter.FlowFilter``, or
    the narrowed filter of a body search (``body_search.py``)."""

    @property
    def text(self) -> str: ...

    def __call__(self, row: FlowRow, /) -> bool: ...

    @property
    def uses_response(self) -> bool: ...


SORT_CHUNK = 10_000
FILTER_CHUNK = 4_000
"""Rows a filter step judges: a step is never cut, and a row costs up to
about 3 µs (building it, and a filter of several terms), so a step stays
well within the sliced job's budget of about a frame."""


def sliced_sort(
    ids: list[int],
    key: Callable[[int], Any],
    descending: bool,
    keep: Callable[[int], bool],
) -> Generator[int, None, list[int]]:
    """``ids`` that ``keep`` accepts, ordered by ``key``; yields progress
    and returns the order."""
    chunk_size = SORT_CHUNK
    total = max(len(ids), 1)
    runs: list[tuple[list[Any], list[int]]] = []
    for start in range(0, len(ids), chunk_size):
        chunk = [i for i in ids[start : start + chunk_size] if keep(i)]
        keys = [key(i) for i in chunk]
        order = sorted(range(len(chunk)), key=keys.__getitem__)
        runs.append(([keys[j] for j in order], [chunk[j] for j in order]))
        yield start * 50 // total
    merged: list[int] = []
    heap = [(run_keys[0], n, 0) for n, (run_keys, _) in enumerate(runs) if run_keys]
    heapq.heapify(heap)
    while heap:
        for _ in range(chunk_size):
            if not heap:
                break
            _, n, pos = heap[0]
            run_keys, run_ids = runs[n]
            merged.append(run_ids[pos])
            pos += 1
            if pos < len(run_ids):
                heapq.heapreplace(heap, (run_keys[pos], n, pos))
            else:
                heapq.heappop(heap)
                runs[n] = ([], [])
        yield 50 + len(merged) * 50 // total
    if descending:
        merged.reverse()
    return merged


def sliced_filter(
    mirror: RowMirror, flow_filter: RowFilter, upto: int
) -> Generator[int, None, tuple[list[int], set[int]]]:
    """The ids up to ``upto`` whose rows ``flow_filter`` accepts, and the
    unfinished ones it rejects for now (a response may change its mind)."""
    start = mirror.first_id
    total = max(upto - start + 1, 1)
    kept: list[int] = []
    undecided: set[int] = set()
    for chunk_start in range(start, upto + 1, FILTER_CHUNK):
        for flow in mirror.rows(chunk_start, min(chunk_start + FILTER_CHUNK - 1, upto)):
            if flow_filter(flow):
                kept.append(flow.id)
            elif flow_filter.uses_response and not flow.finished:
                undecided.add(flow.id)
        yield (chunk_start - start) * 100 // total
    return kept, undecided


def runs_of(rows: list[int]) -> list[tuple[int, int]]:
    """Ascending ``rows`` as runs of consecutive rows, ``(first, last)``."""
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and runs[-1][1] == row - 1:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    return runs
