"""Syntax highlighting of a body's text as format runs: which lexer suits a
body, and the text cut into runs of one token category each.

A run is a start position and a category (``Style``); it lasts until the
next run starts. Positions count UTF-16 code units, as ``QTextDocument``
does, so the viewer lays the runs on its document without converting.
Categories, not colours, leave the colours to the window's theme.

Lexing is slow (about 2 MB/s of JSON with pygments), so the window runs it
off its thread: on a worker for small bodies, in the render helper process
for large ones.
"""

from __future__ import annotations

import array
import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pygments.lexer import Lexer  # type: ignore[import-untyped]
from pygments.token import (  # type: ignore[import-untyped]
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    _TokenType,
)

LANGUAGES = ("json", "xml", "html", "javascript", "css")

_MEDIA = {
    "application/json": "json",
    "text/json": "json",
    "application/xml": "xml",
    "text/xml": "xml",
    "image/svg+xml": "xml",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/javascript": "javascript",
    "application/x-javascript": "javascript",
    "application/ecmascript": "javascript",
    "text/javascript": "javascript",
    "text/ecmascript": "javascript",
    "text/css": "css",
}
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
CHECK_EVERY = 50_000
"""Tokens between two calls of ``highlight``'s ``stop`` check."""


class Style(enum.IntEnum):
    PLAIN = 0
    KEYWORD = 1
    STRING = 2
    NUMBER = 3
    COMMENT = 4
    TAG = 5
    """HTML and XML tags, and JSON object keys."""
    ATTRIBUTE = 6
    PUNCTUATION = 7
    CONSTANT = 8
    """true, false, null; entities."""
    NAME = 9
    """Functions, classes, builtins."""


@dataclass(slots=True)
class Runs:
    starts: array.array[int] = field(default_factory=lambda: array.array("I"))
    styles: array.array[int] = field(default_factory=lambda: array.array("B"))

    def add(self, start: int, style: int) -> None:
        if self.styles and self.styles[-1] == style:
            return
        if self.starts and self.starts[-1] == start:
            self.styles[-1] = style
            if len(self.styles) > 1 and self.styles[-2] == style:
                self.starts.pop()
                self.styles.pop()
            return
        self.starts.append(start)
        self.styles.append(style)

    def spans(self, end: int) -> Iterable[tuple[int, int, int]]:
        """``(start, stop, style)`` of each styled run, the last ending at
        ``end``."""
        for i, start in enumerate(self.starts):
            stop = self.starts[i + 1] if i + 1 < len(self.starts) else end
            if self.styles[i] != Style.PLAIN and stop > start:
                yield start, stop, self.styles[i]


def language_for(media_type: str, head: str) -> str | None:
    """The language of a body of ``media_type`` that starts with ``head``,
    or None for text with no highlighting."""
    media = media_type.strip().lower()
    if media in _MEDIA:
        return _MEDIA[media]
    if media.endswith("+json"):
        return "json"
    if media.endswith("+xml"):
        return "xml"
    if media not in ("", "application/octet-stream") and not media.startswith("text/"):
        return None
    start = head.lstrip()[:64].lower()
    if start.startswith(("<!doctype html", "<html")):
        return "html"
    if start.startswith("<?xml"):
        return "xml"
    return None


def lexer(language: str) -> Lexer:
    """A pygments lexer for one of ``LANGUAGES``; raises KeyError."""
    # Imported one by one: pygments' registry would import every lexer.
    if language == "json":
        from pygments.lexers.data import JsonLexer  # type: ignore[import-untyped]

        return JsonLexer(stripnl=False, ensurenl=False)
    if language == "xml":
        from pygments.lexers.html import XmlLexer  # type: ignore[import-untyped]

        return XmlLexer(stripnl=False, ensurenl=False)
    if language == "html":
        from pygments.lexers.html import HtmlLexer

        return HtmlLexer(stripnl=False, ensurenl=False)
    if language == "javascript":
        from pygments.lexers.javascript import JavascriptLexer  # type: ignore[import-untyped]

        return JavascriptLexer(stripnl=False, ensurenl=False)
    if language == "css":
        from pygments.lexers.css import CssLexer  # type: ignore[import-untyped]

        return CssLexer(stripnl=False, ensurenl=False)
    raise KeyError(language)


def style_of(token: _TokenType) -> Style:
    if token in Keyword.Constant or token in Name.Entity or token in Name.Builtin.Pseudo:
        return Style.CONSTANT
    if token in Keyword:
        return Style.KEYWORD
    if token in Name.Tag:
        return Style.TAG
    if token in Name.Attribute:
        return Style.ATTRIBUTE
    if token in String:
        return Style.STRING
    if token in Number:
        return Style.NUMBER
    if token in Comment:
        return Style.COMMENT
    if token in Punctuation or token in Operator:
        return Style.PUNCTUATION
    if token in Name.Function or token in Name.Class or token in Name.Builtin:
        return Style.NAME
    return Style.PLAIN


class Stopped(Exception):
    """``highlight``'s ``stop`` said the work is no longer wanted."""


def highlight(text: str, language: str, stop: Callable[[], bool] | None = None) -> Runs:
    """The runs of ``text`` lexed as ``language``. ``stop`` is asked now
    and then; when it answers True, raises Stopped."""
    runs = Runs()
    styles: dict[_TokenType, Style] = {}
    ascii_only = text.isascii()
    position = 0
    tokens = lexer(language).get_tokens_unprocessed(text)
    for count, (_, token, value) in enumerate(tokens, 1):
        style = styles.get(token)
        if style is None:
            style = styles[token] = style_of(token)
        runs.add(position, style)
        position += len(value)
        if not ascii_only and not value.isascii():
            position += len(_ASTRAL.findall(value))
        if stop is not None and count % CHECK_EVERY == 0 and stop():
            raise Stopped
    return runs
