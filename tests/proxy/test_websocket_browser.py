"""A real browser's WebSocket through the proxy: headless Chromium loads a
page whose script opens a socket, exchanges text, binary and JSON
messages, closes, and reports what it got back.

Runs when Chromium is installed (CI installs it); skipped elsewhere.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import shutil
import ssl
import subprocess
import urllib.parse
from http import HTTPStatus
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.typing import Subprotocol

from inspector.core.certs import CertStore
from inspector.core.flow import FlowState
from inspector.core.websocket import BINARY, CLOSE, TEXT, UP
from inspector.proxy.errors import UpstreamError
from tests.proxy.harness import running_proxy

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")

PAGE = """<!doctype html><title>ws</title><script>
const ws = new WebSocket("%(scheme)s://%(host)s:%(port)d/echo", ["chat"]);
ws.binaryType = "arraybuffer";
const got = [];
ws.onopen = () => {
  ws.send("hello");
  ws.send(new Uint8Array([1, 2, 3, 250]));
  ws.send(JSON.stringify({n: 1, text: "caf\\u00e9"}));
};
ws.onmessage = (e) => {
  got.push(typeof e.data === "string" ? e.data : "binary:" + new Uint8Array(e.data).join(","));
  if (got.length === 3) ws.close(1000, "done");
};
ws.onclose = (e) => {
  fetch("/done?" + encodeURIComponent(JSON.stringify({got: got, code: e.code})));
};
</script>"""


async def _loopback_only(host: str, port: int) -> list[str]:
    """Chromium's own background requests (updates, accounts) go nowhere."""
    if host in ("127.0.0.1", "localhost"):
        return ["127.0.0.1"]
    raise UpstreamError(502, "dns", f"{host} is not resolved in tests")


def _spki(ca_path: Path) -> str:
    cert = x509.load_pem_x509_certificate(ca_path.read_bytes())
    der = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


class _Site:
    """A page, the WebSocket it opens (an echo), and the report it sends."""

    def __init__(self, scheme: str, host: str) -> None:
        self.scheme = scheme
        self.host = host
        self.port = 0
        self.report: asyncio.Future[dict[str, object]] = asyncio.get_running_loop().create_future()

    async def echo(self, ws: ServerConnection) -> None:
        with contextlib.suppress(Exception):
            async for message in ws:
                await ws.send(message)

    def http(self, connection: ServerConnection, request: Request) -> Response | None:
        path = urllib.parse.urlsplit(request.path)
        if path.path == "/echo":
            return None  # the WebSocket handshake
        if path.path == "/done":
            if not self.report.done():
                self.report.set_result(json.loads(urllib.parse.unquote(path.query)))
            return connection.respond(HTTPStatus.NO_CONTENT, "")
        if path.path == "/":
            page = PAGE % {"scheme": self.scheme, "host": self.host, "port": self.port}
            body = page.encode()
            headers = Headers([("Content-Type", "text/html"), ("Content-Length", str(len(body)))])
            return Response(200, "OK", headers, body)
        return connection.respond(HTTPStatus.NOT_FOUND, "no\n")


def _browse(url: str, proxy_port: int, spki: str, profile: Path) -> subprocess.Popen[bytes]:
    assert CHROMIUM is not None
    return subprocess.Popen(
        [
            CHROMIUM,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--disable-domain-reliability",
            "--no-default-browser-check",
            "--disable-features=OptimizationHints,Translate,MediaRouter,AutofillServerCommunication",
            f"--user-data-dir={profile}",
            f"--proxy-server=http://127.0.0.1:{proxy_port}",
            "--proxy-bypass-list=<-loopback>",
            f"--ignore-certificate-errors-spki-list={spki}",
            "--remote-debugging-port=0",
            url,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("scheme", ["ws", "wss"])
def test_chromium_page_exchanges_messages_through_the_proxy(
    scheme: str,
    proxy_certs: CertStore,
    upstream_certs: CertStore,
    upstream_ca_file: Path,
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        host = "127.0.0.1" if scheme == "ws" else "localhost"
        site = _Site(scheme, host)
        tls: ssl.SSLContext | None = None
        if scheme == "wss":
            tls = upstream_certs.server_context("localhost")
        async with (
            serve(
                site.echo,
                "127.0.0.1",
                0,
                process_request=site.http,
                ssl=tls,
                subprotocols=[Subprotocol("chat")],
            ) as server,
            running_proxy(
                resolver=_loopback_only, certs=proxy_certs, upstream_ca_file=str(upstream_ca_file)
            ) as proxy,
        ):
            site.port = server.sockets[0].getsockname()[1]
            page = f"{'http' if scheme == 'ws' else 'https'}://{host}:{site.port}/"
            spki = _spki(proxy_certs.ca_cert_path)
            browser = _browse(page, proxy.port, spki, tmp_path / "profile")
            try:
                report = await asyncio.wait_for(site.report, 60)
            finally:
                browser.terminate()
                await asyncio.to_thread(browser.wait, 10)
            assert report == {
                "got": ["hello", "binary:1,2,3,250", '{"n":1,"text":"café"}'],
                "code": 1000,
            }
            await proxy.wait_flows(1, timeout=10)
            [flow] = [f for f in proxy.store if f.websocket is not None]
            info = flow.websocket
            assert info is not None
            assert flow.response is not None and flow.response.status == 101
            assert flow.request.target == "/echo" and info.tls == (scheme == "wss")
            assert info.protocol == "chat"
            for _ in range(500):
                if flow.state is not FlowState.STREAMING:
                    break
                await asyncio.sleep(0.02)
            assert flow.state is FlowState.COMPLETE and flow.error is None
            assert (info.msgs_up, info.msgs_down) == (3, 3)
            assert info.close_code == 1000 and info.close_reason == "done"
            assert info.closed_by == UP
            sent = [(m.opcode, m.payload) for m in info.messages if m.direction == UP]
            assert sent[:3] == [
                (TEXT, b"hello"),
                (BINARY, bytes([1, 2, 3, 250])),
                (TEXT, '{"n":1,"text":"café"}'.encode()),
            ]
            assert sent[3][0] == CLOSE

    asyncio.run(scenario())
