"""What each action does to a message, with the note the flow keeps."""

from __future__ import annotations

import gzip

from inspector.core.http_rules import Target
from inspector.core.rule_actions import MapRemote, RemoveHeader, ReplaceBody, SetHeader
from inspector.core.rule_apply import map_remote, remove_header, replace_body, set_header


def test_set_header_replaces_every_header_of_its_name() -> None:
    headers, note = set_header(SetHeader("X-Env", "test"), [(b"x-env", b"a"), (b"B", b"1")])
    assert headers == [(b"B", b"1"), (b"X-Env", b"test")]
    assert note == "X-Env: test (was a)"
    _, note = set_header(SetHeader("X-New", "1"), [])
    assert note == "X-New: 1 (was absent)"


def test_remove_header_says_what_it_removed() -> None:
    headers, note = remove_header(RemoveHeader("Set-Cookie"), [(b"set-cookie", b"a=1")])
    assert headers == [] and note == "Set-Cookie removed (was a=1)"
    assert remove_header(RemoveHeader("X"), [(b"A", b"1")]) == (
        [(b"A", b"1")],
        "X: absent, nothing removed",
    )


def test_replace_body_works_on_the_decoded_body_and_encodes_again() -> None:
    headers = [(b"Content-Encoding", b"gzip"), (b"Content-Type", b"text/plain")]
    body = gzip.compress(b"price: 10, price: 20")
    new_headers, new_body, note = replace_body(
        ReplaceBody(r"price: (\d+)", r"cost: \1"), headers, body, True
    )
    assert new_body is not None and gzip.decompress(new_body) == b"cost: 10, cost: 20"
    assert (b"Content-Length", str(len(new_body)).encode()) in new_headers
    assert note.endswith("replaced 2 times")


def test_replace_body_leaves_what_it_cannot_rewrite() -> None:
    action = ReplaceBody("a", "b")
    assert replace_body(action, [], b"aaa", False)[1:] == (
        None,
        "body over the capture limit or streamed: not rewritten",
    )
    assert replace_body(action, [], b"xyz", True)[1] is None
    assert "not rewritten" in replace_body(action, [(b"Content-Encoding", b"gzip")], b"x", True)[2]
    assert "not utf-8 text" in replace_body(action, [], b"\xff\xfe", True)[2]


def test_map_remote_keeps_the_path_under_the_prefix_and_rewrites_host() -> None:
    action = MapRemote("https://staging.test/v2", "https", "staging.test", 443, "/v2")
    target, headers, note = map_remote(
        action, Target("http", "api.test", 80, "/items?a=1"), [(b"Host", b"api.test")]
    )
    assert target == Target("https", "staging.test", 443, "/v2/items?a=1")
    assert headers == [(b"Host", b"staging.test")]
    assert note == "http://api.test/items?a=1 -> https://staging.test/v2/items?a=1"
