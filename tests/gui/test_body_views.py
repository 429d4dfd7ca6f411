"""The request and response views: headers that take the room their rows
need, query / cookie / form / multipart tables, bodies highlighted per
language, the JSON tree, images with their dimensions, hex, an 8 MiB body
rendered in the helper process behind a placeholder, Save body as and
Open raw."""

from __future__ import annotations

import concurrent.futures
import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from inspector.core import highlight
from inspector.core.bodyview import BodyKind
from inspector.core.flow import Flow, FlowState, Request, Response
from inspector.gui.body_text import _LIGHT
from inspector.gui.body_viewer import BodyViewer
from inspector.gui.message_view import MessageView
from inspector.gui.raw_view import RawDialog

MiB = 1024 * 1024


@pytest.fixture
def executor() -> Iterator[concurrent.futures.Executor]:
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        yield pool


@pytest.fixture
def view(qtbot: QtBot, executor: concurrent.futures.Executor) -> Iterator[MessageView]:
    widget = MessageView(executor)
    qtbot.addWidget(widget)
    widget.resize(900, 700)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.body.renderer.close()


def _flow(request: Request, response: Response | None = None) -> Flow:
    flow = Flow(id=1, client_addr=("127.0.0.1", 1), state=FlowState.COMPLETE)
    flow.request = request
    flow.response = response
    flow.t_start = flow.t_end = 1_700_000_000.0
    return flow


def _show(qtbot: QtBot, view: MessageView, message: Request | Response, flow: Flow) -> None:
    with qtbot.waitSignal(view.body.rendered, timeout=10_000):
        view.set_message("<b>summary</b>", message, flow)


def _response(body: bytes, content_type: str) -> Response:
    return Response(
        status=200,
        reason="OK",
        headers=[(b"Content-Type", content_type.encode())],
        body=body,
        body_size=len(body),
    )


def _colours(viewer: BodyViewer) -> set[str]:
    """The colours laid on the blocks in sight."""
    found: set[str] = set()
    block = viewer.text.firstVisibleBlock()
    for _ in range(40):
        if not block.isValid():
            break
        for piece in block.layout().formats():
            found.add(piece.format.foreground().color().name())
        block = block.next()
    return found


def test_headers_table_grows_with_its_rows(qtbot: QtBot, view: MessageView) -> None:
    long_url = "/" + "segment/" * 200
    headers = [(f"X-Header-{n}".encode(), b"value") for n in range(14)]
    request = Request(method="GET", host="a.test", target=long_url, headers=headers)
    _show(qtbot, view, request, _flow(request))
    qtbot.waitUntil(lambda: view.split.sizes()[0] >= view.parts.content_height() - 1)
    # All 14 rows show without scrolling, and the long URL takes one line.
    assert view.headers.verticalScrollBar().maximum() == 0
    assert view.split.sizes()[0] > 14 * 22
    assert view.summary.height() < 2 * view.summary.fontMetrics().height() + 8
    assert request.url in view.summary.toolTip()


def test_few_headers_leave_the_room_to_the_body(qtbot: QtBot, view: MessageView) -> None:
    request = Request(method="GET", host="a.test", target="/", headers=[(b"Host", b"a.test")])
    _show(qtbot, view, request, _flow(request))
    qtbot.waitUntil(lambda: view.split.sizes()[1] > view.split.sizes()[0])


def _table(view: MessageView, title: str) -> list[list[str]]:
    table = view.parts.tables[title]
    return [
        [str(table.model().data(table.model().index(r, c))) for c in range(table.columnCount())]
        for r in range(table.rowCount())
    ]


def test_query_and_cookie_tables(qtbot: QtBot, view: MessageView) -> None:
    request = Request(
        method="GET",
        host="a.test",
        target="/search?q=caf%C3%A9&page=2",
        headers=[(b"Cookie", b"sid=abc; theme=dark")],
    )
    _show(qtbot, view, request, _flow(request))
    assert _table(view, "Query") == [["q", "café"], ["page", "2"]]
    assert _table(view, "Cookies") == [["sid", "abc"], ["theme", "dark"]]
    tabs = [view.parts.tabText(i) for i in range(view.parts.count())]
    assert tabs == ["Headers (1)", "Query (2)", "Cookies (2)"]


