"""The rule editor on its own: every action type's form gives the rules
file's form, the draft is checked as it is typed by the engine's own code
(a match that does not parse, a response term in a rule acting on the
request, a bad regular expression, a missing file), OK stays off while
it cannot work, actions are added, reordered and removed, and a rule is
described in a line; a mock is made from a flow's response."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

from inspector.core.flow import Flow, Request, Response
from inspector.core.rule_actions import action_from_json
from inspector.gui.rule_action_forms import (
    BlockForm,
    MapLocalForm,
    ReplaceBodyForm,
    SetHeaderForm,
    ThrottleForm,
)
from inspector.gui.rule_editor import RuleEditor
from inspector.gui.rule_reply_form import ReplyForm
from inspector.gui.rule_text import (
    ACTION_LABELS,
    action_summary,
    mock_from_flow,
    rule_for_flow,
    rule_summary,
)


def editor(qtbot: Any, rule: dict[str, Any] | None = None) -> RuleEditor:
    dialog = RuleEditor(rule)
    qtbot.addWidget(dialog)
    return dialog


def test_ok_waits_for_an_action_and_a_working_match(qtbot: Any) -> None:
    dialog = editor(qtbot)
    assert not dialog.ok_button.isEnabled()
    assert "Add an action" in dialog.message.text()
    dialog.add_action("reply")
    assert dialog.ok_button.isEnabled()
    assert "every flow" in dialog.message.text()
    dialog.match_box.setText("host:(")
    assert not dialog.ok_button.isEnabled()
    assert "needs a value" in dialog.message.text()
    # A response term cannot judge a rule that answers the request.
    dialog.match_box.setText("host:api status:404")
    assert not dialog.ok_button.isEnabled()
    assert "status:404" in dialog.message.text() and "reply" in dialog.message.text()
    # Acting on the response only, it can.
    dialog.remove_action()
    form = dialog.add_action("set_header")
    assert isinstance(form, SetHeaderForm)
    form.on_box.setCurrentIndex(form.on_box.findData("response"))
    form.name_box.setText("X-Seen")
    form.value_box.setText("yes")  # type: ignore[union-attr]
    assert dialog.ok_button.isEnabled(), dialog.message.text()
    assert dialog.message.text() == ""
    chosen: list[Any] = []
    dialog.rule_chosen.connect(chosen.append)
    dialog.name_box.setText("Mark 404s")
    dialog.limit_check.setChecked(True)
    dialog.limit_box.setValue(3)
    dialog.accept()
    assert chosen == [
        {
            "name": "Mark 404s",
            "match": "host:api status:404",
            "enabled": True,
            "times": 3,
            "actions": [{"type": "set_header", "on": "response", "name": "X-Seen", "value": "yes"}],
        }
    ]


def test_a_bad_action_is_named_and_marked_red(qtbot: Any) -> None:
    dialog = editor(qtbot)
    form = dialog.add_action("replace_body")
    assert isinstance(form, ReplaceBodyForm)
    assert not dialog.ok_button.isEnabled()  # an empty pattern
    form.pattern_box.setText("price: (")
    assert not dialog.ok_button.isEnabled()
    assert "Action 1" in dialog.message.text() and "bad pattern" in dialog.message.text()
    item = dialog.action_list.item(0)
    assert item.foreground().color().red() > 200 and "bad pattern" in item.toolTip()
    form.pattern_box.setText(r"price: (\d+)")
    form.with_box.setText(r"price: 0 (was \1)")
    assert dialog.ok_button.isEnabled()
    assert dialog.rule()["actions"] == [
        {
            "type": "replace_body",
            "on": "response",
            "pattern": r"price: (\d+)",
            "with": r"price: 0 (was \1)",
        }
    ]
    # A header name with a space is not one.
    header = dialog.add_action("remove_header")
    assert isinstance(header, SetHeaderForm)
    header.name_box.setText("X Bad")
    assert "Action 2" in dialog.message.text() and "not a header name" in dialog.message.text()
    assert not dialog.ok_button.isEnabled()


def test_every_action_type_has_a_form_giving_its_file_form(qtbot: Any, tmp_path: Path) -> None:
    dialog = editor(qtbot)
    for kind in ACTION_LABELS:
        form = dialog.add_action(kind)
        assert form is not None and dialog.action_box.title().endswith(ACTION_LABELS[kind])
        if isinstance(form, MapLocalForm):
            form.chooser = lambda directory, _start: str(tmp_path) if directory else ""
            form.dir_button.click()
            form.strip_box.setText("/static")
        elif isinstance(form, BlockForm):
            form.reset_radio.setChecked(True)
        elif isinstance(form, ThrottleForm):
            form.preset_buttons["Slow 4G"].click()
        elif isinstance(form, ReplyForm):
            form.status_box.setValue(201)
            form.add_header_button.click()
            form.headers.item(0, 0).setText("Content-Type")  # type: ignore[union-attr]
            form.headers.item(0, 1).setText("application/json")  # type: ignore[union-attr]
            form.body_box.setPlainText('{"id": 7}')
        elif hasattr(form, "to_box"):
            form.to_box.setText("https://staging.example.com/v2")
        elif isinstance(form, SetHeaderForm):
            form.name_box.setText("X-Env")
            if form.value_box is not None:
                form.value_box.setText("test")
        elif isinstance(form, ReplaceBodyForm):
            form.pattern_box.setText("a+")
    actions = dialog.rule()["actions"]
    assert [a["type"] for a in actions] == list(ACTION_LABELS)
    for action in actions:
        action_from_json(action)  # the engine's shape check
    by_type = {a["type"]: a for a in actions}
    assert by_type["map_local"] == {"type": "map_local", "path": str(tmp_path), "strip": "/static"}
    assert by_type["block"] == {"type": "block", "reset": True}
    assert by_type["throttle"] == {
        "type": "throttle",
        "down_kbps": 4000,
        "up_kbps": 1500,
        "latency_ms": 60,
    }
    assert by_type["reply"] == {
        "type": "reply",
        "status": 201,
        "headers": {"Content-Type": "application/json"},
        "body": '{"id": 7}',
    }
    assert by_type["map_remote"]["to"] == "https://staging.example.com/v2"
    assert by_type["delay"] == {"type": "delay", "ms": 500}
    assert by_type["breakpoint"] == {"type": "breakpoint", "on": "request"}
    # A mix of request and response actions can work: OK is on.
    assert dialog.ok_button.isEnabled(), dialog.message.text()


def test_throttle_presets_and_unlimited(qtbot: Any) -> None:
    form = ThrottleForm()
    qtbot.addWidget(form)
    for name, expected in (("3G", (780, 330, 100)), ("DSL", (2000, 256, 5))):
        form.preset_buttons[name].click()
        value = form.value()
        assert (value["down_kbps"], value["up_kbps"], value["latency_ms"]) == expected
    form.up_box.setValue(0)
    assert form.up_box.text() == "unlimited" and form.value()["up_kbps"] is None
    form.set_value({"type": "throttle", "down_kbps": 64.5})
    assert form.value() == {
        "type": "throttle",
        "down_kbps": 64.5,
        "up_kbps": None,
        "latency_ms": 0,
    }


def test_a_missing_file_to_answer_from_is_said(qtbot: Any, tmp_path: Path) -> None:
    dialog = editor(qtbot)
    form = dialog.add_action("map_local")
    assert isinstance(form, MapLocalForm)
    form.path_box.setText(str(tmp_path / "nothing.json"))
    assert not dialog.ok_button.isEnabled()
    assert "does not exist" in dialog.message.text()
    (tmp_path / "user.json").write_text("{}")
    form.chooser = lambda directory, _start: "" if directory else str(tmp_path / "user.json")
    form.file_button.click()
    assert form.path_box.text() == str(tmp_path / "user.json")
    assert dialog.ok_button.isEnabled()


def test_actions_are_reordered_and_removed(qtbot: Any) -> None:
    dialog = editor(qtbot)
    for kind in ("delay", "set_header", "block"):
        dialog.add_action(kind)

    def types() -> list[str]:
        return [a["type"] for a in dialog.rule()["actions"]]

    assert dialog.action_list.currentRow() == 2
    assert not dialog.down_button.isEnabled() and dialog.up_button.isEnabled()
    dialog.up_button.click()
    assert types() == ["delay", "block", "set_header"]
    assert dialog.action_list.currentRow() == 1
    dialog.action_list.setCurrentRow(0)
    dialog.down_button.click()
    assert types() == ["block", "delay", "set_header"]
    dialog.remove_button.click()
    assert types() == ["block", "set_header"]
    assert dialog.action_list.item(0).text() == "1. block 403"


def test_an_existing_rule_is_filled_in(qtbot: Any) -> None:
    rule = {
        "id": 4,
        "name": "Staging",
        "match": "host:api.example.com",
        "enabled": False,
        "times": 2,
        "actions": [
            {"type": "map_remote", "to": "https://staging.example.com"},
            {"type": "set_header", "on": "request", "name": "X-Env", "value": "staging"},
        ],
        "hits": 1,
        "error": "",
    }
    dialog = editor(qtbot, rule)
    assert dialog.windowTitle() == "Edit Rule"
    assert dialog.name_box.text() == "Staging"
    assert dialog.limit_check.isChecked() and dialog.limit_box.value() == 2
    assert dialog.action_list.count() == 2
    assert dialog.rule() == {
        key: rule[key] for key in ("name", "match", "enabled", "times", "actions")
    }
    dialog.action_list.setCurrentRow(1)
    form = dialog.form_widget
    assert isinstance(form, SetHeaderForm) and form.name_box.text() == "X-Env"
    form.value_box.setText("prod")  # type: ignore[union-attr]
    assert dialog.rule()["actions"][1]["value"] == "prod"
    assert dialog.action_list.item(1).text() == "2. set_header X-Env: prod"


def test_a_rule_in_a_line() -> None:
    rule = {
        "actions": [
            {"type": "map_remote", "to": "https://staging.example.com/api/v2/long/prefix"},
            {"type": "set_header", "on": "request", "name": "X-Env", "value": "test"},
        ]
    }
    assert rule_summary(rule) == (
        "map_remote → https://staging.example.com/api/v2/…; set_header X-Env: test"
    )
    assert action_summary({"type": "remove_header", "on": "response", "name": "Set-Cookie"}) == (
        "remove_header Set-Cookie (response)"
    )
    assert action_summary({"type": "block", "reset": True}) == "block (reset)"
    assert action_summary(
        {"type": "reply", "status": 200, "headers": {"content-type": "text/plain"}, "body": "hé"}
    ) == ("reply 200 text/plain, 3 bytes")
    assert action_summary({"type": "throttle", "down_kbps": 780, "up_kbps": None}) == (
        "throttle ↓780 ↑∞ kbit/s, +0 ms"
    )
    assert action_summary({"type": "map_local", "path": "/srv/site", "strip": "/static"}) == (
        "map_local ← /srv/site (less /static)"
    )


def _flow(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Flow:
    request = Request(method="GET", scheme="http", host="api.example.com", port=80)
    request.target = "/v1/users/7?full=1"
    flow = Flow(id=3, client_addr=("127.0.0.1", 5000), request=request)
    flow.response = Response(status=status, headers=headers, body=body, body_size=len(body))
    return flow


def test_a_mock_from_a_flow_answers_as_its_response_did() -> None:
    flow = _flow(
        404,
        [(b"Content-Type", b"application/json"), (b"Content-Encoding", b"gzip")],
        gzip.compress(b'{"error": "none"}'),
    )
    action, note = mock_from_flow(flow)
    assert note == ""
    assert action == {
        "type": "reply",
        "status": 404,
        "headers": {"Content-Type": "application/json"},
        "body": '{"error": "none"}',
    }
    rule = rule_for_flow(flow.request.host, flow.request.target, action)
    assert rule["match"] == "host:api.example.com path:/v1/users/7"
    assert rule["name"] == "Mock api.example.com"
    binary, note = mock_from_flow(_flow(200, [(b"Content-Type", b"image/png")], b"\x89PNG\xff"))
    assert binary["body"] == "" and "not text" in note


def test_the_body_of_a_mock_is_edited_in_its_form(qtbot: Any) -> None:
    form = ReplyForm()
    qtbot.addWidget(form)
    form.set_value({"type": "reply", "status": 503, "headers": {"Retry-After": "5"}, "body": "x"})
    assert form.value() == {
        "type": "reply",
        "status": 503,
        "headers": {"Retry-After": "5"},
        "body": "x",
    }
    form.headers.selectRow(0)
    form.remove_header_button.click()
    assert form.value()["headers"] == {}
