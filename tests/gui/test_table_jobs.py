"""The table's sliced work: sorting, filtering, runs of rows."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from inspector.core.filter import parse_filter
from inspector.gui import table_jobs
from inspector.gui.table_jobs import runs_of, sliced_filter, sliced_sort
from tests.gui.feed import Feed


def _finish(steps: Generator[int, None, Any]) -> tuple[list[int], Any]:
    progress = []
    while True:
        try:
            progress.append(next(steps))
        except StopIteration as stop:
            return progress, stop.value


@pytest.mark.parametrize("descending", [False, True])
def test_a_sliced_sort_is_a_stable_sort(monkeypatch: pytest.MonkeyPatch, descending: bool) -> None:
    monkeypatch.setattr(table_jobs, "SORT_CHUNK", 3)
    ids = list(range(1, 21))
    keys = {i: (i * 7) % 5 for i in ids}
    progress, ordered = _finish(sliced_sort(ids, keys.__getitem__, descending, lambda i: i != 4))
    expected = sorted((i for i in ids if i != 4), key=keys.__getitem__)
    assert ordered == (expected[::-1] if descending else expected)
    assert progress == sorted(progress) and all(0 <= p <= 100 for p in progress)


def test_a_sliced_filter_keeps_matches_and_notes_the_undecided() -> None:
    feed = Feed()
    ok = feed.add(status=200)
    pending = feed.add(status=None)
    feed.add(status=404)
    feed.send(feed.model())
    _, (kept, undecided) = _finish(sliced_filter(feed.mirror, parse_filter("status:2xx"), 3))
    assert kept == [ok] and undecided == {pending}


def test_runs_of_consecutive_rows() -> None:
    assert runs_of([]) == []
    assert runs_of([0, 1, 2, 5, 7, 8]) == [(0, 2), (5, 5), (7, 8)]
