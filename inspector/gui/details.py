"""A flow's details, fetched from the engine when the window needs them.

The window holds summary rows only; headers, bodies and connection details
are asked for by flow id (the selected flow, or the flows a copy action
works on) and not kept beyond that. A body larger than the engine sends
inline comes in ranges, so no single message is large.
"""

from __future__ import annotations

from inspector.core.flow import Flow, Message
from inspector.core.protocol import MAX_BODY_RANGE
from inspector.core.wire import FlowDetail, flow_from_wire
from inspector.gui.engine_link import EngineLink


async def fetch_flow(link: EngineLink, flow_id: int) -> Flow | None:
    """The flow with whole captured bodies, or None when the engine no
    longer has it. Raises EngineError or ChannelClosed."""
    result = await link.request("detail", id=flow_id)
    if not isinstance(result, dict) or result.get("flow") is None:
        return None
    detail = flow_from_wire(result["flow"])
    if not detail.complete:
        await _fetch_bodies(link, detail)
    return detail.flow


async def _fetch_bodies(link: EngineLink, detail: FlowDetail) -> None:
    flow = detail.flow
    parts: list[tuple[str, Message, int]] = [("request", flow.request, detail.request_captured)]
    if flow.response is not None:
        parts.append(("response", flow.response, detail.response_captured))
    for side, message, captured in parts:
        chunks = [message.body]
        have = len(message.body)
        while have < captured:
            result = await link.request(
                "body", id=flow.id, side=side, offset=have, length=MAX_BODY_RANGE
            )
            data = result.get("data") if isinstance(result, dict) else None
            if not isinstance(data, bytes) or not data:
                break  # the flow went, or its body was dropped meanwhile
            chunks.append(data)
            have += len(data)
        message.body = b"".join(chunks)
