"""Body and header search in the window: the table narrows to the flows a
search of the session file (or, without one, of the engine) finds, as it
finds them, and keeps matching flows that end later."""

from __future__ import annotations

import asyncio
import functools
import gzip
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from inspector.app import DesktopApp
from inspector.core.config import load_settings
from inspector.core.filter import parse_filter
from inspector.core.session import Session
from inspector.gui.body_search import MATCH, MISS, UNDECIDED, NarrowedFilter, Verdicts
from inspector.gui.flow_cells import Column
from inspector.gui.search_status import describe
from tests.core.test_search import _flow
from tests.gui.sessions import until
from tests.proxy.harness import Client, Origin, Received, Reply

RunApp = Callable[..., int]


_until = functools.partial(until, timeout=20.0)


async def _answer(req: Received) -> Reply:
    """``/secret...`` paths answer with a gzipped body holding a needle."""
    if req.target.startswith(b"/secret"):
        body = gzip.compress(b'{"note": "the needle is here"}')
        return Reply(
            200, [(b"Content-Type", b"application/json"), (b"Content-Encoding", b"gzip")], body
        )
    return Reply(200, [(b"Content-Type", b"text/plain")], b"hay " * 100)


def _paths(app: DesktopApp) -> list[str]:
    model = app.window.model
    return sorted(model.data(model.index(r, Column.PATH)) for r in range(model.rowCount()))


async def _search_and_follow(app: DesktopApp, where: str) -> None:
    async with Origin(_answer) as origin:
        port = int(app.controller.address.rsplit(":", 1)[1])
        client = await Client.connect(port)
        for path in ("/a", "/secret1", "/b", "/secret2", "/c"):
            assert (await client.request("GET", f"{origin.base}{path}")).status == 200
        window = app.window
        await _until(lambda: window.model.rowCount() == 5)
        window.filter_box.setText("body:needle")
        window.filter_bar.apply()
        search = window.search
        assert search.status.where == where
        await _until(lambda: _paths(app) == ["/secret1", "/secret2"])
        await _until(lambda: not search.status.running)
        assert search.status.matches == 2
        assert window.search_status.isVisible() or not window.isVisible()
        assert "2 matches" in window.search_status.label.text()

        # Flows that end from now on are judged as they come.
        for path in ("/secret3", "/d"):
            assert (await client.request("GET", f"{origin.base}{path}")).status == 200
        await _until(lambda: _paths(app) == ["/secret1", "/secret2", "/secret3"])
        await asyncio.sleep(0.5)
        assert _paths(app) == ["/secret1", "/secret2", "/secret3"]

        # A row-only filter ends the search and shows the rows at once.
        window.filter_box.setText("path:/d")
        window.filter_bar.apply()
        window.model.wait_job()
        assert _paths(app) == ["/d"]
        assert search.filter is None and window.search_status.isHidden()
        client.close()


def test_a_body_search_of_the_session_file(run_app: RunApp, tmp_path: Path) -> None:
    async def scenario(app: DesktopApp) -> None:
        await _search_and_follow(app, "file")

    assert run_app(scenario, session=tmp_path / "s.inspector") == 0


