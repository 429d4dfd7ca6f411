"""The Messages tab with its fetching, on a qasync loop against an engine
in memory: the tab there for WebSocket flows only, the first pages and
then only what is new, one fetch in flight, following the bottom, dropped
messages and decoding notes, the whole payload of a selected message, the
filter, and replies that come too late to matter."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import html
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import qasync
from PySide6.QtWidgets import QApplication

from inspector.core.websocket import BINARY, CLOSE, DOWN, UP
from inspector.gui import ws_view
from inspector.gui.detail_follower import DetailFollower
from inspector.gui.detail_pane import DetailPane
from inspector.gui.tasks import ErrorReporter, GuiTasks
from inspector.gui.ws_messages import Column, Show
from inspector.gui.ws_payload import Mode
from inspector.gui.ws_view import WebSocketView, handshake_text
from inspector.link.client import EngineError
from tests.gui.ws_engine import WsEngine, close_websocket
from tests.proxy.engine_pair import until


class Rig:
    def __init__(self, engine: WsEngine, executor: concurrent.futures.Executor) -> None:
        reporter = ErrorReporter(show_dialogs=False)
        reporter.reported.connect(lambda text: pytest.fail(f"reported: {text}"))
        self.engine = engine
        self.pane = DetailPane(executor)
        self.pane.resize(900, 400)
        self.tasks = GuiTasks(reporter)
        self.follower = DetailFollower(self.pane, engine, self.tasks)  # type: ignore[arg-type]
        self.view: WebSocketView = self.pane.messages

    @property
    def rows(self) -> int:
        return self.view.model.rowCount()

    def previews(self) -> list[str]:
        model = self.view.model
        return [model.data(model.index(r, Column.PREVIEW)) for r in range(model.rowCount())]

    async def select(self, flow_id: int, rows: int | None = None) -> None:
        self.follower.select(flow_id)
        await until(lambda: self.pane.flow_id == flow_id, what="details shown")
        if rows is not None:
            await until(lambda: self.rows == rows, what=f"{rows} rows")

    async def changed(self, flow_id: int, rows: int) -> None:
        """A batch brought the flow's row: wait for the round it starts."""
        asked = len(self.engine.asked_for("ws_messages"))
        self.follower.changed([flow_id])
        await until(
            lambda: len(self.engine.asked_for("ws_messages")) > asked and not self.tasks,
            what="a round of fetches",
        )
        assert self.rows == rows

    def messages_tab(self) -> bool:
        return self.pane.isTabVisible(self.pane.indexOf(self.view))


def _run(qapp: QApplication, scenario: Callable[[Rig], Awaitable[None]], **engine: Any) -> None:
    async def main() -> None:
        with concurrent.futures.ThreadPoolExecutor(1) as executor:
            rig = Rig(WsEngine(**engine), executor)
            try:
                await scenario(rig)
                rig.engine.release()
                await until(lambda: not rig.tasks, what="fetches done")
            finally:
                rig.tasks.cancel_all()
                rig.pane.deleteLater()

    try:
        with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
            runner.run(main())
    finally:
        gc.collect()


def test_the_tab_is_there_for_websockets_only(qapp: QApplication) -> None:
    async def scenario(rig: Rig) -> None:
        plain = rig.engine.http()
        socket = rig.engine.open(protocol="chat.v2", extensions="permessage-deflate")
        pane = rig.pane
        assert not rig.messages_tab()
        await rig.select(plain.id)
        assert not rig.messages_tab()
        await rig.select(socket.id)
        assert rig.messages_tab() and pane.currentWidget() is pane.request
        pane.setCurrentWidget(rig.view)
        await rig.select(plain.id)
        assert not rig.messages_tab() and pane.currentWidget() is not rig.view
        await rig.select(socket.id)
        assert pane.currentWidget() is rig.view  # it was open: it opens again
        rig.follower.select(None)
        assert not rig.messages_tab() and rig.view.flow_id is None
        assert (
            rig.engine.asked_for("ws_messages")
            == [{"id": socket.id, "after": -1, "limit": 2000, "preview": 256}] * 2
        )

    _run(qapp, scenario)


