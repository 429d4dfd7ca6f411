"""Two flows compared (``core.flow_diff``): keyed rows, line diffs and
structural JSON changes by path."""

from __future__ import annotations

import gzip
import json

from inspector.core.flow import Flow, Request, Response
from inspector.core.flow_diff import (
    ADDED,
    CHANGED,
    REMOVED,
    SAME,
    JsonChange,
    compare,
    diff_json,
    diff_keyed,
    diff_lines,
)


def _flow(flow_id: int, target: str, headers: list[tuple[bytes, bytes]], body: bytes) -> Flow:
    flow = Flow(id=flow_id, client_addr=("127.0.0.1", 1))
    flow.request = Request(method="GET", host="api.test", target=target, headers=headers)
    flow.response = Response(
        status=200, reason="OK", headers=[(b"Content-Type", b"application/json")], body=body
    )
    return flow


def test_headers_fold_case_and_keep_repeats() -> None:
    rows = diff_keyed(
        [("Accept", "a"), ("X-One", "1"), ("Cookie", "a=1"), ("Cookie", "b=2")],
        [("accept", "a"), ("Cookie", "a=1"), ("X-Two", "2")],
        fold=True,
    )
    assert [(r.kind, r.key) for r in rows] == [
        (SAME, "Accept"),
        (REMOVED, "X-One"),
        (CHANGED, "Cookie"),
        (ADDED, "X-Two"),
    ]
    assert rows[2].left == "a=1\nb=2" and rows[2].right == "a=1"


def test_line_diff_pairs_changed_lines_and_numbers_each_side() -> None:
    rows = diff_lines("a\nb\nc\nd", "a\nB\nc\nd\ne")
    assert [(r.kind, r.left_no, r.right_no) for r in rows] == [
        (SAME, 1, 1),
        (CHANGED, 2, 2),
        (SAME, 3, 3),
        (SAME, 4, 4),
        (ADDED, None, 5),
    ]
    assert rows[1].left == "b" and rows[1].right == "B"


def test_json_changes_are_named_by_path() -> None:
    left = {"user": {"name": "ann", "age": 3}, "items": [1, 2, 3], "odd key": True, "n": 1}
    right = {"user": {"name": "bob", "tags": []}, "items": [1, 2], "odd key": True, "n": 1.0}
    assert diff_json(left, right) == [
        JsonChange(CHANGED, "$.user.name", '"ann"', '"bob"'),
        JsonChange(REMOVED, "$.user.age", "3", ""),
        JsonChange(ADDED, "$.user.tags", "", "[]"),
        JsonChange(REMOVED, "$.items[2]", "3", ""),
    ]
    assert diff_json(True, 1) == [JsonChange(CHANGED, "$", "true", "1")]


def test_compare_two_flows_side_by_side() -> None:
    left = _flow(1, "/search?q=cat&page=1", [(b"Accept", b"*/*")], json.dumps({"hits": 3}).encode())
    right = _flow(
        2, "/search?q=dog&page=1", [(b"Accept", b"*/*"), (b"X-Debug", b"1")], b'{"hits": 5}'
    )
    result = compare(left, right)
    assert result.request.first_line.kind == CHANGED
    assert [(r.kind, r.key) for r in result.request.query] == [(CHANGED, "q"), (SAME, "page")]
    assert [(r.kind, r.key) for r in result.request.headers] == [
        (SAME, "Accept"),
        (ADDED, "X-Debug"),
    ]
    assert result.request.body.identical
    response = result.response
    assert response is not None and response.first_line.kind == SAME
    assert response.body.json == [JsonChange(CHANGED, "$.hits", "3", "5")]
    assert any(row.kind == CHANGED for row in response.body.lines)


def test_encoded_bodies_are_compared_decoded() -> None:
    left = _flow(1, "/", [], gzip.compress(b"one\ntwo\n"))
    right = _flow(2, "/", [], b"one\nthree\n")
    assert left.response is not None
    left.response.headers = [(b"Content-Encoding", b"gzip")]
    result = compare(left, right)
    assert result.response is not None
    assert [(r.kind, r.left, r.right) for r in result.response.body.lines] == [
        (SAME, "one", "one"),
        (CHANGED, "two", "three"),
    ]
    assert result.response.body.json is None


def test_binary_bodies_are_compared_escaped_and_say_so() -> None:
    left = _flow(1, "/", [], b"\x00\x01abc")
    right = _flow(2, "/", [], b"\x00\x02abc")
    result = compare(left, right)
    assert result.response is not None
    body = result.response.body
    assert body.note.startswith("binary")
    assert [(r.kind, r.left, r.right) for r in body.lines] == [
        (CHANGED, "\\x00\\x01abc", "\\x00\\x02abc")
    ]
