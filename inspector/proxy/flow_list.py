"""The ``flows`` request: the flows the engine holds, a page at a time,
for scripts (``inspector ctl flows``).

Each flow is one short row, ``[id, method, url, status, error]`` (status
0 without a response, error the failure's text or None), in id order
after ``after``, those an optional filter expression (docs/filter.md)
matches: header and body terms judged on the whole flow, bodies that left
memory for the session file read back from it. A page holds at most
``MAX_LIMIT`` rows and judges flows for at most ``BUDGET`` seconds of the
engine's loop; ``last`` says where the next page starts and ``more``
whether one is needed, so a long listing takes turns with the proxy.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable
from typing import Any

from inspector.core.filter import FilterError, FlowFilter, parse_filter
from inspector.core.flow import Flow
from inspector.core.protocol import ProtocolError
from inspector.proxy.flow_reads import ReadsHost

MAX_LIMIT = 5000
BUDGET = 0.01
"""Seconds of judging per page."""
Row = list[Any]


def flow_row(flow: Flow) -> Row:
    response = flow.response
    return [
        flow.id,
        flow.request.method,
        flow.request.url,
        response.status if response is not None else 0,
        flow.error.message if flow.error is not None else None,
    ]


class FlowList:
    def __init__(self, host: ReadsHost) -> None:
        self.host = host
        self._filter: FlowFilter | None = None

    def __call__(self, args: dict[str, Any]) -> dict[str, Any] | Awaitable[dict[str, Any]]:
        """``filter``, ``after`` and ``limit`` in; ``flows``, ``last`` (the
        id to ask after next: the last flow returned when the page is
        full) and ``more`` out."""
        text = args.get("filter")
        after = args.get("after", 0)
        limit = args.get("limit", MAX_LIMIT)
        if text is not None and not isinstance(text, str):
            raise ProtocolError("'flows' needs 'filter' as str")
        if type(after) is not int or type(limit) is not int or after < 0 or limit < 1:
            raise ProtocolError("'flows' takes a flow id 'after' and a positive 'limit'")
        only = self._compiled(text) if text else None
        limit = min(limit, MAX_LIMIT)
        if only is not None and only.needs_bodies and self.host.bodies is not None:
            return self._page_from_disk(only, after, limit)
        return self._page(only, after, limit)

    def _compiled(self, text: str) -> FlowFilter:
        if self._filter is None or self._filter.text != text:
            try:
                self._filter = parse_filter(text)
            except FilterError as exc:
                raise ProtocolError(f"'flows': {exc}") from None
        return self._filter

    def _page(self, only: FlowFilter | None, after: int, limit: int) -> dict[str, Any]:
        store = self.host.store
        rows: list[Row] = []
        last = after
        deadline = time.monotonic() + BUDGET
        for seen, flow in enumerate(store.range(after + 1, store.last_id)):
            if len(rows) >= limit or (seen % 16 == 15 and time.monotonic() > deadline):
                return {"flows": rows, "last": last, "more": True}
            last = flow.id
            if only is None or only.matches_flow(flow):
                rows.append(flow_row(flow))
        return {"flows": rows, "last": last, "more": False}

    async def _page_from_disk(self, only: FlowFilter, after: int, limit: int) -> dict[str, Any]:
        """As ``_page``, with the bodies of flows that left memory read
        back for the body terms."""
        store = self.host.store
        rows: list[Row] = []
        last = after
        deadline = time.monotonic() + BUDGET
        for seen, flow in enumerate(store.range(after + 1, store.last_id)):
            if len(rows) >= limit or (seen % 16 == 15 and time.monotonic() > deadline):
                return {"flows": rows, "last": last, "more": True}
            last = flow.id
            judged = await self._with_bodies(flow) if flow.bodies_on_disk else flow
            if only.matches_flow(judged):
                rows.append(flow_row(flow))
        return {"flows": rows, "last": last, "more": False}

    async def _with_bodies(self, flow: Flow) -> Flow:
        """A copy of ``flow`` holding the bodies its session file keeps."""
        source = self.host.bodies
        assert source is not None
        request_body, response_body = await source.read_bodies(flow.id)
        response = flow.response
        return dataclasses.replace(
            flow,
            request=dataclasses.replace(flow.request, body=request_body),
            response=dataclasses.replace(response, body=response_body) if response else None,
        )