def test_new_messages_follow_the_row_and_only_they_are_fetched(qapp: QApplication) -> None:
    async def scenario(rig: Rig) -> None:
        engine = rig.engine
        socket = engine.open(tls=True, protocol="chat.v2")
        engine.send(socket, UP, '{"op":"subscribe","topic":"prices"}')
        engine.send(socket, DOWN, '{"op":"ack"}')
        await rig.select(socket.id, rows=2)
        text = rig.view.handshake.text()
        assert "<b>WebSocket</b> over TLS (wss)" in text and "<b>chat.v2</b>" in text
        assert "● open" in text and rig.view.count.text() == "2 messages"
        engine.send(socket, DOWN, '{"price": 1}')
        engine.send(socket, DOWN, bytes(range(8)), opcode=BINARY)
        await rig.changed(socket.id, rows=4)
        assert [a["after"] for a in engine.asked_for("ws_messages")] == [-1, 1]
        assert rig.previews()[2:] == ['{"price": 1}', "00 01 02 03 04 05 06 07"]
        rig.follower.changed([socket.id])  # nothing new: one more empty page
        await until(lambda: len(engine.asked_for("ws_messages")) == 3)
        assert [a["after"] for a in engine.asked_for("ws_messages")] == [-1, 1, 3]

        engine.send(socket, UP, "bye", opcode=CLOSE, close_code=1000)
        engine.send(socket, DOWN, "bye", opcode=CLOSE, close_code=1000)
        close_websocket(socket, code=1000, by=UP)
        await rig.changed(socket.id, rows=6)
        text = rig.view.handshake.text()
        assert "close 1000 from the client “bye”" in text and "<b>ended</b>: closed" in text
        assert "1 ↑ sent (35 B) · 3 ↓ received (32 B)" in text

    _run(qapp, scenario)


def test_one_fetch_at_a_time(qapp: QApplication) -> None:
    async def scenario(rig: Rig) -> None:
        engine = rig.engine
        socket = engine.open()
        engine.send(socket, UP, "one")
        await rig.select(socket.id, rows=1)
        engine.hold()
        engine.send(socket, DOWN, "two")
        rig.follower.messages.refresh()
        await until(lambda: engine.waiting == 1)
        for _ in range(5):
            rig.follower.messages.refresh()
        await asyncio.sleep(0.05)
        assert len(engine.asked_for("ws_messages")) == 2 and engine.waiting == 1
        engine.send(socket, DOWN, "three")
        engine.release()
        await until(lambda: rig.rows == 3 and not rig.tasks)
        # The refreshes while a page was on its way made one more round, not five.
        assert [a["after"] for a in engine.asked_for("ws_messages")] == [-1, 0, 2]

    _run(qapp, scenario)


def test_a_backlog_comes_in_pages_in_one_round(qapp: QApplication) -> None:
    async def scenario(rig: Rig) -> None:
        engine = rig.engine
        socket = engine.open()
        for n in range(2500):
            engine.send(socket, n % 2, f"message {n}")
        await rig.select(socket.id, rows=2500)
        assert [a["after"] for a in engine.asked_for("ws_messages")] == [-1, 1999]
        assert rig.previews()[-1] == "message 2499"

    _run(qapp, scenario)


def test_the_list_follows_the_bottom_unless_scrolled_up(
    qapp: QApplication,
) -> None:
    async def scenario(rig: Rig) -> None:
        engine = rig.engine
        socket = engine.open()
        for n in range(100):
            engine.send(socket, UP, f"m{n}")
        rig.pane.show()
        rig.pane.setCurrentWidget(rig.view)
        await rig.select(socket.id, rows=100)
        rig.pane.setCurrentWidget(rig.view)
        bar = rig.view.table.verticalScrollBar()
        await until(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())
        for n in range(20):
            engine.send(socket, DOWN, f"n{n}")
        await rig.changed(socket.id, rows=120)
        await until(lambda: bar.value() == bar.maximum())
        bar.setValue(0)
        assert not rig.view.follow
        engine.send(socket, DOWN, "quiet")
        await rig.changed(socket.id, rows=121)
        await asyncio.sleep(0.05)
        assert bar.value() == 0
        bar.setValue(bar.maximum())
        assert rig.view.follow

    _run(qapp, scenario)


