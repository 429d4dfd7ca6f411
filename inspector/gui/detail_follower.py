"""Keeps the detail pane on the selected flow, with details from the engine.

The window holds rows only; when the selection moves, or a batch brings a
new row for the selected flow, the follower asks the engine for the flow's
details and shows them. One fetch at a time: a change meanwhile brings one
more fetch once the current one is in, never a queue of them; a reply for
a flow no longer selected is dropped. Each time details are shown, the
Messages tab's follower fetches what is new of a WebSocket's messages.
"""

from __future__ import annotations

from inspector.gui.detail_pane import DetailPane
from inspector.gui.details import fetch_flow
from inspector.gui.engine_link import EngineLink
from inspector.gui.tasks import GuiTasks
from inspector.gui.ws_follower import WsFollower
from inspector.link.channel import ChannelClosed
from inspector.link.client import EngineError

GONE_WITH_ENGINE = "The details of this flow went with the engine."


class DetailFollower:
    def __init__(self, pane: DetailPane, link: EngineLink, tasks: GuiTasks) -> None:
        self.pane = pane
        self.link = link
        self.tasks = tasks
        self.wanted: int | None = None
        """The selected flow, whose details are shown or on their way."""
        self._busy = False
        self._again = False
        self.messages = WsFollower(pane.messages, link, tasks)

    def select(self, flow_id: int | None) -> None:
        self.wanted = flow_id
        if flow_id is None:
            self.pane.show_flow(None)
            return
        self.refresh()

    def changed(self, flow_ids: list[int], everything: bool = False) -> None:
        """A batch brought new rows for ``flow_ids`` (or for all)."""
        if self.wanted is not None and (everything or self.wanted in flow_ids):
            self.refresh()

    def forget(self) -> None:
        """The flows are gone (cleared): show nothing."""
        self.wanted = None
        self.pane.show_flow(None)

    def engine_lost(self) -> None:
        if self.wanted is not None:
            self.pane.show_message(GONE_WITH_ENGINE)

    def refresh(self) -> None:
        if self._busy:
            self._again = True
            return
        if not self.link.connected:
            self.pane.show_message(GONE_WITH_ENGINE)
            return
        self._busy = True
        self.tasks.spawn(self._fetch(), "Fetching a flow's details")

    async def _fetch(self) -> None:
        try:
            while True:
                self._again = False
                flow_id = self.wanted
                if flow_id is None:
                    return
                try:
                    flow = await fetch_flow(self.link, flow_id)
                except (ChannelClosed, EngineError) as exc:
                    self.pane.show_message(f"The details could not be fetched: {exc}")
                    return
                if self.wanted != flow_id:
                    continue
                if flow is None:
                    self.pane.show_message("This flow is no longer held by the engine.")
                else:
                    self.pane.show_flow(flow)
                    self.messages.refresh()
                if not self._again:
                    return
        finally:
            self._busy = False
