"""The filter language's terms: one key and value compiled into a test.

A term becomes a ``Term``: a predicate on a flow's summary row
(``core.summary.FlowRow``) for the keys a row can answer, or a predicate on
a whole flow (``Subject``: the flow, its row and its decoded bodies) for
headers and bodies. Every test is built once, when the filter is parsed:
values are lower-cased and regular expressions compiled here, so a row
costs one Python call per term.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from inspector.core.decode import DecodeError, decode_body
from inspector.core.flow import Flow, FlowState, HeaderSeq, Message
from inspector.core.summary import FlowRow, row_of, summarize

RowTest = Callable[[FlowRow], bool]
TextTest = Callable[[str], bool]


class FilterError(ValueError):
    """The filter text is malformed. ``position`` is the 0-based offset of
    the character the message is about."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at character {position + 1})")
        self.message = message
        self.position = position


@dataclass(slots=True)
class Value:
    """A term's value as written: plain or quoted text, or a regex."""

    text: str
    position: int
    regex: re.Pattern[str] | None = None


class Subject:
    """One flow being judged whole: its row, and its bodies decoded once."""

    __slots__ = ("_bodies", "flow", "row")

    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.row = row_of(summarize(flow))
        self._bodies: dict[bool, str] = {}

    def body(self, response: bool) -> str:
        text = self._bodies.get(response)
        if text is None:
            message = self.flow.response if response else self.flow.request
            text = _body_text(message) if message is not None else ""
            self._bodies[response] = text
        return text


FlowTest = Callable[[Subject], bool]


@dataclass(slots=True)
class Term:
    """One compiled term. ``row`` is None for a term only a whole flow
    answers (headers, bodies)."""

    source: str
    row: RowTest | None
    flow: FlowTest
    uses_response: bool = False
    body: tuple[str, Value] | None = None
    """For a body term, its side (``req``, ``res`` or empty for either)
    and value: what a body viewer highlights."""
    guard: Guard | None = None
    """For a term on the request's host, method or path: which of them it
    reads and its test, so it can be judged on the request itself before
    any row is built (the rules' quick test)."""


Guard = tuple[str, "TextTest"]
"""``("host" | "method" | "path" | "status", test)``; a status guard
reads the response's status as text, and holds only where the flow has
a response (the rules judged at the response)."""


def text_test(value: Value) -> TextTest:
    """Substring (case-insensitive) or regex search."""
    if value.regex is not None:
        search = value.regex.search
        return lambda text: search(text) is not None
    needle = value.text.lower()
    return lambda text: needle in text.lower()


def exact_test(value: Value) -> TextTest:
    if value.regex is not None:
        search = value.regex.search
        return lambda text: search(text) is not None
    wanted = value.text.lower()
    return lambda text: text.lower() == wanted


def row_term(source: str, test: RowTest, uses_response: bool = False) -> Term:
    return Term(source, test, lambda subject: test(subject.row), uses_response)


def url_term(source: str, value: Value) -> Term:
    test = text_test(value)
    return row_term(source, lambda row: test(row.url))


def method_term(source: str, value: Value) -> Term:
    test = exact_test(value)
    term = row_term(source, lambda row: test(row.method))
    term.guard = ("method", test)
    return term


def scheme_term(source: str, value: Value) -> Term:
    test = exact_test(value)
    # A flow's scheme turns ws/wss when the server agrees to the upgrade.
    may_change = value.regex is not None or value.text.lower().startswith("w")
    return row_term(source, lambda row: test(row.scheme), may_change)


def host_term(source: str, value: Value) -> Term:
    test = text_test(value)
    term = row_term(source, lambda row: test(row.host))
    term.guard = ("host", test)
    return term


def client_term(source: str, value: Value) -> Term:
    """``client:chromium``: the launched client that made the flow, by
    name (exactly, or a regex)."""
    test = exact_test(value)
    return row_term(source, lambda row: test(row.client))


def path_term(source: str, value: Value) -> Term:
    test = text_test(value)
    term = row_term(source, lambda row: test(row.path.partition("?")[0]))
    term.guard = ("path", test)
    return term


def status_term(source: str, value: Value) -> Term:
    text = value.text.lower()
    test: RowTest
    if value.regex is not None:
        raise FilterError("status takes a code, not a regex", value.position)
    if text == "error":
        test = _failed
    elif text == "pending":

        def test(row: FlowRow) -> bool:
            return not row.has_response and not row.finished
    elif len(text) == 3 and text[0] in "12345" and text[1:] == "xx":
        low = int(text[0]) * 100

        def test(row: FlowRow) -> bool:
            return _answered(row) and low <= row.status < low + 100

        term = row_term(source, test, True)
        term.guard = ("status", lambda status: status[:1] == text[0] and len(status) == 3)
        return term
    elif len(text) == 3 and text.isascii() and text.isdigit():
        code = int(text)

        def test(row: FlowRow) -> bool:
            return _answered(row) and row.status == code

        term = row_term(source, test, True)
        term.guard = ("status", lambda status: status == text)
        return term
    else:
        raise FilterError(
            f"status:{value.text} is not a status (try 404, 4xx, error or pending)",
            value.position,
        )
    return row_term(source, test, True)


def _failed(row: FlowRow) -> bool:
    return row.state is FlowState.FAILED


def _answered(row: FlowRow) -> bool:
    """Whether the row's status is an answer: a tunnel that failed (its
    client rejected the CA, say) got a 200 that led nowhere, and the table
    shows it as the failure it is."""
    return row.has_response and not (row.is_tunnel and row.state is FlowState.FAILED)


