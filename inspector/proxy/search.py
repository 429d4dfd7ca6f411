"""The ``search`` request: judging flows the engine holds with a filter
whose header or body terms the window's rows cannot answer.

The window asks this only when there is no session file to search (the
engine records none): a helper process then could not see the bodies.
Each request names the ids to judge, at most ``MAX_IDS``, and is judged
within ``BUDGET`` seconds of the engine's loop; what the budget leaves is
sent back as ``rest`` for the window to ask again, so a search of many
flows takes turns with the proxy instead of stalling it.
"""

from __future__ import annotations

import time
from typing import Any

from inspector.core.filter import FilterError, FlowFilter, parse_filter
from inspector.core.protocol import ProtocolError, field
from inspector.core.store import FlowStore

MAX_IDS = 2000
BUDGET = 0.005
"""Seconds of judging per request."""


class FlowSearch:
    def __init__(self, store: FlowStore) -> None:
        self.store = store
        self._filter: FlowFilter | None = None

    def _compiled(self, text: str) -> FlowFilter:
        if self._filter is None or self._filter.text != text:
            try:
                self._filter = parse_filter(text)
            except FilterError as exc:
                raise ProtocolError(f"'search': {exc}") from None
        return self._filter

    def __call__(self, args: dict[str, Any]) -> dict[str, Any]:
        """``filter`` and ``ids`` in; ``matches`` and ``misses`` (judged),
        ``later`` (not over, or bodies not in memory: ask once it ends)
        and ``rest`` (not reached within the budget) out. Ids of flows the
        engine no longer has are misses."""
        flow_filter = self._compiled(field(args, "filter", str, "search"))
        ids = list(field(args, "ids", (list, tuple), "search"))
        if len(ids) > MAX_IDS or any(type(i) is not int for i in ids):
            raise ProtocolError(f"'search' takes at most {MAX_IDS} integer ids")
        matches: list[int] = []
        misses: list[int] = []
        later: list[int] = []
        deadline = time.monotonic() + BUDGET
        store = self.store
        for done, flow_id in enumerate(ids):
            if done % 16 == 0 and done and time.monotonic() > deadline:
                return {"matches": matches, "misses": misses, "later": later, "rest": ids[done:]}
            flow = store.get(flow_id)
            if flow is None:
                misses.append(flow_id)
            elif not flow.finished or (flow.bodies_on_disk and flow_filter.needs_bodies):
                later.append(flow_id)
            elif flow_filter.matches_flow(flow):
                matches.append(flow_id)
            else:
                misses.append(flow_id)
        return {"matches": matches, "misses": misses, "later": later, "rest": []}