def test_set_cookie_table_has_the_attributes(qtbot: QtBot, view: MessageView) -> None:
    request = Request(method="GET", host="a.test", target="/")
    response = Response(
        status=200,
        headers=[
            (b"Set-Cookie", b"sid=1; Path=/; Domain=a.test; Secure; HttpOnly; SameSite=Strict")
        ],
    )
    _show(qtbot, view, response, _flow(request, response))
    assert _table(view, "Cookies") == [
        ["sid", "1", "a.test", "/", "session", "yes", "yes", "Strict"]
    ]


def test_form_and_multipart_tables(qtbot: QtBot, view: MessageView) -> None:
    form = Request(
        method="POST",
        host="a.test",
        target="/f",
        headers=[(b"Content-Type", b"application/x-www-form-urlencoded")],
        body=b"user=ada&note=hello+world",
    )
    _show(qtbot, view, form, _flow(form))
    assert _table(view, "Form") == [["user", "ada"], ["note", "hello world"]]
    body = (
        b'--b1\r\nContent-Disposition: form-data; name="title"\r\n\r\nHi\r\n'
        b'--b1\r\nContent-Disposition: form-data; name="f"; filename="x.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nfile text\r\n--b1--\r\n"
    )
    parts = Request(
        method="POST",
        host="a.test",
        target="/u",
        headers=[(b"Content-Type", b"multipart/form-data; boundary=b1")],
        body=body,
    )
    _show(qtbot, view, parts, _flow(parts))
    assert "Form" not in view.parts.tables
    assert _table(view, "Parts") == [
        ["title", "", "", "2 bytes", "Hi"],
        ["f", "x.txt", "text/plain", "9 bytes", "file text"],
    ]


@pytest.mark.parametrize(
    ("content_type", "body", "token", "style"),
    [
        ("application/json", b'{"name": "ada", "n": 42}', '"ada"', highlight.Style.STRING),
        ("application/xml", b'<?xml version="1.0"?>\n<a k="v">t</a>', "a", highlight.Style.TAG),
        ("text/html", b"<html><body class='x'>hi</body></html>", "body", highlight.Style.TAG),
        ("text/javascript", b"function f() { return 1; }", "function", highlight.Style.KEYWORD),
        ("text/css", b"body { color: #123456; }", "#123456", highlight.Style.NUMBER),
    ],
)
def test_bodies_are_highlighted(
    qtbot: QtBot,
    view: MessageView,
    content_type: str,
    body: bytes,
    token: str,
    style: highlight.Style,
) -> None:
    request = Request(method="GET", host="a.test", target="/")
    response = _response(body, content_type)
    _show(qtbot, view, response, _flow(request, response))
    viewer = view.body
    text = viewer.text.toPlainText()
    document = viewer.text.document()
    at = text.index(token)
    block = document.findBlock(at)
    offset = at - block.position()
    colours = {
        piece.format.foreground().color().name()
        for piece in block.layout().formats()
        if piece.start <= offset < piece.start + piece.length
    }
    assert colours == {QColor(_LIGHT[style]).name()}


def test_json_tree(qtbot: QtBot, view: MessageView) -> None:
    body = json.dumps({"user": {"name": "ada", "langs": ["en", "fr"]}, "n": 1}).encode()
    request = Request(method="GET", host="a.test", target="/")
    response = _response(body, "application/json")
    with qtbot.waitSignal(view.body.tree_shown, timeout=10_000):
        view.set_message("", response, _flow(request, response))
    viewer = view.body
    assert viewer.view_tree.isVisible()
    viewer.view_tree.click()
    assert viewer._stack.currentWidget() is viewer.tree
    model = viewer.tree.json_model
    root = model.index(0, 0)
    assert model.rowCount(root) == 2
    user = model.index(0, 0, root)
    assert model.data(user) == "user" and model.data(model.index(0, 1, root)) == "{2 keys}"
    langs = model.index(1, 0, user)
    assert model.data(model.index(1, 1, langs)) == '"fr"'
    assert model.parent(model.index(1, 0, langs)) == langs
    viewer.view_text.click()
    assert viewer._stack.currentWidget() is viewer.text


def _png(width: int, height: int) -> bytes:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("teal"))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]
    return bytes(data.data())


def test_image_shows_its_size_and_dimensions(qtbot: QtBot, view: MessageView) -> None:
    png = _png(320, 200)
    request = Request(method="GET", host="a.test", target="/i.png")
    response = _response(png, "image/png")
    _show(qtbot, view, response, _flow(request, response))
    viewer = view.body
    assert viewer.kind is BodyKind.IMAGE
    assert (viewer.image_size.width(), viewer.image_size.height()) == (320, 200)
    assert viewer.image.pixmap().width() == 320
    assert f"Image, PNG, 320 × 200 px, {len(png):,} bytes" in viewer._note.text()


