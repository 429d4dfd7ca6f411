"""The waterfall: its time scale, bars by phase, hover details, and the
panel choosing flows (selected, else in view) and fetching their stamps."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import QPoint
from pytestqt.qtbot import QtBot

from inspector.core.flow import Flow
from inspector.core.timing import DNS, PROXY, RECEIVE, WAIT, Phase
from inspector.gui.flow_table import FlowTable
from inspector.gui.waterfall import (
    LABEL_WIDTH,
    ROW_HEIGHT,
    SCALE_HEIGHT,
    WaterfallPanel,
    WaterfallRow,
    WaterfallView,
    tick_label,
    tick_step,
)
from tests.gui.feed import Feed

T0 = 1_000.0


def _rows() -> list[WaterfallRow]:
    first = [
        Phase(PROXY, 0.0, 0.001),
        Phase(DNS, None, None, "reused"),
        Phase(WAIT, 0.001, 0.120),
        Phase(RECEIVE, 0.120, 0.200),
    ]
    return [
        WaterfallRow(1, "GET a.test/", "http://a.test/", "200", T0, 0.2, 0.001, first),
        WaterfallRow(2, "GET a.test/app.js", "http://a.test/app.js", "200", T0 + 0.3, 0.7, None),
    ]


def test_tick_steps_are_round_and_far_enough_apart() -> None:
    assert tick_step(1.0, 700) == 0.1
    assert tick_step(1.0, 300) == 0.5
    assert tick_step(0.01, 1000) == 0.001
    assert tick_step(30, 600) == 5
    assert tick_label(0.30000000000000004, 0.1) == "0.3 s"
    assert tick_label(0.006, 0.002) == "6 ms"
    assert tick_label(0.00005, 0.00001) == "50 µs"


def test_the_scale_spans_the_flows_from_zero(qtbot: QtBot) -> None:
    view = WaterfallView()
    qtbot.addWidget(view)
    view.resize(LABEL_WIDTH + 16 + 500, 200)
    view.set_rows(_rows(), now=T0 + 2)
    ticks = view.ticks()
    # One second across 500 px: a mark every 0.2 s (at least 70 px apart).
    assert [label for _x, label in ticks] == ["0 s", "0.2 s", "0.4 s", "0.6 s", "0.8 s", "1 s"]
    assert ticks[0][0] == view.bar_left
    assert abs(ticks[-1][0] - (view.bar_left + view.bar_width)) < 1e-6
    assert view.height() == SCALE_HEIGHT + 2 * ROW_HEIGHT + 4
    view.grab()  # paints without error


def test_hover_names_each_phase_and_the_proxy_time(qtbot: QtBot) -> None:
    view = WaterfallView()
    qtbot.addWidget(view)
    view.resize(800, 200)
    view.set_rows(_rows(), now=T0 + 2)
    first = view.hover_text(QPoint(LABEL_WIDTH + 20, SCALE_HEIGHT + 5))
    assert first.splitlines() == [
        "#1 http://a.test/",
        "Status 200",
        "Starts at +0.0 ms",
        "Proxy, request: 1.0 ms",
        "DNS: reused connection",
        "Wait: 119.0 ms",
        "Receive: 80.0 ms",
        "Total: 200.0 ms",
        "Proxy time: 1.0 ms",
    ]
    second = view.hover_text(QPoint(LABEL_WIDTH + 20, SCALE_HEIGHT + ROW_HEIGHT + 5))
    assert "Starts at +300.0 ms" in second and "Phases: waiting for the engine" in second
    assert view.hover_text(QPoint(10, 5)) == ""
    assert view.hover_text(QPoint(10, SCALE_HEIGHT + 3 * ROW_HEIGHT)) == ""


def test_the_panel_draws_the_selection_and_fetches_the_phases(qtbot: QtBot) -> None:
    feed = Feed()
    ids = [feed.add(host="a.test") for _ in range(5)]
    model = feed.model()
    table = FlowTable(model)
    qtbot.addWidget(table)
    table.resize(800, 400)
    table.show()
    fetched: list[int] = []
    spawned: list[Any] = []

    async def fetch(flow_id: int) -> Flow | None:
        fetched.append(flow_id)
        flow = feed.store.get(flow_id)
        assert flow is not None
        flow.t_upstream_begin = flow.t_start + 0.002
        flow.t_request_sent = flow.t_start + 0.003
        flow.upstream_addr = ("127.0.0.1", 80)
        return flow

    def chosen() -> tuple[str, list[int]]:
        selected = table.selected_ids()
        if len(selected) >= 2:
            return f"{len(selected)} selected flows", selected
        return "all", model.shown_ids()

    panel = WaterfallPanel(feed.mirror, chosen, fetch, spawned.append)
    qtbot.addWidget(panel)
    panel.refresh()
    assert [r.flow_id for r in panel.view.rows()] == ids
    assert "all" in panel.title.text()
    table.selectRow(1)
    table.selectionModel().select(
        model.index(3, 0),
        table.selectionModel().SelectionFlag.Select | table.selectionModel().SelectionFlag.Rows,
    )
    panel.refresh()
    assert [r.flow_id for r in panel.view.rows()] == [ids[1], ids[3]]
    assert "2 selected flows" in panel.title.text()
    assert len(spawned) == 1  # the first refresh asked for all five
    asyncio.run(spawned[0])
    assert fetched == ids
    rows = panel.view.rows()
    assert rows[0].phases is not None and rows[0].phases[0].name == PROXY
    assert abs(rows[0].phases[0].seconds - 0.002) < 1e-9
    panel.refresh()
    assert len(spawned) == 1  # finished flows are not asked again
