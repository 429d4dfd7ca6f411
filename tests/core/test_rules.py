"""The rule model: the rules file's shape checked, matches compiled once,
unworkable rules kept and disabled with their reason, and which
breakpoint holds a flow at each phase."""

from __future__ import annotations

from typing import Any

import pytest

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


def test_the_first_matching_breakpoint_holds_and_counts_a_hit() -> None:
    rules = RuleSet()
    rules.add(_bp("path:/other"))
    second = rules.add(_bp("host:api", times=1))
    assert rules.pausing_any
    assert rules.breakpoint_for(_flow(), "request") is second
    assert second.hits == 1 and not second.active
    assert rules.breakpoint_for(_flow(), "request") is None
    assert rules.pausing("request") == [rules.get(1)]
    assert rules.get(1) is not None and rules.remove(1)
    assert not rules.pausing_any


def test_a_rule_on_both_holds_the_response_of_the_flow_it_held_without_a_second_hit() -> None:
    rules = RuleSet()
    rule = rules.add(_bp("host:api", on="both", times=1))
    flow = _flow()
    assert rules.breakpoint_for(flow, "request") is rule
    flow.response = Response(status=200)
    assert rules.breakpoint_for(flow, "response", rule.id) is rule
    assert rule.hits == 1
    assert rules.breakpoint_for(_flow(status=200), "response") is None


def test_phases_and_disabled_rules() -> None:
    rules = RuleSet()
    response_only = rules.add(_bp("status:404", on="response"))
    assert rules.breakpoint_for(_flow(), "request") is None
    assert rules.breakpoint_for(_flow(status=200), "response") is None
    assert rules.breakpoint_for(_flow(status=404), "response") is response_only
    response_only.enabled = False
    rules.refresh()
    assert rules.breakpoint_for(_flow(status=404), "response") is None
    assert not rules.pausing_any


def test_body_terms_say_the_body_must_be_read_first() -> None:
    rules = RuleSet()
    rules.add(_bp("reqbody:token"))
    assert rules.needs_bodies("request") and not rules.needs_bodies("response")
    assert rules.breakpoint_for(_flow(body=b"no"), "request") is None
    assert rules.breakpoint_for(_flow(body=b"a token"), "request") is not None


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
