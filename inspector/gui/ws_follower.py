"""Keeps the Messages tab fed: a WebSocket flow's messages fetched from the
engine a page at a time, only what is new since the last page.

The detail follower calls ``refresh`` each time it has shown the selected
flow's details again (the selection moved, or a batch brought its row), so
an open socket's new messages follow its row. One fetch at a time, as for
the details: a refresh meanwhile brings one more round once the current
one is in; a round fetches pages until it has caught up with the engine.
A selected message whose row holds only a preview of its payload gets its
whole kept payload by ``ws_message``, the newest selection winning.
"""

from __future__ import annotations

from typing import Any

from inspector.core.protocol import ProtocolError
from inspector.core.ws_wire import MAX_PAGE, PREVIEW, message_from_wire
from inspector.gui.engine_link import EngineLink
from inspector.gui.tasks import GuiTasks
from inspector.gui.ws_view import Page, WebSocketView
from inspector.link.channel import ChannelClosed
from inspector.link.client import EngineError


def page_from_reply(result: Any) -> Page:
    """A ``ws_messages`` reply as a page; ProtocolError when it is not one."""
    if not isinstance(result, dict):
        raise ProtocolError("malformed ws_messages reply")
    messages, first, following = (result.get(k) for k in ("messages", "first_seq", "next_seq"))
    if (
        not isinstance(messages, list | tuple)
        or type(first) is not int
        or type(following) is not int
    ):
        raise ProtocolError("malformed ws_messages reply")
    return Page([message_from_wire(m) for m in messages], first, following)


class WsFollower:
    def __init__(self, view: WebSocketView, link: EngineLink, tasks: GuiTasks) -> None:
        self.view = view
        self.link = link
        self.tasks = tasks
        self._busy = False
        self._again = False
        self._payload_busy = False
        view.payload_wanted.connect(self.fetch_payload)

    def refresh(self) -> None:
        """Fetch what is new for the flow the view shows, if a WebSocket."""
        if self.view.flow_id is None or not self.link.connected:
            return
        if self._busy:
            self._again = True
            return
        self._busy = True
        self.tasks.spawn(self._fetch(), "Fetching WebSocket messages")

    async def _fetch(self) -> None:
        view = self.view
        try:
            while True:
                self._again = False
                flow_id = view.flow_id
                if flow_id is None:
                    return
                after = view.after
                try:
                    result = await self.link.request(
                        "ws_messages", id=flow_id, after=after, limit=MAX_PAGE, preview=PREVIEW
                    )
                except (ChannelClosed, EngineError) as exc:
                    view.set_problem(f"The messages could not be fetched: {exc}")
                    return
                page = page_from_reply(result)
                if not view.add_page(flow_id, after, page):
                    self._again = True  # shown anew meanwhile: start over
                elif page.messages and view.model.last_seq < page.next_seq - 1:
                    self._again = True  # more than a page was waiting
                if not self._again:
                    return
        finally:
            self._busy = False

    def fetch_payload(self, seq: int) -> None:
        """The view wants the whole payload of its selected message."""
        flow_id = self.view.flow_id
        if not self.link.connected:
            if flow_id is not None:
                self.view.show_payload(flow_id, seq, None)
            return
        if self._payload_busy:
            return  # the round in flight fetches the newest selection next
        self._payload_busy = True
        self.tasks.spawn(self._fetch_payloads(), "Fetching a WebSocket message")

    async def _fetch_payloads(self) -> None:
        view = self.view
        try:
            # Each round shows its answer (or finds it unwanted), so the
            # loop ends once no newer selection is waiting.
            while True:
                flow_id, seq = view.flow_id, view.wanted_seq
                if flow_id is None or seq is None:
                    return
                try:
                    result = await self.link.request("ws_message", id=flow_id, seq=seq)
                except (ChannelClosed, EngineError) as exc:
                    view.set_problem(f"The message could not be fetched: {exc}")
                    return
                wire = result.get("message") if isinstance(result, dict) else None
                message = message_from_wire(wire) if wire is not None else None
                view.show_payload(flow_id, seq, message)
        finally:
            self._payload_busy = False
