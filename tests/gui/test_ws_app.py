"""A real WebSocket through the desktop app: a ``websockets`` client and
server on 127.0.0.1, the socket's row live while it is open, and its
messages in the Messages tab, following new ones until it closes."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from inspector.app import DesktopApp
from inspector.gui.flow_cells import Column
from inspector.gui.ws_messages import Column as MessageColumn

RunApp = Callable[..., int]


async def _until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def _echo(ws: ServerConnection) -> None:
    async for message in ws:
        if isinstance(message, bytes):
            await ws.send(message[::-1])
        else:
            await ws.send(json.dumps({"echo": json.loads(message)}))


def test_a_socket_through_the_window(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        window = app.window
        port = int(app.controller.address.rsplit(":", 1)[1])
        async with serve(_echo, "127.0.0.1", 0, subprotocols=["chat.v1"]) as server:
            origin = server.sockets[0].getsockname()[1]
            uri = f"ws://127.0.0.1:{origin}/live"
            proxy = f"http://127.0.0.1:{port}"
            async with connect(uri, proxy=proxy, subprotocols=["chat.v1"]) as ws:
                await ws.send(json.dumps({"op": "hello"}))
                await ws.recv()
                await ws.send(b"\x01\x02\x03")
                await ws.recv()
                model = window.model
                # The CONNECT tunnel websockets opens, and the socket inside.
                await _until(lambda: model.rowCount() == 2)
                await _until(lambda: "2 ↑ 2 ↓" in model.data(model.index(1, Column.PATH)))
                assert model.data(model.index(1, Column.TYPE)) == "websocket"
                assert model.data(model.index(1, Column.HOST)) == f"ws://127.0.0.1:{origin}"
                assert model.data(model.index(1, Column.DURATION)) == "● open"

                window.table.selectRow(1)
                pane, view = window.detail, window.detail.messages
                await _until(lambda: view.model.rowCount() == 4)
                assert pane.isTabVisible(pane.indexOf(view))
                assert "subprotocol <b>chat.v1</b>" in view.handshake.text()
                messages = view.model
                previews = [
                    messages.data(messages.index(r, MessageColumn.PREVIEW)) for r in range(4)
                ]
                assert previews == [
                    '{"op": "hello"}',
                    '{"echo": {"op": "hello"}}',
                    "01 02 03",
                    "03 02 01",
                ]
                arrows = [
                    messages.data(messages.index(r, MessageColumn.DIRECTION)) for r in range(4)
                ]
                assert arrows == ["↑", "↓", "↑", "↓"]

                await ws.send(json.dumps({"op": "more"}))
                await ws.recv()
                await _until(lambda: view.model.rowCount() == 6)
            await _until(lambda: "ended" in view.handshake.text())
            assert "close 1000 from the client" in view.handshake.text()
            await _until(lambda: model.data(model.index(1, Column.DURATION)) != "● open")
            await _until(lambda: view.model.rowCount() == 8)  # and the two close frames
            closes = [view.model.data(view.model.index(r, MessageColumn.TYPE)) for r in (6, 7)]
            assert closes == ["close 1000", "close 1000"]

    assert run_app(scenario) == 0
