"""Two flows compared: what differs between their requests and responses.

Pure: headers and query parameters as keyed rows (same, changed, added,
removed), bodies as text with a side-by-side line diff (``difflib``), and
JSON bodies compared structurally, each change named by its path
(``$.items[2].name``). The compare dialog draws what this returns.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from inspector.core.bodyview import charset
from inspector.core.decode import DecodeError, decode_body
from inspector.core.flow import Flow, HeaderSeq, Message

SAME, CHANGED, ADDED, REMOVED = "same", "changed", "added", "removed"
MAX_TEXT = 1024 * 1024
"""Bodies compared as text up to this many bytes each (a line diff of more
would take too long to be worth it); a longer one is cut and says so."""


@dataclass(slots=True, frozen=True)
class KeyRow:
    """One key (a header name, a query parameter) on both sides; a side
    without it is None."""

    kind: str
    key: str
    left: str | None
    right: str | None


@dataclass(slots=True, frozen=True)
class LineRow:
    """One line of a side-by-side text diff: line numbers from 1, None on
    the side that has no line there."""

    kind: str
    left_no: int | None
    left: str
    right_no: int | None
    right: str


@dataclass(slots=True, frozen=True)
class JsonChange:
    kind: str
    path: str
    left: str
    """The value as JSON text; empty when added."""
    right: str
    """Empty when removed."""


@dataclass(slots=True)
class BodyDiff:
    identical: bool
    lines: list[LineRow] = field(default_factory=list)
    json: list[JsonChange] | None = None
    """Structural changes when both bodies are JSON, else None."""
    note: str = ""
    """Why the comparison is partial (cut, binary)."""


@dataclass(slots=True)
class SideDiff:
    """One side (request or response) of two flows."""

    first_line: KeyRow
    headers: list[KeyRow]
    query: list[KeyRow]
    body: BodyDiff


@dataclass(slots=True)
class FlowComparison:
    left_id: int
    right_id: int
    request: SideDiff
    response: SideDiff | None
    """None when neither flow has a response."""


def diff_keyed(
    left: list[tuple[str, str]], right: list[tuple[str, str]], fold: bool
) -> list[KeyRow]:
    """Rows for keyed values in the left's order, then keys only the right
    has. A key given more than once is compared as its values joined by
    newlines; ``fold`` compares keys without case (header names)."""

    def grouped(pairs: list[tuple[str, str]]) -> dict[str, tuple[str, list[str]]]:
        result: dict[str, tuple[str, list[str]]] = {}
        for key, value in pairs:
            norm = key.lower() if fold else key
            result.setdefault(norm, (key, []))[1].append(value)
        return result

    a, b = grouped(left), grouped(right)
    rows: list[KeyRow] = []
    for norm, (key, values) in a.items():
        mine = "\n".join(values)
        other = b.get(norm)
        if other is None:
            rows.append(KeyRow(REMOVED, key, mine, None))
        else:
            theirs = "\n".join(other[1])
            rows.append(KeyRow(SAME if mine == theirs else CHANGED, key, mine, theirs))
    for norm, (key, values) in b.items():
        if norm not in a:
            rows.append(KeyRow(ADDED, key, None, "\n".join(values)))
    return rows


def diff_lines(left: str, right: str) -> list[LineRow]:
    """A side-by-side line diff: changed lines paired, the rest alone."""
    a, b = left.splitlines(), right.splitlines()
    rows: list[LineRow] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                rows.append(LineRow(SAME, i1 + k + 1, a[i1 + k], j1 + k + 1, b[j1 + k]))
            continue
        if tag == "replace":
            for k in range(max(i2 - i1, j2 - j1)):
                li, rj = i1 + k, j1 + k
                has_l, has_r = li < i2, rj < j2
                kind = CHANGED if has_l and has_r else (REMOVED if has_l else ADDED)
                rows.append(
                    LineRow(
                        kind,
                        li + 1 if has_l else None,
                        a[li] if has_l else "",
                        rj + 1 if has_r else None,
                        b[rj] if has_r else "",
                    )
                )
        elif tag == "delete":
            rows.extend(LineRow(REMOVED, k + 1, a[k], None, "") for k in range(i1, i2))
        else:
            rows.extend(LineRow(ADDED, None, "", k + 1, b[k]) for k in range(j1, j2))
    return rows


def _index_path(path: str, index: int) -> str:
    return f"{path}[{index}]"


def _key_path(path: str, key: str) -> str:
    if key.isidentifier():
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key)}]"


def _text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def diff_json(left: Any, right: Any, path: str = "$") -> list[JsonChange]:
    """Structural changes from ``left`` to ``right``: keys added, removed
    or changed, by path; arrays compared index by index."""
    if isinstance(left, dict) and isinstance(right, dict):
        changes: list[JsonChange] = []
        for key, value in left.items():
            where = _key_path(path, str(key))
            if key not in right:
                changes.append(JsonChange(REMOVED, where, _text(value), ""))
            else:
                changes.extend(diff_json(value, right[key], where))
        for key, value in right.items():
            if key not in left:
                changes.append(JsonChange(ADDED, _key_path(path, str(key)), "", _text(value)))
        return changes
    if isinstance(left, list) and isinstance(right, list):
        changes = []
        for i in range(max(len(left), len(right))):
            where = _index_path(path, i)
            if i >= len(right):
                changes.append(JsonChange(REMOVED, where, _text(left[i]), ""))
            elif i >= len(left):
                changes.append(JsonChange(ADDED, where, "", _text(right[i])))
            else:
                changes.extend(diff_json(left[i], right[i], where))
        return changes
    # 1 and 1.0 are the same number to JSON; True and 1 are not.
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right))
    if (numbers or type(left) is type(right)) and left == right:
        return []
    return [JsonChange(CHANGED, path, _text(left), _text(right))]


def body_text(message: Message) -> tuple[str, str]:
    """The body content-decoded and as text, and a note when it was cut or
    is not text."""
    try:
        data = decode_body(message.body, message.header(b"content-encoding")).data
    except DecodeError:
        data = message.body
    note = ""
    if len(data) > MAX_TEXT:
        data, note = data[:MAX_TEXT], f"compared up to {MAX_TEXT // 1024} KiB"
    if b"\x00" in data[:8192]:
        note = "binary: compared as escaped bytes"
        return data.decode("latin-1").encode("unicode_escape").decode("ascii"), note
    try:
        encoding = charset(message)
        return data.decode(encoding, "replace"), note
    except LookupError:
        return data.decode("utf-8", "replace"), note


def _json_of(text: str) -> tuple[bool, Any]:
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[":
        return False, None
    try:
        return True, json.loads(stripped)
    except ValueError:
        return False, None


def diff_bodies(left: Message, right: Message) -> BodyDiff:
    if left.body == right.body:
        return BodyDiff(True)
    a, note_a = body_text(left)
    b, note_b = body_text(right)
    diff = BodyDiff(False, note=note_a or note_b)
    ok_a, value_a = _json_of(a)
    ok_b, value_b = _json_of(b)
    if ok_a and ok_b:
        diff.json = diff_json(value_a, value_b)
        a = json.dumps(value_a, indent=2, ensure_ascii=False, sort_keys=True)
        b = json.dumps(value_b, indent=2, ensure_ascii=False, sort_keys=True)
    diff.lines = diff_lines(a, b)
    return diff


def _headers(headers: HeaderSeq) -> list[tuple[str, str]]:
    return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in headers]


def _query(target: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(target).query, keep_blank_values=True)


def _pair(kind_of: str, left: str, right: str) -> KeyRow:
    return KeyRow(SAME if left == right else CHANGED, kind_of, left, right)


def compare(left: Flow, right: Flow) -> FlowComparison:
    a, b = left.request, right.request
    request = SideDiff(
        _pair("request", f"{a.method} {a.url}", f"{b.method} {b.url}"),
        diff_keyed(_headers(a.headers), _headers(b.headers), fold=True),
        diff_keyed(_query(a.target), _query(b.target), fold=False),
        diff_bodies(a, b),
    )
    response = None
    ra, rb = left.response, right.response
    if ra is not None or rb is not None:
        empty = Message()
        ma, mb = ra or empty, rb or empty
        status_a = f"{ra.status} {ra.reason}".strip() if ra is not None else "no response"
        status_b = f"{rb.status} {rb.reason}".strip() if rb is not None else "no response"
        response = SideDiff(
            _pair("status", status_a, status_b),
            diff_keyed(_headers(ma.headers), _headers(mb.headers), fold=True),
            [],
            diff_bodies(ma, mb),
        )
    return FlowComparison(left.id, right.id, request, response)
