"""The rules file: read whole or refused in one line; written back."""

from __future__ import annotations

import json

import pytest

from inspector.core.rule_actions import RuleError
from inspector.core.rules_file import read_rules, warnings, write_rules

GOOD = {
    "rules": [
        {"name": "Mock", "match": "path:/api", "actions": [{"type": "reply", "body": "{}"}]},
        {"match": "", "actions": [{"type": "breakpoint", "on": "both"}], "times": 2},
    ]
}


def test_a_good_file_reads_and_writes_back() -> None:
    rules = read_rules(json.dumps(GOOD))
    assert rules == GOOD["rules"]
    assert json.loads(write_rules(rules)) == GOOD
    engine_form = [{"id": 3, "hits": 9, "error": "", **GOOD["rules"][0]}]
    assert json.loads(write_rules(engine_form)) == {"rules": [GOOD["rules"][0]]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not JSON"),
        ("{", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        ("[]", 'an object with a "rules" list'),
        ('{"rules": {}}', 'an object with a "rules" list'),
        ('{"rules": [1]}', "rule 1: a rule must be an object"),
        ('{"rules": [{"actions": []}]}', "rule 1: a rule needs a non-empty list"),
        (
            '{"rules": [{"actions": [{"type": "reply"}]}, {"actions": [{"type": "fly"}]}]}',
            "rule 2: unknown action type 'fly'",
        ),
    ],
)
def test_a_bad_file_is_refused_in_one_line(text: str | bytes, message: str) -> None:
    with pytest.raises(RuleError, match=message) as caught:
        read_rules(text)
    assert "\n" not in str(caught.value)


def test_warnings_name_the_disabled_rules() -> None:
    rules = [{"name": "A", "error": ""}, {"name": "B", "error": "match: bad"}]
    assert warnings(rules) == ["rule 2 (B) disabled: match: bad"]
