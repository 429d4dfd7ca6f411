"""The filter's body terms highlighted in the body viewer: the spans laid on
the text, the count by the note, F3 and Shift+F3 stepping and scrolling,
hex views left alone, big bodies searched on the worker, and the detail
pane giving each side its own terms."""

from __future__ import annotations

import concurrent.futures
import json
import re
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from inspector.core.filter import parse_filter
from inspector.core.filter_terms import Value
from inspector.core.flow import Flow, Message, Request, Response
from inspector.gui import body_viewer
from inspector.gui.body_viewer import CURRENT, MATCH, BodyViewer
from inspector.gui.detail_pane import DetailPane


def plain(text: str) -> Value:
    return Value(text, 0)


def json_message(value: object) -> Response:
    body = json.dumps(value, indent=1).encode()
    return Response(
        headers=[(b"Content-Type", b"application/json")], body=body, body_size=len(body)
    )


def long_body(lines: int = 400) -> Response:
    """Tokens on lines 10, 200 and 390, far apart on screen."""
    rows = [f"line {n}" + (" token" if n in (10, 200, 390) else "") for n in range(lines)]
    body = "\n".join(rows).encode()
    return Response(headers=[(b"Content-Type", b"text/plain")], body=body, body_size=len(body))


@pytest.fixture
def executor() -> Iterator[concurrent.futures.Executor]:
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        yield pool


@pytest.fixture
def viewer(qtbot: QtBot, executor: concurrent.futures.Executor) -> BodyViewer:
    widget = BodyViewer(executor)
    qtbot.addWidget(widget)
    widget.resize(600, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def show(qtbot: QtBot, viewer: BodyViewer, message: Message | None) -> None:
    with qtbot.waitSignal(viewer.rendered, timeout=5000):
        viewer.set_message(message)


def highlights(viewer: BodyViewer) -> list[tuple[str, str]]:
    """Each extra selection: the text it covers and its colour."""
    return [
        (s.cursor.selectedText(), s.format.background().color().name())
        for s in viewer.text.extraSelections()
    ]


def cursor_line(viewer: BodyViewer) -> int:
    return viewer.text.textCursor().blockNumber()


def visible_lines(viewer: BodyViewer) -> range:
    text = viewer.text
    first = text.cursorForPosition(text.viewport().rect().topLeft()).blockNumber()
    last = text.cursorForPosition(text.viewport().rect().bottomLeft()).blockNumber()
    return range(first, last + 1)


def test_matches_are_highlighted_and_counted(qtbot: QtBot, viewer: BodyViewer) -> None:
    viewer.set_highlight([plain("token"), Value("", 0, re.compile(r"id=\d+", re.I))])
    show(qtbot, viewer, json_message({"Token": "a", "q": "id=7&x=token", "other": 1}))
    text = viewer.text.toPlainText()
    assert viewer.match_count() == 3 and viewer.current_match() == 0
    spans = [
        text[s.cursor.selectionStart() : s.cursor.selectionEnd()]
        for s in viewer.text.extraSelections()
    ]
    assert spans == ["Token", "id=7", "token", "Token"]
    # The current match is drawn last, over its own yellow, in orange.
    assert highlights(viewer)[-1] == ("Token", CURRENT.name())
    assert {colour for _, colour in highlights(viewer)[:-1]} == {MATCH.name()}
    assert viewer.match_label.text() == "1 of 3 matches"
    assert viewer.match_label.isVisible()
    assert viewer._next.isVisible() and viewer._previous.isVisible()

    viewer.next_match()
    assert viewer.current_match() == 1
    assert highlights(viewer)[-1] == ("id=7", CURRENT.name())
    assert viewer.match_label.text() == "2 of 3 matches"
    assert viewer.text.textCursor().position() == text.index("id=7")


def test_no_matches_and_no_terms(qtbot: QtBot, viewer: BodyViewer) -> None:
    show(qtbot, viewer, json_message({"a": 1}))
    assert viewer.match_label.text() == "" and not viewer.match_label.isVisible()
    assert not viewer._next.isVisible()

    viewer.set_highlight([plain("absent")])  # applies to the text on screen
    assert viewer.match_count() == 0 and viewer.current_match() == -1
    assert viewer.match_label.text() == "No matches for the filter's body terms"
    assert not viewer._next.isVisible() and viewer.text.extraSelections() == []
    viewer.next_match()
    assert viewer.current_match() == -1

    viewer.set_highlight([plain('"a"')])
    assert viewer.match_count() == 1 and viewer.match_label.text() == "1 of 1 match"
    viewer.set_highlight([])
    assert viewer.match_count() == 0 and viewer.text.extraSelections() == []
    assert viewer.match_label.text() == ""


def test_f3_steps_through_the_matches_and_scrolls(qtbot: QtBot, viewer: BodyViewer) -> None:
    viewer.set_highlight([plain("token")])
    show(qtbot, viewer, long_body())
    assert viewer.match_count() == 3
    # A new body opens on its first match, scrolled into view.
    assert cursor_line(viewer) == 10 and 10 in visible_lines(viewer)

    viewer.text.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is viewer.text)
    qtbot.keyClick(viewer.text, Qt.Key.Key_F3)
    assert viewer.current_match() == 1
    assert cursor_line(viewer) == 200 and 200 in visible_lines(viewer)
    assert 10 not in visible_lines(viewer)
    shown = visible_lines(viewer)
    assert shown[0] + 3 < 200 < shown[-1] - 3, f"{shown}: the match is centred"
    qtbot.keyClick(viewer.text, Qt.Key.Key_F3)
    assert cursor_line(viewer) == 390 and 390 in visible_lines(viewer)
    qtbot.keyClick(viewer.text, Qt.Key.Key_F3)  # wraps to the first
    assert viewer.current_match() == 0 and 10 in visible_lines(viewer)
    qtbot.keyClick(viewer.text, Qt.Key.Key_F3, Qt.KeyboardModifier.ShiftModifier)
    assert viewer.current_match() == 2 and 390 in visible_lines(viewer)
    assert viewer.match_label.text() == "3 of 3 matches"
    # QTest leaves the application's modifiers at Shift after a shifted
    # click, and later tests' clicks would extend selections: a plain key
    # puts them back.
    qtbot.keyClick(viewer.text, Qt.Key.Key_F3)
    assert viewer.current_match() == 0
    assert QApplication.keyboardModifiers() == Qt.KeyboardModifier.NoModifier

    viewer._previous.click()
    assert viewer.current_match() == 2 and cursor_line(viewer) == 390
    viewer._next.click()
    assert viewer.current_match() == 0 and cursor_line(viewer) == 10


