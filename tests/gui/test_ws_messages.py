"""The Messages tab's model: what each cell shows, rows appended a page at
a time and dropped from the front, and the filter (text and kind)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from inspector.core.websocket import BINARY, CLOSE, DOWN, PING, PONG, TEXT, UP, WsMessage
from inspector.gui.ws_messages import (
    DOWN_COLOR,
    UP_COLOR,
    Column,
    Show,
    WsMessageModel,
    accepts,
    entry_of,
    preview_text,
    type_text,
)


def _msg(
    seq: int,
    payload: bytes = b"hello",
    direction: int = UP,
    opcode: int = TEXT,
    size: int | None = None,
    close_code: int | None = None,
    dropped: bool = False,
) -> WsMessage:
    return WsMessage(
        seq,
        direction,
        1000.0 + seq,
        opcode,
        len(payload) if size is None else size,
        payload,
        close_code=close_code,
        payload_dropped=dropped,
    )


def _column(model: WsMessageModel, column: Column) -> list[str]:
    return [model.data(model.index(row, column)) for row in range(model.rowCount())]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (_msg(0, b'{"op": "hello"}'), '{"op": "hello"}'),
        (_msg(0, b"  first line\nsecond line"), "first line…"),
        (_msg(0, b"x" * 256, size=4000), "x" * 200 + "…"),
        (_msg(0, b"short", size=900), "short…"),
        (_msg(0, bytes(range(4)), opcode=BINARY), "00 01 02 03"),
        (_msg(0, bytes(range(30)), opcode=BINARY), " ".join(f"{b:02x}" for b in range(24)) + " …"),
        (
            _msg(0, b"text but binary", opcode=BINARY),
            "74 65 78 74 20 62 75 74 20 62 69 6e 61 72 79",
        ),
        (_msg(0, b"\xff\xfe not utf-8"), "ff fe 20 6e 6f 74 20 75 74 66 2d 38"),
        (_msg(0, "café".encode()[:4], size=5), "caf…"),  # a preview cut inside a character
        (_msg(0, b"bye", opcode=CLOSE, close_code=1000), "bye"),
        (_msg(0, b"", opcode=PING), ""),
        (_msg(0, b"keepalive", opcode=PING), "keepalive"),
        (_msg(0, b"\x07ix|", opcode=PONG), "07 69 78 7c"),
        (_msg(0, b"tab\tin text"), "tab\tin text"),
        (
            _msg(0, b"", size=5000, dropped=True),
            "(payload dropped to stay within the memory limit)",
        ),
    ],
)
def test_preview(message: WsMessage, expected: str) -> None:
    assert preview_text(message) == expected


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (_msg(0), "text"),
        (_msg(0, opcode=BINARY), "binary"),
        (_msg(0, b"", opcode=CLOSE, close_code=1001), "close 1001"),
        (_msg(0, b"", opcode=CLOSE), "close"),
        (_msg(0, opcode=PING), "ping"),
        (_msg(0, opcode=PONG), "pong"),
        (_msg(0, opcode=3), "opcode 3"),
    ],
)
def test_type(message: WsMessage, expected: str) -> None:
    assert type_text(message) == expected


@pytest.mark.parametrize(
    ("show", "text", "up", "down", "binary", "close"),
    [
        (Show.ALL, "", True, True, True, True),
        (Show.SENT, "", True, False, True, False),
        (Show.RECEIVED, "", False, True, False, True),
        (Show.TEXT, "", True, True, False, False),
        (Show.BINARY, "", False, False, True, False),
        (Show.CONTROL, "", False, False, False, True),
        (Show.ALL, "price", False, True, False, False),
        (Show.ALL, "ca fe", False, False, True, False),  # binary matches by its hex
        (Show.SENT, "price", False, False, False, False),
    ],
)
def test_filter_table(
    show: Show, text: str, up: bool, down: bool, binary: bool, close: bool
) -> None:
    messages = [
        _msg(0, b'{"op":"subscribe"}'),
        _msg(1, b'{"Price": 12}', direction=DOWN),
        _msg(2, b"\xca\xfe", opcode=BINARY),
        _msg(3, b"gone", direction=DOWN, opcode=CLOSE, close_code=1000),
    ]
    got = [accepts(m, show, text, entry_of(m).haystack) for m in messages]
    assert got == [up, down, binary, close]


def test_pages_append_in_order_and_overlaps_are_ignored(qtmodeltester: ModelTester) -> None:
    model = WsMessageModel()
    qtmodeltester.check(model)
    assert model.last_seq == -1 and model.rowCount() == 0
    model.append([_msg(0), _msg(1, b"two", direction=DOWN)])
    model.append([_msg(1, b"again"), _msg(2, b"three")])
    assert model.last_seq == 2 and model.fetched == 3
    assert _column(model, Column.PREVIEW) == ["hello", "two", "three"]
    assert _column(model, Column.DIRECTION) == ["↑", "↓", "↑"]
    assert _column(model, Column.SIZE) == ["5 B", "3 B", "5 B"]
    assert _column(model, Column.TYPE) == ["text"] * 3
    assert model.message_at(1) is not None and model.message_at(1).seq == 1  # type: ignore[union-attr]
    assert model.message_at(3) is None
    assert model.row_of(2) == 2 and model.row_of(9) == -1
    model.append([])
    model.clear()
    assert model.rowCount() == 0 and model.last_seq == -1


def test_one_insert_per_page(qtbot: QtBot) -> None:
    model = WsMessageModel()
    inserts: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, first, last: inserts.append((first, last)))
    model.append(_msg(seq) for seq in range(500))
    model.append(_msg(seq) for seq in range(500, 510))
    assert inserts == [(0, 499), (500, 509)]


def test_dropped_messages_leave_from_the_front(qtmodeltester: ModelTester) -> None:
    model = WsMessageModel()
    qtmodeltester.check(model)
    model.append(_msg(seq, direction=seq % 2) for seq in range(10))
    removals: list[tuple[int, int]] = []
    model.rowsRemoved.connect(lambda _p, first, last: removals.append((first, last)))
    model.drop_before(4)
    assert removals == [(0, 3)] and model.fetched == 6
    model.set_filter("", Show.RECEIVED)
    assert [model.message_at(r).seq for r in range(model.rowCount())] == [5, 7, 9]  # type: ignore[union-attr]
    model.drop_before(6)  # 4 (sent, hidden) and 5 go; one row
    assert removals[-1] == (0, 0) and model.fetched == 4
    model.drop_before(6)
    assert len(removals) == 2
    model.drop_before(100)
    assert model.rowCount() == 0 and model.fetched == 0 and model.last_seq == -1


def test_the_filter_keeps_applying_to_new_pages(qtmodeltester: ModelTester) -> None:
    model = WsMessageModel()
    qtmodeltester.check(model)
    model.append([_msg(0, b"ping me"), _msg(1, b"PONG", direction=DOWN)])
    model.set_filter("  pong ", Show.ALL)
    assert _column(model, Column.PREVIEW) == ["PONG"]
    model.append([_msg(2, b"no"), _msg(3, b"ping-pong", direction=DOWN)])
    assert _column(model, Column.PREVIEW) == ["PONG", "ping-pong"]
    assert model.fetched == 4
    model.set_filter("", Show.SENT)
    assert _column(model, Column.PREVIEW) == ["ping me", "no"]
    model.set_filter("", Show.ALL)
    assert model.rowCount() == 4


def test_roles() -> None:
    model = WsMessageModel()
    model.t0 = 999.5
    model.append(
        [_msg(0), _msg(1, b"\x00", direction=DOWN, opcode=BINARY), _msg(2, b"", opcode=PING)]
    )
    tooltip = int(Qt.ItemDataRole.ToolTipRole.value)
    foreground = int(Qt.ItemDataRole.ForegroundRole.value)
    align = int(Qt.ItemDataRole.TextAlignmentRole.value)
    assert model.data(model.index(0, Column.DIRECTION), tooltip) == "Sent by the client"
    assert model.data(model.index(1, Column.DIRECTION), tooltip) == "Received from the server"
    assert model.data(model.index(0, Column.TIME), tooltip) == "+0.500 s after the request"
    assert model.data(model.index(1, Column.SIZE), tooltip) == "1 byte"
    assert model.data(model.index(0, Column.DIRECTION), foreground) == UP_COLOR
    assert model.data(model.index(1, Column.DIRECTION), foreground) == DOWN_COLOR
    assert model.data(model.index(0, Column.PREVIEW), foreground) is None
    assert model.data(model.index(2, Column.PREVIEW), foreground) is not None  # control: muted
    assert model.data(model.index(0, Column.SIZE), align) == (
        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
    )
    assert model.data(model.index(5, 0)) is None
    assert model.data(QModelIndex()) is None
    assert model.headerData(Column.PREVIEW, Qt.Orientation.Horizontal) == "Data"
    assert model.data(model.index(0, Column.TIME)).endswith(".000")
