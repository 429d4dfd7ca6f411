"""Rule actions: the rules file's example reads and writes back whole,
defaults are filled in, and every malformed action is refused naming
what is wrong."""

from __future__ import annotations

from typing import Any

import pytest

from inspector.core.rule_actions import (
    Block,
    MapRemote,
    ReplaceBody,
    Reply,
    RuleError,
    SetHeader,
    Throttle,
    action_from_json,
)
from inspector.core.rules import rule_from_json

EXAMPLE: list[dict[str, Any]] = [
    {"type": "map_remote", "to": "http://127.0.0.1:9000"},
    {"type": "set_header", "on": "request", "name": "X-Env", "value": "test"},
    {"type": "remove_header", "on": "response", "name": "Set-Cookie"},
    {"type": "replace_body", "on": "response", "pattern": "a(b)", "with": "\\1c"},
    {"type": "map_local", "path": "/srv/static", "strip": "/static"},
    {"type": "block", "status": 403},
    {"type": "block", "reset": True},
    {
        "type": "reply",
        "status": 200,
        "headers": {"Content-Type": "application/json"},
        "body": "{}",
    },
    {"type": "delay", "ms": 500},
    {"type": "throttle", "down_kbps": 256, "up_kbps": 64, "latency_ms": 100},
    {"type": "breakpoint", "on": "request"},
]


def test_the_documented_example_round_trips() -> None:
    rule = rule_from_json({"name": "All", "match": "host:api", "actions": EXAMPLE}, 1)
    assert rule.to_json()["actions"] == EXAMPLE


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"type": "set_header", "name": "A", "value": "b"}, SetHeader("A", "b", "request")),
        ({"type": "replace_body", "pattern": "x"}, ReplaceBody("x", "", "response")),
        ({"type": "block"}, Block(403, False)),
        ({"type": "reply"}, Reply(200, (), "")),
        ({"type": "throttle"}, Throttle(None, None, 0)),
    ],
)
def test_defaults(value: dict[str, Any], expected: object) -> None:
    assert action_from_json(value) == expected


def test_map_remote_reads_its_target_and_prefix() -> None:
    action = action_from_json({"type": "map_remote", "to": "https://staging.test:8443/v2/"})
    assert isinstance(action, MapRemote)
    assert (action.scheme, action.host, action.port, action.prefix) == (
        "https",
        "staging.test",
        8443,
        "/v2",
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"type": "map_remote"}, "'to' must be text"),
        ({"type": "map_remote", "to": "ftp://x"}, "http:// or https://"),
        ({"type": "map_remote", "to": "http://"}, "not a URL"),
        ({"type": "map_remote", "to": "http://a/?q=1"}, "query"),
        ({"type": "map_local"}, "'path' must be text"),
        ({"type": "map_local", "path": ""}, "must name a file"),
        ({"type": "map_local", "path": "x", "strip": "static"}, "'strip'"),
        ({"type": "set_header", "name": "A B", "value": "x"}, "not a header name"),
        ({"type": "set_header", "name": "A", "value": "x\ny"}, "line break"),
        ({"type": "set_header", "name": "A", "value": "€"}, "Latin-1"),
        ({"type": "set_header", "name": "A"}, "'value' must be text"),
        ({"type": "set_header", "name": "A", "value": "b", "on": "both"}, "'on' must be"),
        ({"type": "remove_header"}, "'name' must be text"),
        ({"type": "replace_body", "pattern": ""}, "must not be empty"),
        ({"type": "replace_body", "pattern": "a", "with": 3}, "'with' must be text"),
        ({"type": "block", "status": 99}, "'status'"),
        ({"type": "block", "reset": "yes"}, "'reset'"),
        ({"type": "block", "reset": True, "status": 403}, "cannot go together"),
        ({"type": "reply", "status": 1000}, "'status'"),
        ({"type": "reply", "headers": ["a"]}, "'headers'"),
        ({"type": "reply", "headers": {"A B": "x"}}, "not a header name"),
        ({"type": "reply", "body": 5}, "'body'"),
        ({"type": "delay"}, "'ms'"),
        ({"type": "delay", "ms": -1}, "'ms'"),
        ({"type": "delay", "ms": 1.5}, "'ms'"),
        ({"type": "throttle", "down_kbps": 0}, "positive number"),
        ({"type": "throttle", "up_kbps": "fast"}, "positive number"),
        ({"type": "throttle", "latency_ms": -5}, "'latency_ms'"),
        ({"type": "delay", "ms": 1, "extra": 1}, "no field 'extra'"),
        ({"type": "teleport"}, "unknown action type 'teleport'"),
        ({"type": 3}, "needs a 'type'"),
        ("block", "an object"),
    ],
)
def test_a_malformed_action_is_refused(value: Any, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        action_from_json(value)
