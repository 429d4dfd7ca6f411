"""The viewer for one WebSocket message: Text, JSON and Hex renderings,
the mode picked from the message until the user picks one, and that pick
kept for messages of the same kind."""

from __future__ import annotations

import concurrent.futures
import json
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from inspector.core.bodyview import hexdump
from inspector.core.websocket import BINARY, DOWN, TEXT, UP, WsMessage
from inspector.gui.ws_payload import HEX_LIMIT, SELECT, Mode, PayloadViewer, render


@pytest.mark.parametrize(
    ("payload", "binary", "mode", "expected_mode", "text", "note"),
    [
        (b'{"a":[1,2]}', False, None, Mode.JSON, '{\n  "a": [\n    1,\n    2\n  ]\n}', ""),
        (b'{"a": "\xc3\xa9"}', False, None, Mode.JSON, '{\n  "a": "é"\n}', ""),
        (b"hello world", False, None, Mode.TEXT, "hello world", ""),
        (b"42", False, None, Mode.JSON, "42", ""),
        (b"\x01\x02", True, None, Mode.HEX, hexdump(b"\x01\x02"), ""),
        (b'{"a":1}', True, None, Mode.HEX, hexdump(b'{"a":1}'), ""),  # binary: hex first
        (b"\xff\xfe", False, None, Mode.HEX, hexdump(b"\xff\xfe"), ""),  # not text after all
        (b"hello", False, Mode.HEX, Mode.HEX, hexdump(b"hello"), ""),
        (b'{"a":1}', True, Mode.JSON, Mode.JSON, '{\n  "a": 1\n}', ""),
        (b"{broken", False, Mode.JSON, Mode.JSON, "{broken", "not JSON: shown as text"),
        (b"\xffok", False, Mode.TEXT, Mode.TEXT, "\ufffdok", "not UTF-8: bad bytes shown as �"),
        (b"", False, None, Mode.TEXT, "", ""),
    ],
)
def test_render(
    payload: bytes,
    binary: bool,
    mode: Mode | None,
    expected_mode: Mode,
    text: str,
    note: str,
) -> None:
    result = render(payload, binary, mode)
    assert (result.mode, result.text, result.note) == (expected_mode, text, note)


def test_a_large_payload_is_dumped_in_part() -> None:
    result = render(bytes(HEX_LIMIT * 2), True)
    assert result.text.count("\n") == HEX_LIMIT // 16 - 1
    assert result.note == "first 64.0 KiB of 128.0 KiB shown"


@pytest.fixture
def viewer(qtbot: QtBot) -> Iterator[PayloadViewer]:
    with concurrent.futures.ThreadPoolExecutor(1) as executor:
        widget = PayloadViewer(executor)
        qtbot.addWidget(widget)
        yield widget


def _show(qtbot: QtBot, viewer: PayloadViewer, message: WsMessage | None, note: str = "") -> None:
    with qtbot.waitSignal(viewer.rendered, timeout=5000):
        viewer.show_message(message, note)


def _text(seq: int, value: object) -> WsMessage:
    data = json.dumps(value).encode()
    return WsMessage(seq, DOWN, 1000.0, TEXT, len(data), data)


def test_modes_follow_the_message_until_one_is_picked(qtbot: QtBot, viewer: PayloadViewer) -> None:
    assert viewer.text.placeholderText() == SELECT
    assert not viewer.buttons[Mode.HEX].isEnabled()
    _show(qtbot, viewer, _text(0, {"n": 1}), "a note")
    assert viewer.mode is Mode.JSON and viewer.buttons[Mode.JSON].isChecked()
    assert viewer.text.toPlainText() == '{\n  "n": 1\n}'
    assert viewer.note.text() == "a note" and not viewer.note.isHidden()
    assert viewer.title.text().startswith("↓ text · 8 B · ")
    assert viewer.title.toolTip() == "Received from the server"

    with qtbot.waitSignal(viewer.rendered):
        viewer.buttons[Mode.HEX].click()
    assert viewer.mode is Mode.HEX and viewer.buttons[Mode.HEX].isChecked()
    assert not viewer.buttons[Mode.JSON].isChecked()
    assert viewer.text.toPlainText().startswith("00000000  7b 22 6e 22")

    _show(qtbot, viewer, _text(1, [1]))  # text again: the pick sticks
    assert viewer.mode is Mode.HEX and viewer.note.isHidden()
    binary = WsMessage(2, UP, 1000.0, BINARY, 3, b"abc")
    _show(qtbot, viewer, binary)
    assert viewer.mode is Mode.HEX
    with qtbot.waitSignal(viewer.rendered):
        viewer.buttons[Mode.TEXT].click()
    assert viewer.text.toPlainText() == "abc"
    _show(qtbot, viewer, _text(3, {"x": None}))  # text messages keep their own pick
    assert viewer.mode is Mode.HEX
    _show(qtbot, viewer, WsMessage(4, UP, 1000.0, BINARY, 3, b"xyz"))
    assert viewer.mode is Mode.TEXT and viewer.text.toPlainText() == "xyz"

    _show(qtbot, viewer, None)
    assert viewer.mode is None and viewer.text.toPlainText() == ""
    assert viewer.text.placeholderText() == SELECT
    assert not any(b.isChecked() or b.isEnabled() for b in viewer.buttons.values())


def test_the_newest_message_wins(qtbot: QtBot, viewer: PayloadViewer) -> None:
    viewer.show_message(_text(0, "first"))
    _show(qtbot, viewer, _text(1, "second"))
    qtbot.wait(50)
    assert viewer.text.toPlainText() == '"second"'
