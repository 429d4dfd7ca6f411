"""The filter bar: type toggles joined with the typed filter, history,
Esc, saved filters persisted, and malformed expressions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from inspector.app import DesktopApp
from inspector.core.config import load_settings, save_settings
from inspector.gui.filter_bar import HISTORY_SIZE, FilterBar
from inspector.gui.flow_cells import FLOW_ID_ROLE
from inspector.gui.flow_model import FlowTableModel
from tests.gui.feed import Feed

RunApp = Callable[..., int]


def _ids(model: FlowTableModel) -> list[int]:
    return [model.data(model.index(r, 0), FLOW_ID_ROLE) for r in range(model.rowCount())]


def _typed_feed() -> tuple[Feed, FlowTableModel]:
    feed = Feed()
    kinds = [
        ("api.test", "application/json"),  # 1
        ("api.test", "text/html; charset=utf-8"),  # 2
        ("cdn.test", "application/json"),  # 3
        ("api.test", "image/png"),  # 4
        ("api.test", "application/xml"),  # 5
        ("cdn.test", "text/css"),  # 6
    ]
    for host, kind in kinds:
        flow_id = feed.add(host=host)
        flow = feed.store.get(flow_id)
        assert flow is not None and flow.response is not None
        flow.response.headers = [(b"content-type", kind.encode())]
    model = FlowTableModel(feed.mirror)
    feed.send(model)
    return feed, model


def _bar(qtbot: QtBot, model: FlowTableModel | None = None) -> FilterBar:
    bar = FilterBar()
    qtbot.addWidget(bar)
    if model is not None:
        bar.filter_changed.connect(model.set_filter)
    return bar


def _type(bar: FilterBar, text: str) -> None:
    bar.box.setText(text)
    bar.apply()


def test_type_toggles_combine_with_the_typed_filter(qtbot: QtBot) -> None:
    _feed, model = _typed_feed()
    bar = _bar(qtbot, model)
    assert bar.type_label == "All"
    bar.set_type("XHR/Fetch")
    model.wait_job()
    assert _ids(model) == [1, 3, 5]
    _type(bar, "host:api")
    model.wait_job()
    assert _ids(model) == [1, 5]
    bar.set_type("Doc")
    model.wait_job()
    assert _ids(model) == [2]
    bar.set_type("CSS")
    model.wait_job()
    assert _ids(model) == []
    _type(bar, "")
    model.wait_job()
    assert _ids(model) == [6]
    _type(bar, "host:cdn or type:image")  # the typed 'or' stays inside
    bar.set_type("Img")
    model.wait_job()
    assert _ids(model) == [4]
    bar.set_type("All")
    model.wait_job()
    assert _ids(model) == [3, 4, 6]
    assert bar.current.text == "host:cdn or type:image"


def test_history_walks_with_up_and_down(qtbot: QtBot) -> None:
    bar = _bar(qtbot)
    for text in ("host:a", "host:b", "host:c", "host:a"):
        bar.box.setText(text)
        qtbot.keyClick(bar.box, Qt.Key.Key_Return)
    assert bar.history.items == ["host:a", "host:c", "host:b"]
    bar.box.setText("draft")
    qtbot.keyClick(bar.box, Qt.Key.Key_Up)
    assert bar.box.text() == "host:a"
    qtbot.keyClick(bar.box, Qt.Key.Key_Up)
    assert bar.box.text() == "host:c"
    bar.apply()  # the pause after a step does not reorder the history
    qtbot.keyClick(bar.box, Qt.Key.Key_Up)
    qtbot.keyClick(bar.box, Qt.Key.Key_Up)
    assert bar.box.text() == "host:b"
    qtbot.keyClick(bar.box, Qt.Key.Key_Down)
    qtbot.keyClick(bar.box, Qt.Key.Key_Down)
    assert bar.box.text() == "host:a"
    qtbot.keyClick(bar.box, Qt.Key.Key_Down)
    assert bar.box.text() == "draft"
    qtbot.keyClick(bar.box, Qt.Key.Key_Down)
    assert bar.box.text() == "draft"
    assert bar.history.items == ["host:a", "host:c", "host:b"]
    for n in range(HISTORY_SIZE + 5):
        bar.box.setText(f"host:{n}")
        bar.apply()
    assert len(bar.history.items) == HISTORY_SIZE
    assert bar.history.items[0] == f"host:{HISTORY_SIZE + 4}"


def test_applied_after_a_pause_joins_the_history(qtbot: QtBot) -> None:
    bar = _bar(qtbot)
    qtbot.keyClicks(bar.box, "status:4xx")
    qtbot.waitUntil(lambda: bar.history.items == ["status:4xx"])


def test_escape_moves_the_focus_to_the_table(qtbot: QtBot) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    layout = QVBoxLayout(window)
    bar = FilterBar()
    table = QLineEdit()  # stands in for the table
    layout.addWidget(bar)
    layout.addWidget(table)
    bar.escaped.connect(table.setFocus)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    bar.box.setFocus()
    qtbot.waitUntil(bar.box.hasFocus)
    qtbot.keyClick(bar.box, Qt.Key.Key_Escape)
    qtbot.waitUntil(table.hasFocus)


def test_saved_filters_persist_across_save_and_load(qtbot: QtBot, tmp_path: Path) -> None:
    settings, problems = load_settings(tmp_path)
    assert problems == [] and settings.gui.saved_filters == []
    bar = _bar(qtbot)
    bar.set_saved(settings.gui.saved_filters)

    def persist(saved: list[list[str]]) -> None:
        settings.gui.saved_filters = saved
        save_settings(tmp_path, settings)

    bar.saved_changed.connect(persist)
    bar.box.setText("status:5xx")
    bar.save_current("errors")
    bar.box.setText("host:api -type:image")
    bar.save_current("api")
    bar.box.setText("status:4xx")
    bar.save_current("errors")  # the same name replaces
    loaded, problems = load_settings(tmp_path)
    assert problems == []
    assert loaded.gui.saved_filters == [["api", "host:api -type:image"], ["errors", "status:4xx"]]

    again = _bar(qtbot)
    again.set_saved(loaded.gui.saved_filters)
    again.use_saved("api")
    assert again.box.text() == "host:api -type:image"
    assert again.current.text == "host:api -type:image"
    again.saved_changed.connect(persist)
    again.remove_saved("api")
    assert load_settings(tmp_path)[0].gui.saved_filters == [["errors", "status:4xx"]]


def test_old_settings_files_load_without_saved_filters(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text('{"relay": {"capacity": 7}}')
    settings, problems = load_settings(tmp_path)
    assert problems == []
    assert settings.relay.capacity == 7 and settings.gui.saved_filters == []
    (tmp_path / "settings.json").write_text('{"gui": {"saved_filters": [["x"]]}}')
    settings, problems = load_settings(tmp_path)
    assert len(problems) == 1 and settings.gui.saved_filters == []


def test_a_malformed_filter_shows_its_error_and_keeps_the_last_good(qtbot: QtBot) -> None:
    _feed, model = _typed_feed()
    bar = _bar(qtbot, model)
    qtbot.keyClicks(bar.box, "host:cdn")
    bar.apply()
    model.wait_job()
    assert _ids(model) == [3, 6]
    assert bar.error() == "" and bar.error_label.isHidden()
    qtbot.keyClicks(bar.box, " status:nonsense")
    message = bar.error()
    assert "status:nonsense" in message and "(at character 17)" in message
    assert not bar.error_label.isHidden()
    qtbot.keyClick(bar.box, Qt.Key.Key_Return)
    qtbot.wait(250)
    model.wait_job()
    assert _ids(model) == [3, 6]
    assert bar.current.text == "host:cdn"
    assert "host:cdn status:nonsense" not in bar.history.items
    bar.box.setText("host:api")
    assert bar.error() == ""
    qtbot.waitUntil(lambda: bar.current.text == "host:api")
    model.wait_job()
    assert _ids(model) == [1, 2, 4, 5]


def test_the_window_saves_filters_to_its_settings(run_app: RunApp, tmp_path: Path) -> None:
    async def scenario(app: DesktopApp) -> None:
        bar = app.window.filter_bar
        bar.box.setText("status:5xx")
        bar.save_current("errors")
        assert app.settings.gui.saved_filters == [["errors", "status:5xx"]]
        assert app.window.filter_box is bar.box

    assert run_app(scenario, persist=True) == 0
    loaded, problems = load_settings(tmp_path / "conf")
    assert problems == [] and loaded.gui.saved_filters == [["errors", "status:5xx"]]


def test_a_type_toggle_joined_with_a_body_term_is_sure_only_where_both_are() -> None:
    from inspector.core.filter import parse_filter
    from inspector.core.flow import Flow, FlowState, Request, Response
    from inspector.core.summary import row_of, summarize
    from inspector.gui.filter_bar import both

    def row(content_type: bytes, host: str) -> object:
        flow = Flow(1, ("127.0.0.1", 1), Request(method="GET", host=host, port=80, target="/"))
        flow.response = Response(status=200, headers=[(b"Content-Type", content_type)])
        flow.state = FlowState.COMPLETE
        return row_of(summarize(flow))

    joined = both(parse_filter("body:x or host:cdn"), parse_filter("type:json"))
    assert joined.needs_flow and joined.needs_bodies
    assert [v.text for _, v in joined.body_values] == ["x"]
    json_cdn, json_api, html_cdn = (
        row(b"application/json", "cdn.test"),
        row(b"application/json", "api.test"),
        row(b"text/html", "cdn.test"),
    )
    assert joined.surely(json_cdn)  # type:json and host:cdn, whatever the body
    assert joined(json_api) and not joined.surely(json_api)  # up to the body
    assert not joined(html_cdn) and not joined.surely(html_cdn)