def test_a_new_body_starts_at_its_first_match(qtbot: QtBot, viewer: BodyViewer) -> None:
    viewer.set_highlight([plain("token")])
    show(qtbot, viewer, long_body())
    viewer.next_match()
    viewer.next_match()
    assert cursor_line(viewer) == 390
    show(qtbot, viewer, json_message({"other token": 1}))
    assert viewer.match_count() == 1 and viewer.current_match() == 0
    assert highlights(viewer)[-1] == ("token", CURRENT.name())
    show(qtbot, viewer, None)
    assert viewer.match_count() == 0 and viewer.match_label.text() == ""


def test_the_same_terms_again_keep_the_current_match(qtbot: QtBot, viewer: BodyViewer) -> None:
    viewer.set_highlight([plain("token")])
    show(qtbot, viewer, long_body())
    viewer.next_match()
    viewer.set_highlight([Value("token", 12)])  # only another term changed
    assert viewer.current_match() == 1


def test_hex_and_image_views_are_not_highlighted(qtbot: QtBot, viewer: BodyViewer) -> None:
    viewer.set_highlight([plain("00")])
    binary = bytes(range(256)) * 4
    show(qtbot, viewer, Response(headers=[], body=binary, body_size=len(binary)))
    assert viewer.text.toPlainText().startswith("00000000")
    assert viewer.match_count() == 0 and viewer.text.extraSelections() == []
    assert viewer.match_label.text() == ""
    broken_png = b"\x89PNG\r\n\x1a\n" + b"00" * 20
    show(qtbot, viewer, Response(headers=[], body=broken_png, body_size=len(broken_png)))
    assert viewer.match_count() == 0 and viewer.match_label.text() == ""


def test_emoji_before_a_match_shift_it_in_the_document(qtbot: QtBot, viewer: BodyViewer) -> None:
    viewer.set_highlight([plain("token")])
    show(qtbot, viewer, json_message(["😀😀", "token"]))
    assert highlights(viewer) == [("token", MATCH.name()), ("token", CURRENT.name())]


def test_a_big_text_is_searched_on_the_worker(
    qtbot: QtBot, viewer: BodyViewer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(body_viewer, "FIND_ON_WORKER", 100)
    viewer.set_highlight([plain("token")])
    with qtbot.waitSignal(viewer.highlighted, timeout=5000):
        show(qtbot, viewer, long_body())
    assert viewer.match_count() == 3 and cursor_line(viewer) == 10

    # A search overtaken by a newer one is dropped when it comes back.
    with qtbot.waitSignal(viewer.highlighted, timeout=5000):
        viewer.set_highlight([plain("line 1")])
        assert viewer.match_label.text() == "Finding matches…"
        viewer.set_highlight([plain("line 39")])
    assert viewer.match_count() == 11  # 39 and 390-399
    qtbot.wait(50)
    assert viewer.match_count() == 11


def test_the_detail_pane_gives_each_side_its_terms(
    qtbot: QtBot, executor: concurrent.futures.Executor
) -> None:
    pane = DetailPane(executor)
    qtbot.addWidget(pane)
    request = Request(
        method="POST",
        host="api.example",
        target="/login",
        headers=[(b"Content-Type", b"application/json")],
        body=b'{"user": "ada", "token": "req"}',
        body_size=31,
    )
    flow = Flow(1, ("127.0.0.1", 5000), request, json_message({"token": "res", "user": "x"}))
    pane.set_highlight(parse_filter("reqbody:user resbody:res body:token").body_values)
    with (
        qtbot.waitSignal(pane.request.body.rendered, timeout=5000),
        qtbot.waitSignal(pane.response.body.rendered, timeout=5000),
    ):
        pane.show_flow(flow)
    assert [text for text, _ in highlights(pane.request.body)][:-1] == ["user", "token"]
    assert [text for text, _ in highlights(pane.response.body)][:-1] == ["token", "res"]
    pane.set_highlight(parse_filter("not body:token reqbody:ada").body_values)
    assert pane.request.body.match_count() == 1
    assert pane.response.body.match_count() == 0
    assert pane.response.body.match_label.text() == ""