def test_a_body_search_in_the_engine_without_a_session(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        await _search_and_follow(app, "engine")

    assert run_app(scenario, session=None) == 0


def _big_session(path: Path, count: int) -> None:
    with Session.create(path) as session:
        flows = []
        for n in range(1, count + 1):
            body = b'{"id": %d, "needle": true}' % n if n % 100 == 0 else b'{"id": %d}' % n
            flows.append(
                _flow(
                    n,
                    gzip.compress(body) if n % 3 == 0 else body,
                    encoding=b"gzip" if n % 3 == 0 else None,
                )
            )
        session.write(flows)


def test_an_opened_file_is_searched_progressively_and_in_any_order(
    run_app: RunApp, tmp_path: Path
) -> None:
    path = tmp_path / "big.inspector"
    _big_session(path, 3000)

    async def scenario(app: DesktopApp) -> None:
        window, model = app.window, app.window.model
        await _until(lambda: model.rowCount() == 3000)
        window.table.sortByColumn(Column.ID, Qt.SortOrder.DescendingOrder)
        model.wait_job()
        seen: list[int] = []
        window.search.changed.connect(lambda: seen.append(window.search.status.done))
        window.filter_box.setText('resbody:"needle\\": true"')
        window.filter_bar.apply()
        await _until(lambda: not window.search.status.running)
        await _until(lambda: model.rowCount() == 30)
        ids = [model.id_at(r) for r in range(model.rowCount())]
        assert ids == list(range(3000, 0, -100))
        assert seen[-1] == 3000 and len(set(seen)) > 2  # progress came in steps
        assert "Searched 3,000 flows" in window.search_status.label.text()

    assert run_app(scenario, open_path=path) == 0


def test_stop_keeps_what_was_found(run_app: RunApp, tmp_path: Path) -> None:
    path = tmp_path / "big.inspector"
    _big_session(path, 20000)

    async def scenario(app: DesktopApp) -> None:
        window, model = app.window, app.window.model
        await _until(lambda: model.rowCount() == 20000)
        window.filter_box.setText("body:needle")
        window.filter_bar.apply()
        await _until(lambda: window.search.status.done > 0)
        window.search_status.stop_button.click()
        status = window.search.status
        assert not status.running and status.stopped
        assert "Search stopped after" in window.search_status.label.text()
        found = model.rowCount()
        await asyncio.sleep(0.5)
        assert model.rowCount() == found == status.matches

    assert run_app(scenario, open_path=path) == 0


def test_a_search_that_cannot_run_says_why(run_app: RunApp, tmp_path: Path) -> None:
    path = tmp_path / "gone.inspector"
    _big_session(path, 10)

    async def scenario(app: DesktopApp) -> None:
        window = app.window
        await _until(lambda: window.model.rowCount() == 10)
        path.unlink()
        window.filter_box.setText("body:needle")
        window.filter_bar.apply()
        await _until(lambda: bool(window.search.status.error))
        text = window.search_status.label.text()
        assert text.startswith("Search failed: ") and "gone.inspector" in text

    assert run_app(scenario, open_path=path) == 0


def test_the_filter_history_outlives_the_window(run_app: RunApp, tmp_path: Path) -> None:
    async def first(app: DesktopApp) -> None:
        for text in ("host:api", "status:4xx"):
            app.window.filter_box.setText(text)
            app.window.filter_bar.apply()

    async def second(app: DesktopApp) -> None:
        assert app.window.filter_bar.history.items[:2] == ["status:4xx", "host:api"]

    assert run_app(first) == 0
    saved, problems = load_settings(tmp_path / "conf")
    assert problems == [] and saved.gui.filter_history[:2] == ["status:4xx", "host:api"]
    assert run_app(second, settings=saved) == 0


# The parts


def test_verdicts_are_kept_once_per_id() -> None:
    verdicts = Verdicts()
    assert verdicts.set([5, 2_000_000], MATCH) == [5, 2_000_000]
    assert verdicts.set([5, 6], MISS) == [6]
    assert (verdicts.of(5), verdicts.of(6), verdicts.of(7), verdicts.of(10**9)) == (
        MATCH,
        MISS,
        UNDECIDED,
        UNDECIDED,
    )
    assert (verdicts.matches, verdicts.judged) == (2, 3)


@pytest.mark.parametrize(
    ("text", "shown", "awaiting"),
    [
        # flow 1: api host; flow 4: cdn host. Only flow 1 is a body match.
        ("body:x", [1], [4]),
        ("body:x host:cdn", [], [4]),
        ("body:x or host:cdn", [1, 4], []),
        ("-body:x", [], [4]),
    ],
)
def test_the_narrowed_filter(text: str, shown: list[int], awaiting: list[int]) -> None:
    from inspector.core.summary import row_of, summarize

    rows = {
        n: row_of(summarize(_flow(n, b"", host="cdn.x" if n == 4 else "api.x"))) for n in (1, 4)
    }
    verdicts = Verdicts()
    narrowed = NarrowedFilter(parse_filter(text), verdicts)
    verdicts.set([1], MATCH if "-" not in text else MISS)
    assert [n for n, row in rows.items() if narrowed(row)] == shown
    assert [n for n, row in rows.items() if narrowed.awaits(row)] == awaiting


def test_the_status_line() -> None:
    from inspector.gui.body_search import SearchStatus

    assert describe(SearchStatus(running=True, where="file")).startswith("Searching")
    running = SearchStatus(running=True, done=1000, total=200_000, matches=1, where="engine")
    assert describe(running) == (
        "Searching bodies and headers in the engine's flows: 1,000 of 200,000 flows, 1 match"
    )
    stopped = SearchStatus(done=10, total=50, matches=3, stopped=True)
    assert describe(stopped) == "Search stopped after 10 flows of 50: 3 matches"
    assert describe(SearchStatus(error="boom")) == "Search failed: boom"


def test_a_new_session_searches_its_new_file(run_app: RunApp, tmp_path: Path) -> None:
    async def scenario(app: DesktopApp) -> None:
        window = app.window
        window.filter_box.setText("body:needle")
        window.filter_bar.apply()
        first = window.search.session_of()
        await app.new_session()
        assert window.search.session_of() not in (None, first)
        assert window.search.filter is not None
        async with Origin(_answer) as origin:
            port = int(app.controller.address.rsplit(":", 1)[1])
            client = await Client.connect(port)
            for path in ("/secret9", "/e"):
                assert (await client.request("GET", f"{origin.base}{path}")).status == 200
            await _until(lambda: _paths(app) == ["/secret9"])
            client.close()

    sessions = tmp_path / "sessions"
    sessions.mkdir()
    assert run_app(scenario, session=sessions / "a.inspector", sessions_dir=sessions) == 0
