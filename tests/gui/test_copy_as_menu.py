"""Copy as: the table's submenu asks for each kind, and the clipboard gets
what ``core.copy_as`` makes of the flows fetched from the engine."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from inspector.core.copy_as import LABELS
from inspector.core.flow import Flow, FlowState, Request, Response
from inspector.core.wire import flow_to_wire
from inspector.gui.clipboard import copy_flows
from inspector.gui.flow_table import FlowTable
from tests.gui.feed import Feed


class FakeLink:
    def __init__(self, flows: dict[int, Flow]) -> None:
        self.flows = flows

    async def request(self, op: str, **args: Any) -> Any:
        assert op == "detail"
        flow = self.flows.get(args["id"])
        return {"flow": flow_to_wire(flow) if flow is not None else None}


def _flow(flow_id: int) -> Flow:
    request = Request(
        method="POST",
        host="api.test",
        target="/up",
        headers=[(b"Host", b"api.test"), (b"Content-Type", b"application/octet-stream")],
    )
    request.body = request_body = b"\x00\x01bin"
    request.body_size = len(request_body)
    flow = Flow(flow_id, ("127.0.0.1", 1), request)
    flow.response = Response(status=204, reason="No Content")
    flow.state = FlowState.COMPLETE
    return flow


def test_the_submenu_asks_for_each_kind(qtbot: QtBot) -> None:
    feed = Feed()
    feed.add()
    table = FlowTable(feed.model())
    qtbot.addWidget(table)
    asked: list[tuple[str, list[int]]] = []
    table.copy_requested.connect(lambda kind, ids: asked.append((kind, ids)))
    table.selectRow(0)
    assert [a.text() for a in table.copy_as_menu.actions()] == list(LABELS.values())
    for action in table.copy_as_menu.actions():
        action.trigger()
    assert asked == [(kind, [1]) for kind in LABELS]


def test_copy_as_puts_each_kind_on_the_clipboard(qtbot: QtBot) -> None:
    link = FakeLink({1: _flow(1), 2: _flow(2)})
    clipboard = QGuiApplication.clipboard()

    def copied(kind: str, ids: list[int]) -> tuple[int, str]:
        count = asyncio.run(copy_flows(link, None, kind, ids))  # type: ignore[arg-type]
        return count, clipboard.text()

    count, text = copied("curl", [1])
    assert count == 1 and text.startswith("printf '\\000\\001bin' | curl ")
    count, text = copied("httpie", [1, 2])
    assert count == 2 and text.count("| http POST http://api.test/up") == 2
    count, text = copied("requests", [1])
    assert "data=b'\\x00\\x01bin'," in text
    count, text = copied("fetch", [1])
    assert "new Uint8Array([0, 1, 98, 105, 110])" in text
    count, text = copied("raw_response", [1])
    assert text == "HTTP/1.1 204 No Content\r\n\r\n"
    assert copied("raw_request", [3])[0] == 0  # gone from the engine
