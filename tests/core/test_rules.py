"""The rule model: the rules file's shape checked, matches compiled once,
unworkable rules kept and disabled with their reason, and which
breakpoint holds a flow at each phase."""

from __future__ import annotations

from typing import Any

import pytest

from inspector.core.filter import parse_filter
from inspector.core.flow import Flow, Request, Response
from inspector.core.rules import RuleError, RuleSet, compile_rule, rule_from_json


def _flow(path: str = "/a", status: int | None = None, body: bytes = b"") -> Flow:
    flow = Flow(1, ("127.0.0.1", 1))
    flow.request = Request(
        method="POST", host="api.test", port=80, target=path, body=body, body_size=len(body)
    )
    if status is not None:
        flow.response = Response(status=status)
    return flow


def _bp(match: str, on: str = "request", **more: Any) -> dict[str, Any]:
    return {"match": match, "actions": [{"type": "breakpoint", "on": on}], **more}


def test_a_rule_round_trips_through_its_file_form() -> None:
    value = {
        "name": "Hold API",
        "match": "host:api",
        "enabled": False,
        "times": 3,
        "actions": [{"type": "breakpoint", "on": "both"}],
    }
    rule = rule_from_json(value, 7)
    assert rule.to_json() == value
    assert rule.to_wire() == {"id": 7, **value, "hits": 0, "error": ""}


