"""The filter language's syntax: a tokenizer and a recursive-descent parser.

The tokenizer turns the text into parentheses, ``or``, ``not`` and terms;
each term is compiled (``core.filter_terms``) as it is read, since reading
a value (quoted, ``/regex/`` or plain) is where most mistakes show. The
parser builds a small tree of ``Term``, ``Not``, ``And`` and ``Or`` nodes,
``not`` binding tightest and ``or`` loosest. Every mistake is a
``FilterError`` carrying the offset of the character it is about; see
docs/filter.md for the grammar.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from inspector.core import filter_terms as T
from inspector.core.filter_terms import FilterError, Term, Value

MAX_DEPTH = 50
"""Nested parentheses allowed; deeper is an error, not a RecursionError."""


@dataclass(slots=True)
class Not:
    node: Node


@dataclass(slots=True)
class And:
    nodes: list[Node]


@dataclass(slots=True)
class Or:
    nodes: list[Node]


Node = Term | Not | And | Or


@dataclass(slots=True)
class Token:
    kind: str
    """``(``, ``)``, ``or``, ``not`` or ``term``."""
    position: int
    term: Term | None = None


_KEY = re.compile(r"([A-Za-z]+)(>=|<=|:|>|<|=)")
_PLAIN: dict[str, Callable[[str, Value], Term]] = {
    "url": T.url_term,
    "method": T.method_term,
    "scheme": T.scheme_term,
    "host": T.host_term,
    "path": T.path_term,
    "status": T.status_term,
    "type": T.type_term,
    "is": T.is_term,
    "client": T.client_term,
}
_COMPARED: dict[str, Callable[[str, str, Value], Term]] = {
    "size": T.size_term,
    "duration": T.duration_term,
}
_EXAMPLES = {"size": "size>10k", "duration": "duration>500ms"}
_HEADERS = {"header": "", "reqheader": "req", "resheader": "res"}
_BODIES = {"body": "", "reqbody": "req", "resbody": "res"}
_OPERATORS = {"or": "or", "not": "not"}


def _ends(char: str) -> bool:
    return char.isspace() or char in "()|"


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    n, i = len(text), 0
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(Token(char, i))
            i += 1
        elif char == "|":
            tokens.append(Token("or", i))
            i += 1
        elif char == "-" and i + 1 < n and (text[i + 1] == "(" or not _ends(text[i + 1])):
            tokens.append(Token("not", i))
            i += 1
        else:
            token, i = _word(text, i)
            tokens.append(token)
    return tokens


def _word(text: str, start: int) -> tuple[Token, int]:
    if text[start] == '"':
        value, end = _quoted(text, start)
        return Token("term", start, T.url_term(text[start:end], value)), end
    match = _KEY.match(text, start)
    if match is not None:
        found = _keyed(text, start, match)
        if found is not None:
            return found
    end = _plain_end(text, start)
    word = text[start:end]
    operator = _OPERATORS.get(word.lower())
    if operator is not None:
        return Token(operator, start), end
    return Token("term", start, T.url_term(word, Value(word, start))), end


def _keyed(text: str, start: int, match: re.Match[str]) -> tuple[Token, int] | None:
    """The term a ``key:`` (or ``key>``...) starts; None when the text
    is a plain word after all (``q=1``, ``http://``, ``localhost:8080``)."""
    key, op, at = match[1].lower(), match[2], match.end()
    if key in _COMPARED:
        if op == ":":
            raise FilterError(f"{key} takes a comparison ({_EXAMPLES[key]})", match.start(2))
        value, end = _value(text, at, regex=False, what=f"'{key}{op}'")
        term = _COMPARED[key](text[start:end], op, value)
    elif op == "=":
        return None
    elif key not in _PLAIN and key not in _HEADERS and key not in _BODIES:
        rest = text[at : at + 2]
        if op == ":" and not rest.startswith("//") and not rest[:1].isdigit():
            raise FilterError(f"unknown key '{match[1]}:'", start)
        return None
    elif op != ":":
        raise FilterError(f"{key} takes ':' ({key}:value)", match.start(2))
    elif key in _HEADERS:
        name, wanted, end = _header_value(text, at)
        term = T.header_term(text[start:end], name, wanted, _HEADERS[key])
    else:
        value, end = _value(text, at, regex=True, what=f"'{key}:'")
        source = text[start:end]
        if key in _BODIES:
            term = T.body_term(source, value, _BODIES[key])
        else:
            term = _PLAIN[key](source, value)
    return Token("term", start, term), end


def _value(text: str, at: int, regex: bool, what: str) -> tuple[Value, int]:
    if at >= len(text) or _ends(text[at]):
        raise FilterError(f"{what} needs a value", at)
    if text[at] == '"':
        value, end = _quoted(text, at)
        if not value.text:
            raise FilterError("an empty value matches everything; leave the term out", at)
        return value, end
    if regex and text[at] == "/":
        found = _regex(text, at)
        if found is not None:
            return found
    end = _plain_end(text, at)
    return Value(text[at:end], at), end


def _header_value(text: str, at: int) -> tuple[Value, Value | None, int]:
    """``Name``, ``Name=value`` (the value plain, quoted or a regex), a
    quoted ``"Name=value"``, or a regex on the name."""
    if at < len(text) and text[at] == '"':
        value, end = _quoted(text, at)
        name_text, sep, wanted_text = value.text.partition("=")
        if not name_text:
            raise FilterError("a header term needs a header name", at)
        wanted_value = Value(wanted_text, at + 2 + len(name_text)) if sep else None
        return Value(name_text, at + 1), wanted_value, end
    if at < len(text) and text[at] == "/":
        found = _regex(text, at)
        if found is not None:
            return found[0], None, found[1]
    end = at
    while end < len(text) and not _ends(text[end]) and text[end] != "=":
        end += 1
    if end == at:
        raise FilterError("a header term needs a header name", at)
    name = Value(text[at:end], at)
    if end < len(text) and text[end] == "=":
        wanted, end = _value(text, end + 1, regex=True, what="'=' after a header name")
        return name, wanted, end
    return name, None, end


def _plain_end(text: str, at: int) -> int:
    end = at
    while end < len(text) and not _ends(text[end]):
        end += 1
    return end


def _check_end(text: str, end: int, what: str) -> None:
    if end < len(text) and not _ends(text[end]):
        raise FilterError(f"a space or ')' must follow the {what}", end)


def _quoted(text: str, start: int) -> tuple[Value, int]:
    """The text between double quotes; ``\\"`` is a quote, ``\\\\`` a
    backslash."""
    chars: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in '"\\':
            chars.append(text[i + 1])
            i += 2
        elif char == '"':
            _check_end(text, i + 1, "closing quote")
            return Value("".join(chars), start + 1), i + 1
        else:
            chars.append(char)
            i += 1
    raise FilterError("unterminated quote", start)


def _regex(text: str, start: int) -> tuple[Value, int] | None:
    """``/pattern/`` at ``start``, or None when the slashes do not close
    one (``/api/v1`` is a plain value: its second slash is not followed by
    the end of the term)."""
    chars: list[str] = []
    offsets: list[int] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            pair = "/" if text[i + 1] == "/" else text[i : i + 2]
            chars.append(pair)
            offsets.extend([i] * len(pair))
            i += 2
        elif char == "/":
            break
        else:
            chars.append(char)
            offsets.append(i)
            i += 1
    else:
        return None
    if not chars or (i + 1 < len(text) and not _ends(text[i + 1])):
        return None
    pattern = "".join(chars)
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
    except (re.error, OverflowError, RecursionError, ValueError) as exc:
        pos = getattr(exc, "pos", None)
        where = offsets[pos] if isinstance(pos, int) and 0 <= pos < len(offsets) else i
        message = getattr(exc, "msg", None) or str(exc)
        raise FilterError(f"bad regex: {message}", where) from None
    return Value(pattern, start + 1, compiled), i + 1


class Parser:
    """``expr := and ("or" and)*``, ``and := unary+``,
    ``unary := "not" unary | "(" expr ")" | term``."""

    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0
        self.end = len(text)

    def parse(self) -> Node | None:
        if not self.tokens:
            return None
        node = self._expr(0)
        token = self._peek()
        if token is not None:
            raise FilterError("unbalanced ')'", token.position)
        return node

    def _peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _expr(self, depth: int) -> Node:
        nodes = [self._and(depth)]
        while (token := self._peek()) is not None and token.kind == "or":
            self.index += 1
            after = self._peek()
            if after is None or after.kind in ("or", ")"):
                raise FilterError("'or' needs a term after it", token.position)
            nodes.append(self._and(depth))
        return nodes[0] if len(nodes) == 1 else Or(nodes)

    def _and(self, depth: int) -> Node:
        nodes: list[Node] = []
        while (token := self._peek()) is not None and token.kind not in ("or", ")"):
            nodes.append(self._unary(depth))
        if not nodes:
            if token is not None and token.kind == "or":
                raise FilterError("'or' needs a term before it", token.position)
            raise FilterError("unbalanced ')'", token.position if token else self.end)
        return nodes[0] if len(nodes) == 1 else And(nodes)

    def _unary(self, depth: int) -> Node:
        negations: list[Token] = []
        while (token := self._peek()) is not None and token.kind == "not":
            negations.append(token)
            self.index += 1
        node = self._primary(depth, negations[-1] if negations else None)
        for _ in negations:
            node = Not(node)
        return node

    def _primary(self, depth: int, negation: Token | None) -> Node:
        token = self._peek()
        if token is None or token.kind in ("or", ")"):
            assert negation is not None  # _and stops before "or" and ")"
            raise FilterError("'not' needs a term after it", negation.position)
        self.index += 1
        if token.term is not None:
            return token.term
        if depth >= MAX_DEPTH:
            raise FilterError("parentheses nested too deeply", token.position)
        inside = self._peek()
        if inside is None:
            raise FilterError("unbalanced '('", token.position)
        if inside.kind == ")":
            raise FilterError("empty parentheses", inside.position)
        node = self._expr(depth + 1)
        closing = self._peek()
        if closing is None or closing.kind != ")":
            raise FilterError("unbalanced '('", token.position)
        self.index += 1
        return node
