"""Split a pasted shell command line into its words, as bash would.

``shlex`` knows single and double quotes but not bash's ANSI-C quoting,
``$'...'``, which Chrome's and Firefox's "Copy as cURL" use for anything
holding a quote, a line break or a control character. This splitter reads
what such a copy holds: unquoted words with backslash escapes, '...',
"..." (where a backslash escapes only ``$ ` " \\`` and a line break),
$'...' with its escapes (RFC-less, as bash's manual lists them),
backslash-newline continuations, Windows ``^`` continuations, and ``#``
comments. Nothing is expanded or run: ``$HOME`` stays as written.
"""

from __future__ import annotations

_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}
_HEX = "0123456789abcdefABCDEF"


class ShellSyntaxError(ValueError):
    """The text is not a complete command line; one line why."""


def split_words(text: str) -> list[str]:
    """The words of ``text``. Raises ShellSyntaxError on an unclosed quote."""
    words: list[str] = []
    word: list[str] | None = None
    i, end = 0, len(text)
    while i < end:
        char = text[i]
        if char in " \t\r\n":
            if word is not None:
                words.append("".join(word))
                word = None
            i += 1
        elif char == "#" and word is None:
            newline = text.find("\n", i)
            i = end if newline == -1 else newline
        elif char in "\\^" and text.startswith("\n", i + 1):
            i += 2  # a continuation
        elif char in "\\^" and text.startswith("\r\n", i + 1):
            i += 3
        elif char == "\\":
            word = word if word is not None else []
            if i + 1 < end:
                word.append(text[i + 1])
            i += 2
        elif char == "'":
            word = word if word is not None else []
            close = text.find("'", i + 1)
            if close == -1:
                raise ShellSyntaxError("a single quote (') is never closed")
            word.append(text[i + 1 : close])
            i = close + 1
        elif char == '"':
            word = word if word is not None else []
            i = _double(text, i + 1, word)
        elif char == "$" and text.startswith("'", i + 1):
            word = word if word is not None else []
            i = _ansi_c(text, i + 2, word)
        elif char in ";|&<>" and word is None:
            raise ShellSyntaxError(f"{char!r} joins commands; paste one curl command")
        else:
            word = word if word is not None else []
            word.append(char)
            i += 1
    if word is not None:
        words.append("".join(word))
    return words


def _double(text: str, i: int, word: list[str]) -> int:
    """Read a "..." string from ``i``; where it ends."""
    end = len(text)
    while i < end:
        char = text[i]
        if char == '"':
            return i + 1
        if char == "\\" and i + 1 < end and text[i + 1] in '$`"\\\n':
            if text[i + 1] != "\n":
                word.append(text[i + 1])
            i += 2
            continue
        word.append(char)
        i += 1
    raise ShellSyntaxError('a double quote (") is never closed')


def _ansi_c(text: str, i: int, word: list[str]) -> int:
    """Read a $'...' string from ``i`` (after the quote); where it ends."""
    end = len(text)
    while i < end:
        char = text[i]
        if char == "'":
            return i + 1
        if char != "\\" or i + 1 >= end:
            word.append(char)
            i += 1
            continue
        code = text[i + 1]
        i += 2
        if code in _SIMPLE_ESCAPES:
            word.append(_SIMPLE_ESCAPES[code])
        elif code in "01234567":
            digits = _run(text, i - 1, "01234567", 3)
            word.append(chr(int(digits, 8) & 0xFF))
            i += len(digits) - 1
        elif code in "xuU":
            digits = _run(text, i, _HEX, {"x": 2, "u": 4, "U": 8}[code])
            if not digits:
                word.append("\\" + code)
                continue
            value = int(digits, 16)
            word.append(chr(value) if value <= 0x10FFFF else "\ufffd")
            i += len(digits)
        elif code == "c" and i < end:
            word.append(chr(ord(text[i]) & 0x1F))
            i += 1
        else:
            word.append("\\" + code)
    raise ShellSyntaxError("a $'...' string is never closed")


def _run(text: str, start: int, allowed: str, most: int) -> str:
    stop = start
    while stop < len(text) and stop - start < most and text[stop] in allowed:
        stop += 1
    return text[start:stop]