def test_defaults_fill_what_a_rule_leaves_out() -> None:
    rule = rule_from_json({"actions": [{"type": "breakpoint"}]}, 4)
    assert (rule.name, rule.match, rule.enabled, rule.times) == ("Breakpoint 4", "", True, None)
    assert rule.breakpoint is not None and rule.breakpoint.on == "request"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], "must be an object"),
        ({"match": "x"}, "non-empty list of 'actions'"),
        ({"actions": []}, "non-empty list"),
        ({"match": 3, "actions": [{"type": "breakpoint"}]}, "'match' must be"),
        ({"name": 3, "actions": [{"type": "breakpoint"}]}, "'name' must be"),
        ({"enabled": "yes", "actions": [{"type": "breakpoint"}]}, "'enabled'"),
        ({"times": 0, "actions": [{"type": "breakpoint"}]}, "'times'"),
        ({"times": True, "actions": [{"type": "breakpoint"}]}, "'times'"),
        ({"actions": ["breakpoint"]}, "an object with a 'type'"),
        ({"actions": [{}]}, "needs a 'type'"),
        ({"actions": [{"type": "nope"}]}, "unknown action type 'nope'"),
        ({"actions": [{"type": "breakpoint", "on": "never"}]}, "'on' must be"),
        ({"actions": [{"type": "breakpoint", "at": "x"}]}, "no field 'at'"),
        ({"colour": "red", "actions": [{"type": "breakpoint"}]}, "no field 'colour'"),
        ({"match": "x" * 5000, "actions": [{"type": "breakpoint"}]}, "'match' must be"),
    ],
)
def test_a_malformed_rule_is_refused_with_what_is_wrong(value: Any, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        rule_from_json(value, 1)


def test_an_unworkable_rule_is_kept_disabled_with_its_reason() -> None:
    bad_match = compile_rule(rule_from_json(_bp("host:("), 1))
    assert bad_match.error.startswith("match:") and not bad_match.active
    late = compile_rule(rule_from_json(_bp("status:500 host:api"), 2))
    assert "status:500" in late.error and "response" in late.error and not late.active
    fine = compile_rule(rule_from_json(_bp("status:500", on="response"), 3))
    assert fine.error == "" and fine.active
    header_late = compile_rule(
        rule_from_json(
            {"match": "status:500", "actions": [{"type": "set_header", "name": "A", "value": "b"}]},
            4,
        )
    )
    assert "set_header acts on the request" in header_late.error
    response_header = compile_rule(
        rule_from_json(
            {
                "match": "status:500",
                "actions": [{"type": "set_header", "on": "response", "name": "A", "value": "b"}],
            },
            5,
        )
    )
    assert response_header.error == "" and not response_header.at_request
    regex = compile_rule(rule_from_json({"actions": [{"type": "replace_body", "pattern": "("}]}, 6))
    assert regex.error.startswith("replace_body: bad pattern")
    missing = compile_rule(
        rule_from_json({"actions": [{"type": "map_local", "path": "/no/such/dir"}]}, 7),
        exists=lambda path: False,
    )
    assert missing.error == "map_local: /no/such/dir does not exist"


def test_the_matching_rules_are_counted_once_per_flow() -> None:
    rules = RuleSet()
    rules.add(_bp("path:/other"))
    second = rules.add(_bp("host:api", times=1))
    assert rules.pausing_any
    plan = rules.plan_request(_flow())
    assert plan.matched == [second] and plan.breakpoint("request") is second
    assert second.hits == 1 and not second.active
    assert rules.plan_request(_flow()).matched == []
    assert rules.get(1) is not None and rules.remove(1)
    assert not rules.pausing_any and not rules.any_active


def test_a_rule_on_both_holds_the_response_of_the_flow_it_held_without_a_second_hit() -> None:
    rules = RuleSet()
    rule = rules.add(_bp("host:api", on="both", times=1))
    flow = _flow()
    plan = rules.plan_request(flow)
    assert plan.breakpoint("request") is rule
    flow.response = Response(status=200)
    plan = rules.plan_response(flow, plan)
    assert plan.breakpoint("response") is rule and rule.hits == 1
    other = _flow(status=200)
    assert rules.plan_response(other, rules.plan_request(other)).breakpoint("response") is None


def test_phases_and_disabled_rules() -> None:
    rules = RuleSet()
    response_only = rules.add(_bp("status:404", on="response"))
    assert rules.judged_at_response
    assert rules.plan_request(_flow()).request == []
    assert rules.plan_response(_flow(status=200), rules.plan_request(_flow())).response == []
    flow = _flow(status=404)
    assert rules.plan_response(flow, rules.plan_request(flow)).breakpoint("response") is (
        response_only
    )
    response_only.enabled = False
    rules.refresh()
    assert not rules.any_active and not rules.pausing_any


def test_replays_meet_the_rules_but_not_the_breakpoints() -> None:
    rules = RuleSet()
    rules.add(
        {
            "match": "host:api",
            "actions": [
                {"type": "breakpoint"},
                {"type": "set_header", "name": "X-A", "value": "1"},
            ],
        }
    )
    plan = rules.plan_request(_flow(), pause=False)
    assert [a.type for _, a in plan.request] == ["set_header"]


def test_a_final_action_ends_the_list() -> None:
    rules = RuleSet()
    rules.add(
        {
            "actions": [
                {"type": "set_header", "name": "X-A", "value": "1"},
                {"type": "block"},
                {"type": "set_header", "name": "X-B", "value": "2"},
            ]
        }
    )
    rules.add({"actions": [{"type": "delay", "ms": 5}]})
    plan = rules.plan_request(_flow())
    assert [a.type for _, a in plan.request] == ["set_header", "block"]
    assert plan.final is not None and plan.final[1].type == "block"


def test_body_terms_say_the_body_must_be_read_first() -> None:
    rules = RuleSet()
    rules.add(_bp("reqbody:token"))
    assert rules.needs_bodies("request") and not rules.needs_bodies("response")
    assert rules.plan_request(_flow(body=b"no")).matched == []
    assert rules.plan_request(_flow(body=b"a token")).matched != []


def test_move_reorders() -> None:
    rules = RuleSet()
    first, second = rules.add(_bp("a")), rules.add(_bp("b"))
    assert rules.move(second.id, 0) and [r.id for r in rules] == [second.id, first.id]
    assert not rules.move(99, 0)


def test_replace_is_all_or_nothing_and_ids_are_never_reused() -> None:
    rules = RuleSet()
    first = rules.add(_bp("a"))
    with pytest.raises(RuleError):
        rules.replace([_bp("b"), {"actions": "no"}])
    assert [r.id for r in rules] == [first.id]
    replaced = rules.replace([_bp("b"), _bp("c")])
    assert [r.match for r in rules] == ["b", "c"]
    assert first.id not in {r.id for r in replaced}
    assert rules.remove(replaced[0].id) and not rules.remove(replaced[0].id)
    assert len(rules) == 1


EXPRESSIONS = [
    "",
    "host:api",
    "host:API method:post",
    "method:GET",
    "path:/a",
    "path:/b host:api",
    "host:api or path:/a",
    "-host:api",
    "host:/^api\\./ path:/a",
    "host:api reqheader:x-a",
    "host:api reqbody:tok",
    "url:api.test/a",
    "not (host:api method:POST)",
]


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_judging_by_guards_agrees_with_the_whole_expression(expr: str) -> None:
    rules = RuleSet()
    rule = rules.add(_bp(expr))
    assert rule.error == "", rule.error
    flows = []
    for method in ("GET", "POST"):
        for host in ("api.test", "web.test"):
            for path in ("/a", "/a?q=1", "/b", "/"):
                flow = _flow(path, body=b"a tok")
                flow.request.method, flow.request.host = method, host
                flow.request.headers = [(b"X-A", b"1")] if path == "/b" else []
                flows.append(flow)
    for flow in flows:
        expected = parse_filter(expr).matches_flow(flow)
        assert bool(rules.plan_request(flow).matched) == expected, (expr, flow.request)


@pytest.mark.parametrize("expr", ["status:404", "status:4xx", "status:404 host:api", "-status:404"])
def test_status_guards_agree_with_the_whole_expression(expr: str) -> None:
    rules = RuleSet()
    rule = rules.add(_bp(expr, on="response"))
    assert rule.error == ""
    for status in (200, 404, 410, 500):
        for host in ("api.test", "web.test"):
            flow = _flow()
            flow.request.host = host
            flow.response = Response(status=status)
            plan = rules.plan_response(flow, rules.plan_request(flow))
            assert bool(plan.matched) == parse_filter(expr).matches_flow(flow), (expr, status)
