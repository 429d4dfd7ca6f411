"""Final rule actions: the flow answered by the proxy itself, from a
``reply`` (a mock), a ``map_local`` file, or a ``block`` (a status, or the
connection cut)."""

from __future__ import annotations

import h11

from inspector.core.flow import Flow, Headers, Response
from inspector.core.rule_actions import Block, MapLocal, Reply
from inspector.core.rules import Rule
from inspector.proxy import map_local, pages
from inspector.proxy.errors import Aborted
from inspector.proxy.exchange import ClientSide
from inspector.proxy.held_body import read_request_body


async def answer(client: ClientSide, flow: Flow, rule: Rule, action: object) -> bool:
    """A final action answers the flow; whether the connection may go on."""
    recorder = client.ctx.recorder
    if isinstance(action, Block) and action.reset:
        recorder.rule_applied(flow, rule.name, "block: connection reset")
        raise Aborted(f"blocked by rule {rule.name}", reset=True, kind="blocked")
    if isinstance(action, Block):
        text = f"Blocked by rule {rule.name}.\n".encode()
        headers: Headers = [(b"Content-Type", b"text/plain; charset=utf-8")]
        status, body, note = action.status, text, f"block: answered {action.status}"
    elif isinstance(action, Reply):
        headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in action.headers]
        status, body = action.status, action.body.encode("utf-8")
        note = f"reply: answered {status} ({len(body)} bytes)"
    else:
        assert isinstance(action, MapLocal)
        found = map_local.resolve(action, flow.request.target)
        status, headers = found.status, [(b"Content-Type", found.content_type)]
        if found.path is None:
            body, note = (found.message + "\n").encode(), found.message
        else:
            try:
                body = await map_local.read(found.path)
                note = f"map_local: answered from {found.path}"
            except OSError as exc:
                status, body = 500, f"map_local: {exc}\n".encode()
                headers, note = [(b"Content-Type", b"text/plain; charset=utf-8")], str(exc)
    recorder.rule_applied(flow, rule.name, note)
    keep = await _drain(client, flow)
    headers = [(n, v) for n, v in headers if n.lower() not in (b"content-length", b"connection")]
    headers.append((b"Content-Length", str(len(body)).encode()))
    if not keep:
        headers.append((b"Connection", b"close"))
    reason = pages.reason(status)
    data = client.start_response(h11.Response(status_code=status, headers=headers, reason=reason))
    if flow.request.method != "HEAD":
        data += client.frame(h11.Data(data=body))
    data += client.frame(h11.EndOfMessage())
    response = Response(
        status=status,
        reason=reason,
        headers=headers,
        body=body,
        body_size=len(body),
    )
    await client.send(data)
    recorder.finished(flow, response)
    return keep


async def _drain(client: ClientSide, flow: Flow) -> bool:
    """Read what is left of a request answered here (kept in the flow up
    to the capture limit); False when it is too large to wait for."""
    if not client.body_unread:
        return True
    chunks, whole = await read_request_body(client, flow)
    if flow.request.body_size == 0:
        client.ctx.recorder.request_held(flow, b"".join(chunks), not whole)
    return whole