def test_dropped_messages_and_a_decoding_note_are_told(qapp: QApplication) -> None:
    async def scenario(rig: Rig) -> None:
        engine = rig.engine
        socket = engine.open()
        for n in range(8):
            engine.send(socket, UP, f"m{n}")
        await rig.select(socket.id, rows=5)
        notice = rig.view.notice
        assert not notice.isHidden() or not rig.view.isVisible()
        assert "3 older messages were dropped" in notice.text()
        assert rig.previews()[0] == "m3"
        for n in range(8, 11):
            engine.send(socket, DOWN, f"m{n}")
        info = socket.websocket
        assert info is not None
        info.note = "decoding stopped (server side): bad frame & more"
        await rig.changed(socket.id, rows=5)
        assert rig.previews() == ["m6", "m7", "m8", "m9", "m10"]
        assert rig.view.model.fetched == 5
        assert "6 older messages were dropped" in notice.text()
        assert "Decoding stopped (server side): bad frame &amp; more" in notice.text()

    _run(qapp, scenario, max_messages=5)


def test_a_selected_message_gets_its_whole_payload(qapp: QApplication) -> None:
    async def scenario(rig: Rig) -> None:
        engine = rig.engine
        socket = engine.open()
        big = json.dumps({"items": list(range(300))})
        engine.send(socket, DOWN, big)
        engine.send(socket, UP, "small")
        engine.send(socket, DOWN, b"\x00" * 1000, opcode=BINARY, size=2_000_000)
        await rig.select(socket.id, rows=3)
        view, viewer = rig.view, rig.view.viewer
        assert rig.previews()[0].endswith("…")

        view.table.selectRow(1)  # its preview is all of it: nothing to fetch
        await until(lambda: viewer.text.toPlainText() == "small")
        assert engine.asked_for("ws_message") == []

        view.table.selectRow(0)
        await until(lambda: viewer.mode is Mode.JSON)
        assert json.loads(viewer.text.toPlainText()) == json.loads(big)
        assert engine.asked_for("ws_message") == [{"id": socket.id, "seq": 0}]
        assert viewer.note.isHidden() and view.wanted_seq is None

        view.table.selectRow(2)
        await until(lambda: "were kept" in viewer.note.text())
        assert viewer.note.text() == "The first 1000 B of 1.9 MiB were kept."
        assert viewer.mode is Mode.HEX and viewer.text.toPlainText().count("\n") == 62

        # Gone from the engine meanwhile: the preview is what is left.
        socket.websocket.messages.clear()  # type: ignore[union-attr]
        view.table.selectRow(0)
        await until(lambda: "no longer has" in viewer.note.text())
        assert viewer.text.toPlainText().startswith('{\n  "items"') is False

    _run(qapp, scenario)


def test_the_filter_narrows_and_keeps_the_selection(qapp: QApplication) -> None:
    async def scenario(rig: Rig) -> None:
        engine = rig.engine
        socket = engine.open()
        engine.send(socket, UP, '{"op":"subscribe"}')
        engine.send(socket, DOWN, '{"price": 10}')
        engine.send(socket, DOWN, b"\xca\xfe", opcode=BINARY)
        await rig.select(socket.id, rows=3)
        view = rig.view
        view.table.selectRow(1)
        view.filter_box.setText("PRICE")
        assert rig.previews() == ['{"price": 10}'] and view.count.text() == "1 of 3"
        assert view.table.currentIndex().row() == 0
        await until(lambda: view.viewer.text.toPlainText() == '{\n  "price": 10\n}')
        view.filter_box.clear()
        view.show_combo.setCurrentIndex(view.show_combo.findData(Show.BINARY))
        assert rig.previews() == ["ca fe"]
        await until(lambda: view.viewer.text.toPlainText() == "")  # filtered out: not shown
        assert view.viewer.mode is None and view.table.currentIndex().row() == -1
        view.show_combo.setCurrentIndex(view.show_combo.findData(Show.SENT))
        assert rig.previews() == ['{"op":"subscribe"}']
        engine.send(socket, UP, "later")
        await rig.changed(socket.id, rows=2)
        assert view.count.text() == "2 of 4"

    _run(qapp, scenario)


