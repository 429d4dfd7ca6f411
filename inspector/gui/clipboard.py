"""Copying flows to the clipboard: URLs from the rows the window holds;
bodies, commands and code to send a request again (curl, HTTPie, Python
requests, fetch) and raw messages from details fetched from the engine."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication

from inspector.core.bodyview import charset
from inspector.core.copy_as import GENERATORS
from inspector.core.decode import DecodeError, decode_body
from inspector.core.flow import Flow
from inspector.core.mirror import RowMirror
from inspector.gui.details import fetch_flow
from inspector.gui.engine_link import EngineLink

COPY_KINDS = ("url", "body", *GENERATORS)


async def copy_flows(link: EngineLink, mirror: RowMirror, what: str, ids: list[int]) -> int:
    """Put ``what`` of the flows ``ids`` on the clipboard; returns how many
    flows it covers (0: nothing was copied)."""
    if what == "url":
        rows = [row for row in map(mirror.get, ids) if row is not None]
        text = "\n".join(row.url for row in rows)
        count = len(rows)
    elif what in GENERATORS:
        # curl, HTTPie, requests, fetch, raw request or response (core.copy_as).
        make = GENERATORS[what]
        flows = [flow for flow in [await fetch_flow(link, i) for i in ids] if flow is not None]
        texts = [text for text in map(make, flows) if text is not None]
        text = "\n\n".join(texts) if what.startswith("raw") else "\n".join(texts)
        count = len(texts)
    elif what == "body":
        flow = await fetch_flow(link, ids[0]) if ids else None
        if flow is None or flow.response is None:
            return 0
        text, count = response_text(flow), 1
    else:
        raise ValueError(f"cannot copy {what!r}")
    if count:
        QGuiApplication.clipboard().setText(text)
    return count


def response_text(flow: Flow) -> str:
    """The response body, content-decoded, as text."""
    response = flow.response
    assert response is not None
    try:
        data = decode_body(response.body, response.header(b"content-encoding")).data
    except DecodeError:
        data = response.body
    try:
        return data.decode(charset(response), "replace")
    except LookupError:
        return data.decode("utf-8", "replace")