_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_FONT_TYPES = ("application/font-", "application/x-font-", "application/vnd.ms-fontobject")
TYPES = ("json", "html", "js", "css", "image", "font", "media", "xml", "form", "ws", "other")


def type_of(row: FlowRow) -> str:
    """The kind ``type:`` names for a row (``tunnel`` for CONNECT flows)."""
    if row.is_websocket:
        return "ws"
    if row.is_tunnel:
        return "tunnel"
    return _content_kind(row.content_type)


@functools.lru_cache(maxsize=1024)
def _content_kind(content_type: str) -> str:
    """The kind of a content type; remembered, as a capture has few."""
    kind = content_type.lower()
    major, _, minor = kind.partition("/")
    if "json" in minor:
        return "json"
    if minor in ("html", "xhtml+xml"):
        return "html"
    if "javascript" in minor or "ecmascript" in minor:
        return "js"
    if kind == "text/css":
        return "css"
    if major == "image":
        return "image"
    if major == "font" or kind.startswith(_FONT_TYPES):
        return "font"
    if major in ("audio", "video"):
        return "media"
    if minor == "xml" or minor.endswith("+xml"):
        return "xml"
    if kind in _FORM_TYPES:
        return "form"
    return "other"


def type_term(source: str, value: Value) -> Term:
    text = value.text.lower()
    if text == "websocket":
        text = "ws"
    test: RowTest
    if value.regex is None and (text in TYPES or text == "tunnel"):

        def test(row: FlowRow) -> bool:
            return type_of(row) == text
    else:
        match = text_test(value)

        def test(row: FlowRow) -> bool:
            return match(row.content_type)

    return row_term(source, test, True)


_SIZE_UNITS = {"": 1.0, "b": 1.0, "k": 1024.0, "kb": 1024.0, "m": 1048576.0, "mb": 1048576.0}
_DURATION_UNITS = {"ms": 0.001, "s": 1.0}
_NUMBER = re.compile(r"(\d+(?:\.\d+)?|\.\d+)([a-z]*)", re.ASCII)
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": float.__gt__,
    ">=": float.__ge__,
    "<": float.__lt__,
    "<=": float.__le__,
    "=": float.__eq__,
}


def _number(value: Value, units: dict[str, float], what: str, hint: str) -> float:
    match = _NUMBER.fullmatch(value.text.lower())
    if value.regex is not None or match is None or match[2] not in units:
        raise FilterError(f"{value.text!r} is not a {what} (try {hint})", value.position)
    return float(match[1]) * units[match[2]]


def size_term(source: str, op: str, value: Value) -> Term:
    limit = _number(value, _SIZE_UNITS, "size", "10k or 1m")
    compare = _COMPARE[op]

    def test(row: FlowRow) -> bool:
        return row.size >= 0 and compare(float(row.size), limit)

    return row_term(source, test, True)


def duration_term(source: str, op: str, value: Value) -> Term:
    limit = _number(value, _DURATION_UNITS, "duration", "500ms or 2s")
    compare = _COMPARE[op]

    def test(row: FlowRow) -> bool:
        duration = row.duration
        return duration is not None and compare(duration, limit)

    return row_term(source, test, True)


def _tls(row: FlowRow) -> bool:
    return row.scheme in ("https", "wss")


_IS: dict[str, tuple[RowTest, bool]] = {
    "error": (_failed, True),
    "tls": (_tls, False),
    "ws": (lambda row: row.is_websocket, True),
    "websocket": (lambda row: row.is_websocket, True),
    "imported": (lambda row: row.is_imported, False),
    "replay": (lambda row: row.is_replay, False),
    "paused": (lambda row: row.is_paused, False),
    "composed": (lambda row: row.is_composed, False),
}


def is_term(source: str, value: Value) -> Term:
    found = _IS.get(value.text.lower()) if value.regex is None else None
    if found is None:
        hint = "try error, tls, ws, imported, replay, paused or composed"
        raise FilterError(f"is:{value.text} is not a flag ({hint})", value.position)
    return row_term(source, found[0], found[1])


def header_term(source: str, name: Value, wanted: Value | None, side: str) -> Term:
    """``header:Name`` or ``header:Name=value``; ``side`` is ``req``,
    ``res`` or empty (either message)."""
    name_test = exact_test(name)
    value_test = text_test(wanted) if wanted is not None else None

    def in_headers(headers: HeaderSeq) -> bool:
        for key, value in headers:
            if name_test(key.decode("latin-1")) and (
                value_test is None or value_test(value.decode("latin-1"))
            ):
                return True
        return False

    def test(subject: Subject) -> bool:
        flow = subject.flow
        if side != "res" and in_headers(flow.request.headers):
            return True
        return side != "req" and flow.response is not None and in_headers(flow.response.headers)

    return Term(source, None, test, side != "req")


def body_term(source: str, value: Value, side: str) -> Term:
    match = text_test(value)

    def test(subject: Subject) -> bool:
        if side != "res" and match(subject.body(False)):
            return True
        return side != "req" and match(subject.body(True))

    return Term(source, None, test, side != "req", (side, value))


def _body_text(message: Message) -> str:
    body = message.body
    if not body:
        return ""
    # A body that lies about its encoding is searched as captured.
    with contextlib.suppress(DecodeError):
        body = decode_body(body, message.header(b"content-encoding")).data
    return body.decode("utf-8", "replace")