def test_a_page_for_a_flow_no_longer_shown_is_dropped(qapp: QApplication) -> None:
    async def scenario(rig: Rig) -> None:
        engine = rig.engine
        first, second = engine.open(), engine.open()
        engine.send(first, UP, "first's")
        engine.send(second, UP, "second's")
        engine.send(second, DOWN, "second's too")
        await rig.select(first.id, rows=1)
        engine.hold()
        engine.send(first, DOWN, "first's new one")
        rig.follower.messages.refresh()
        await until(lambda: engine.waiting == 1)
        rig.view.show_flow(second)  # as the detail pane does on a new selection
        engine.release()
        await until(lambda: rig.rows == 2)
        assert rig.previews() == ["second's", "second's too"]
        assert [(a["id"], a["after"]) for a in engine.asked_for("ws_messages")] == [
            (first.id, -1),
            (first.id, 0),
            (second.id, -1),
        ]

    _run(qapp, scenario)


def test_without_an_engine_the_preview_is_what_is_left(qapp: QApplication) -> None:
    async def scenario(rig: Rig) -> None:
        engine = rig.engine
        socket = engine.open()
        engine.send(socket, DOWN, "x" * 1000)
        await rig.select(socket.id, rows=1)
        engine.connected = False
        rig.view.table.selectRow(0)
        viewer = rig.view.viewer
        await until(lambda: "no longer has" in viewer.note.text())
        assert viewer.text.toPlainText() == "x" * 256
        rig.follower.messages.refresh()  # nothing to ask: no error
        assert engine.asked_for("ws_message") == []

    _run(qapp, scenario)


def test_a_refused_request_is_told(qapp: QApplication) -> None:
    async def scenario(rig: Rig) -> None:
        engine = rig.engine
        socket = engine.open()
        answer = engine.request

        async def refuse(op: str, **args: Any) -> Any:
            if op == "ws_messages":
                raise EngineError("unknown command 'ws_messages'")
            return await answer(op, **args)

        engine.request = refuse  # type: ignore[method-assign]
        await rig.select(socket.id)
        notice = rig.view.notice
        await until(lambda: "could not be fetched" in notice.text())
        assert "unknown command 'ws_messages'" in html.unescape(notice.text())

    _run(qapp, scenario)


def test_handshake_text_of_a_plain_socket_closed_without_a_frame() -> None:
    engine = WsEngine()
    socket = engine.open()
    close_websocket(socket, code=None, end="closed without a close frame")
    assert socket.websocket is not None
    assert handshake_text(socket.websocket) == (
        "<b>WebSocket</b> (ws) · <b>ended</b>: closed without a close frame<br>"
        "0 ↑ sent (0 B) · 0 ↓ received (0 B)"
    )


def test_handshake_text_of_an_open_socket_with_extensions() -> None:
    engine = WsEngine()
    socket = engine.open(tls=True, protocol="a&b", extensions="permessage-deflate")
    engine.send(socket, UP, "x" * 2048)
    assert socket.websocket is not None
    assert handshake_text(socket.websocket) == (
        "<b>WebSocket</b> over TLS (wss) · subprotocol <b>a&amp;b</b> · "
        "<span style='color:#2ea05a'><b>● open</b></span><br>"
        "1 ↑ sent (2.0 KiB) · 0 ↓ received (0 B) · extensions: permessage-deflate"
    )


def test_the_list_keeps_the_newest_messages_only(
    qapp: QApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ws_view, "LIST_LIMIT", 5)

    async def scenario(rig: Rig) -> None:
        engine = rig.engine
        socket = engine.open()
        for n in range(12):
            engine.send(socket, UP, f"m{n}")
        await rig.select(socket.id, rows=5)
        # Only the newest five were asked for: never the whole backlog.
        assert [a["after"] for a in engine.asked_for("ws_messages")] == [6]
        assert rig.previews() == ["m7", "m8", "m9", "m10", "m11"]
        notice = rig.view.notice.text()
        assert "7 older messages are not listed: the list keeps the latest 5." in notice
        assert "dropped" not in notice
        for n in range(12, 15):
            engine.send(socket, DOWN, f"m{n}")
        await rig.changed(socket.id, rows=5)
        assert rig.previews() == ["m10", "m11", "m12", "m13", "m14"]
        assert "10 older messages are not listed" in rig.view.notice.text()

    _run(qapp, scenario, max_messages=100)