def test_binary_shows_hex(qtbot: QtBot, view: MessageView) -> None:
    request = Request(method="GET", host="a.test", target="/b")
    response = _response(bytes(range(256)) * 4, "application/octet-stream")
    _show(qtbot, view, response, _flow(request, response))
    assert view.body.kind is BodyKind.BINARY
    lines = view.body.text.toPlainText().splitlines()
    assert lines[0] == "00000000  " + " ".join(f"{b:02x}" for b in range(16)) + "  " + "." * 16
    assert len(lines) == 64


def test_an_8_mib_body_renders_in_the_helper_behind_a_placeholder(
    qtbot: QtBot, view: MessageView, monkeypatch: pytest.MonkeyPatch
) -> None:
    lexed_here: list[str] = []
    real_lexer = highlight.lexer

    def watched(language: str) -> object:
        lexed_here.append(language)
        return real_lexer(language)

    monkeypatch.setattr(highlight, "lexer", watched)
    items = [{"id": i, "name": f"item {i}", "tags": ["a", "b"], "ok": True} for i in range(135_000)]
    body = json.dumps(items).encode()
    assert len(body) >= 8 * MiB
    request = Request(method="GET", host="a.test", target="/big")
    response = _response(body, "application/json")
    viewer = view.body
    view.set_message("", response, _flow(request, response))
    assert viewer._stack.currentWidget() is viewer._placeholder
    assert viewer._placeholder.text().startswith("Rendering 8.")
    with qtbot.waitSignals([viewer.rendered, viewer.coloured, viewer.tree_shown], timeout=90_000):
        pass
    assert viewer.kind is BodyKind.JSON
    assert viewer.text.document().blockCount() == len(json.dumps(items, indent=2).splitlines())
    assert QColor(_LIGHT[highlight.Style.TAG]).name() in _colours(viewer)
    assert viewer.renderer.started == 1 and lexed_here == []
    assert len(viewer.tree.json_model.tree) == 1 + len(items) * 7


def test_save_body_writes_the_exact_bytes(qtbot: QtBot, view: MessageView, tmp_path: Path) -> None:
    body = bytes(range(256)) * 10
    request = Request(method="GET", host="a.test", target="/files/blob.bin")
    response = _response(body, "application/octet-stream")
    _show(qtbot, view, response, _flow(request, response))
    target = tmp_path / "saved.bin"
    with qtbot.waitSignal(view.saver.saved, timeout=5000) as saved:
        view.save_body.click()
        chooser = next(w for w in view.findChildren(QFileDialog) if w.isVisible())
        assert chooser.selectedFiles()[0].endswith("blob.bin")
        chooser.selectFile(str(target))
        chooser.accept()
    assert saved.args == [str(target)]
    assert target.read_bytes() == body


def test_open_raw_shows_the_wire_form(qtbot: QtBot, view: MessageView) -> None:
    request = Request(
        method="POST",
        host="a.test",
        target="/p?x=1",
        headers=[(b"Host", b"a.test"), (b"Content-Type", b"text/plain")],
        body=b"hello\x00",
    )
    _show(qtbot, view, request, _flow(request))
    view.open_raw.click()
    dialog = next(w for w in view.findChildren(RawDialog) if w.isVisible())
    qtbot.waitUntil(lambda: dialog.loader.done)
    assert dialog.text.toPlainText() == (
        "POST /p?x=1 HTTP/1.1\nHost: a.test\nContent-Type: text/plain\n\nhello\u2400"
    )
    assert not dialog.notes.isVisible()
    dialog.close()


def test_open_raw_notes_a_decoded_body(qtbot: QtBot, view: MessageView) -> None:
    request = Request(method="GET", host="a.test", target="/")
    response = Response(
        status=200,
        reason="OK",
        headers=[(b"Content-Encoding", b"gzip")],
        body=gzip.compress(b"plain words"),
    )
    _show(qtbot, view, response, _flow(request, response))
    view.open_raw.click()
    dialog = next(w for w in view.findChildren(RawDialog) if w.isVisible())
    assert "gzip-encoded" in dialog.notes.text()
    dialog.decode.setChecked(True)
    qtbot.waitUntil(lambda: dialog.loader.done)
    assert dialog.text.toPlainText().endswith("\n\nplain words")
    assert "decoded from gzip" in dialog.notes.text()
    dialog.close()
