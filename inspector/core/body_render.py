"""A body rendered for the viewer in parts: the text (pretty JSON, text or
a hex dump) first, then its highlighting runs, then a JSON tree.

The same generator serves both places a body is rendered: a worker thread
of the window for small bodies, and the render helper process for large
ones, which sends each part as soon as it is ready so the text shows
before its colours. Parts are plain dicts of str, int, bool and bytes, as
they cross the process boundary in msgpack; the window reads them back
with ``text_part``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from inspector.core import bodyview
from inspector.core.bodyview import BodyKind, BodyView, classify, media_type
from inspector.core.flow import Message, Response
from inspector.core.highlight import Runs, highlight, language_for
from inspector.core.json_tree import JsonTree, build_tree

HIGHLIGHT_LIMIT = 64 * 1024 * 1024
"""Texts longer than this (in characters) are shown without colours."""
_KEPT_HEADERS = (b"content-type", b"content-encoding")

Part = tuple[str, dict[str, Any]]


def job_to_wire(message: Message, show_all: bool) -> dict[str, Any]:
    """What the helper needs of ``message`` to render it."""
    return {
        "headers": [[k, v] for k, v in message.headers if k.lower() in _KEPT_HEADERS],
        "body": message.body,
        "body_size": message.body_size,
        "body_truncated": message.body_truncated,
        "show_all": show_all,
    }


def job_from_wire(job: dict[str, Any]) -> tuple[Message, bool]:
    message = Response(
        headers=[(bytes(k), bytes(v)) for k, v in job["headers"]],
        body=bytes(job["body"]),
        body_size=int(job["body_size"]),
        body_truncated=bool(job["body_truncated"]),
    )
    return message, bool(job["show_all"])


def render_parts(
    message: Message, show_all: bool, stop: Callable[[], bool] | None = None
) -> Iterator[Part]:
    """``("text", ...)``, then ``("runs", ...)`` when the text has a
    language, then ``("tree", ...)`` for JSON. ``stop`` is handed to the
    highlighter (see ``highlight``)."""
    view = bodyview.render(message, show_all)
    if view.truncated and classify(media_type(message), view.data) is BodyKind.JSON:
        # JSON cut short is no longer JSON: whole, it pretty-prints.
        view = bodyview.render(message, True)
    language = _language(message, view)
    text = _lines(view.text)
    yield "text", _text_part(view, text, language)
    if language is not None and len(text) <= HIGHLIGHT_LIMIT:
        runs = highlight(text, language, stop)
        yield "runs", {"starts": runs.starts.tobytes(), "styles": runs.styles.tobytes()}
    if view.kind is BodyKind.JSON:
        tree = build_tree(json.loads(view.text))
        yield "tree", tree.to_bytes()


@dataclass(slots=True, frozen=True)
class TextPart:
    kind: BodyKind
    text: str
    note: str
    truncated: bool
    language: str | None
    size: int
    """Bytes of the decoded body."""
    data: bytes
    """The decoded body for an image, else empty."""


def text_part(part: dict[str, Any]) -> TextPart:
    return TextPart(
        BodyKind(part["kind"]),
        bytes(part["text"]).decode("utf-8", "surrogatepass"),
        str(part["note"]),
        bool(part["truncated"]),
        part["language"] or None,
        int(part["size"]),
        bytes(part["data"]),
    )


def runs_part(part: dict[str, Any]) -> Runs:
    runs = Runs()
    runs.starts.frombytes(part["starts"])
    runs.styles.frombytes(part["styles"])
    return runs


def tree_part(part: dict[str, Any]) -> JsonTree:
    return JsonTree.from_bytes(part)


def _language(message: Message, view: BodyView) -> str | None:
    if view.kind is BodyKind.JSON:
        return "json"
    if view.kind is BodyKind.TEXT:
        return language_for(media_type(message), view.text[:256])
    return None


def _text_part(view: BodyView, text: str, language: str | None) -> dict[str, Any]:
    return {
        "kind": view.kind.value,
        "text": text.encode("utf-8", "surrogatepass"),
        "note": view.note,
        "truncated": view.truncated,
        "language": language or "",
        "size": len(view.data),
        "data": view.data if view.kind is BodyKind.IMAGE else b"",
    }


def _lines(text: str) -> str:
    """``text`` as a Qt document holds it, so positions agree: no CR (a
    CRLF or a lone CR would shift every position after it by one)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Qt reads these as frame marks and paragraph ends, not characters.
    for mark in ("\u2029", "\ufdd0", "\ufdd1"):
        if mark in text:
            text = text.replace(mark, "\ufffd")
    return text
