"""Answers the proxy gives itself, without any upstream: its help page, for
a request aimed at the proxy as if it were a web server, and the onboarding
pages on the magic host (the CA's downloads and install steps)."""

from __future__ import annotations

import h11

from inspector.core import onboarding
from inspector.core.flow import Flow, Response
from inspector.proxy import pages
from inspector.proxy.errors import ClientError
from inspector.proxy.exchange import ClientSide

HTML = b"text/html; charset=utf-8"


async def serve_help(client: ClientSide, flow: Flow) -> bool:
    """An origin-form request is aimed at the proxy itself: explain how to
    use it instead of forwarding anywhere."""
    listen = client.ctx.listen
    client.ctx.recorder.aimed_at_proxy(flow, *split_listen(listen))
    status = 200 if flow.request.target in ("/", "/index.html") else 404
    return await answer(client, flow, status, HTML, pages.help_page(listen))


async def serve_onboarding(client: ClientSide, flow: Flow) -> bool:
    """The magic host: CA downloads and install steps, served here."""
    ctx = client.ctx
    certs = ctx.certs if ctx.settings.intercept_tls else None
    path = flow.request.target.split("?", 1)[0]
    if certs is not None and path == onboarding.PEM_PATH:
        return await answer(client, flow, 200, onboarding.PEM_TYPE, certs.ca_cert_pem())
    if certs is not None and path == onboarding.DER_PATH:
        return await answer(client, flow, 200, onboarding.DER_TYPE, certs.ca_cert_der())
    fingerprint = certs.ca_fingerprint() if certs is not None else None
    status = 200 if path in ("/", "/index.html") else 404
    return await answer(client, flow, status, HTML, onboarding.page(fingerprint, ctx.listen))


async def answer(
    client: ClientSide, flow: Flow, status: int, content_type: bytes, body: bytes
) -> bool:
    """Send a whole response made here; True (the connection may go on).
    ClientError when the request carries a body (the caller answers 400)."""
    if not client.finish_request_nowait():
        raise ClientError(400, "bad-request", "requests to the proxy take no body")
    headers = [
        (b"Content-Type", content_type),
        (b"Content-Length", str(len(body)).encode()),
    ]
    data = client.start_response(
        h11.Response(status_code=status, headers=headers, reason=pages.reason(status))
    )
    if flow.request.method != "HEAD":
        data += client.frame(h11.Data(data=body))
    data += client.frame(h11.EndOfMessage())
    response = Response(
        status=status, reason=pages.reason(status), headers=headers, body=body, body_size=len(body)
    )
    await client.send(data)
    client.ctx.recorder.finished(flow, response)
    return True


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port) if port.isdigit() else 0
