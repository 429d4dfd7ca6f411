"""The composer's request editor: method, URL, headers and body.

What is typed is checked as it is typed, by the same functions the engine
refuses with (``core.compose``), so the editor says what is wrong before
Send and the engine's refusal, if any, is a rare second line of defence.
Content-Length and Transfer-Encoding are the engine's to set from the body,
so they are not edited here. Choosing JSON or Form for the body adds the
matching Content-Type when the headers have none.

Pasting text that starts with ``curl `` into the URL field imports it.

Signals:
    changed(): anything in the request changed (the problems were re-checked).
    curl_pasted(str): a curl command was pasted into the URL field.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QComboBox, QLineEdit, QTabWidget, QVBoxLayout, QWidget

from inspector.core.compose import ComposeError, check_header, check_method, check_url
from inspector.core.curl import CurlRequest
from inspector.core.flow import Request
from inspector.gui.composer_body import CONTENT_TYPES, BodyEditor
from inspector.gui.composer_pairs import PairTable

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
ENGINE_SETS = frozenset({"content-length", "transfer-encoding"})
"""Headers the engine sets from the body: loaded requests leave them out."""

Headers = list[tuple[bytes, bytes]]


def encode(text: str) -> bytes:
    """A header's text as bytes: latin-1 (as the window shows headers), or
    UTF-8 for characters beyond it."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def is_curl(text: str) -> bool:
    return text.lstrip().startswith("curl ")


class UrlEdit(QLineEdit):
    """The URL field; a pasted curl command goes to ``curl_pasted`` whole
    (a line edit would join its lines)."""

    curl_pasted = Signal(str)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Paste):
            text = QGuiApplication.clipboard().text()
            if is_curl(text):
                self.curl_pasted.emit(text)
                return
        super().keyPressEvent(event)


class RequestEditor(QWidget):
    changed = Signal()
    curl_pasted = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.method = QComboBox()
        self.method.setEditable(True)
        self.method.addItems(METHODS)
        self.method.setMinimumContentsLength(8)
        self.method.currentTextChanged.connect(self._changed)
        self.url = UrlEdit()
        self.url.setPlaceholderText("https://example.com/path?query  (or paste a curl command)")
        self.url.curl_pasted.connect(self.curl_pasted)
        self._url_before = ""
        self.url.textEdited.connect(self._url_edited)
        self.url.textChanged.connect(self._changed)
        self.headers = PairTable("header")
        self.headers.changed.connect(self._changed)
        self.body = BodyEditor()
        self.body.changed.connect(self._changed)
        self.body.mode_changed.connect(self._body_mode)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.headers, "Headers")
        self.tabs.addTab(self.body, "Body")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs, 1)
        self.error: str | None = None
        """What stops the request going out, or None."""
        self.warning: str | None = None
        """What is odd but goes out anyway (invalid JSON), or None."""

    # Loading

    def load(self, method: str, url: str, headers: Headers, body: bytes) -> None:
        self.method.setCurrentText(method)
        self.url.setText(url)
        self.headers.set_pairs(
            [
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in headers
                if name.decode("latin-1").lower() not in ENGINE_SETS
            ]
        )
        content_type = next(
            (v.decode("latin-1") for n, v in headers if n.lower() == b"content-type"), ""
        )
        self.body.set_body(body, content_type)
        self.tabs.setCurrentWidget(self.body if body else self.headers)
        self._changed()

    def load_request(self, request: Request) -> None:
        self.load(request.method, request.url, list(request.headers), request.body)

    def load_curl(self, request: CurlRequest) -> None:
        self.load(request.method, request.url, request.headers, request.body)

    # Reading

    def request(self) -> tuple[str, str, Headers, bytes]:
        """Method, URL, headers and body as they go out. Raises
        ComposeError when they cannot."""
        method, url = self.method.currentText().strip(), self.url.text().strip()
        check_method(method)
        check_url(url)
        headers = [(encode(name), encode(value)) for name, value in self.headers.pairs()]
        for name, value in headers:
            check_header(name, value)
        return method, url, headers, self.body.body()

    def _changed(self) -> None:
        self._url_before = self.url.text()
        try:
            self.request()
        except ComposeError as exc:
            self.error = str(exc)[:1].upper() + str(exc)[1:]
        else:
            self.error = None
        if is_curl(self.url.text()):
            self.error = "That is a curl command: paste it whole, or use Import curl…"
        self.warning = self.body.problem()
        self.changed.emit()

    def _url_edited(self, text: str) -> None:
        # A paste through the context menu, or a drop, arrives here: text
        # that came in one piece, not "curl " typed key by key.
        pasted = len(text) - len(self._url_before) > 1
        self._url_before = text
        if pasted and is_curl(text):
            self.url.clear()
            self._url_before = ""
            self.curl_pasted.emit(text)

    def _body_mode(self, mode: str) -> None:
        wanted = CONTENT_TYPES.get(mode)
        if wanted is not None and self.headers.value_of("Content-Type") is None:
            self.headers.add("Content-Type", wanted)
