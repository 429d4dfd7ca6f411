"""``inspector --selftest``: a tiny origin server on 127.0.0.1, requests
sent to it through the running app's proxy (HTTP, then HTTPS through
interception trusting only Inspector's CA), and a check that the window's
table shows each of them with its status. ``run`` prints ``selftest ok``
or says what failed; the app quits with the code it returns."""

from __future__ import annotations

import asyncio
import http.client
import json
import ssl
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from inspector.core.certs import CertStore

if TYPE_CHECKING:
    from inspector.gui.main_window import MainWindow

ROUTES: dict[str, tuple[int, str, bytes]] = {
    "/hello": (200, "text/plain", b"hello from the selftest origin\n"),
    "/data.json": (200, "application/json", json.dumps({"ok": True, "items": [1, 2, 3]}).encode()),
    "/missing": (404, "text/plain", b"not here\n"),
}


async def start_origin(tls: ssl.SSLContext | None = None) -> tuple[asyncio.Server, int]:
    """A tiny origin on 127.0.0.1 (HTTPS with ``tls``) answering ROUTES."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode("latin-1")
                status, ctype, body = ROUTES.get(path, (404, "text/plain", b"unknown\n"))
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, IndexError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=tls)
    return server, server.sockets[0].getsockname()[1]


def fetch(proxy: str, url: str, timeout: float = 10.0) -> int:
    """GET ``url`` through the proxy at ``host:port``; the status code."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": f"http://{proxy}"}))
    try:
        with opener.open(url, timeout=timeout) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as err:
        err.read()
        return int(err.code)


def fetch_https(proxy: str, host: str, port: int, path: str, cafile: str) -> int:
    """GET ``https://host:port/path`` through the proxy with CONNECT,
    trusting only ``cafile``: interception must have worked end to end."""
    proxy_host, _, proxy_port = proxy.rpartition(":")
    context = ssl.create_default_context(cafile=cafile)
    conn = http.client.HTTPSConnection(
        proxy_host.strip("[]"), int(proxy_port), timeout=10, context=context
    )
    try:
        conn.set_tunnel(host, port)
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return int(response.status)
    finally:
        conn.close()


def check_trust_store() -> None:
    """Build the default upstream TLS context (system store via truststore,
    or certifi): fails loudly if a frozen build lost its certificates."""
    from inspector.core.settings import ProxySettings
    from inspector.proxy.upstream_tls import upstream_context

    context = upstream_context(ProxySettings())
    if context.verify_mode != ssl.CERT_REQUIRED:
        raise RuntimeError("the default upstream TLS context does not verify certificates")


def expected(origin_port: int) -> dict[str, int]:
    """URL -> status the table must show."""
    return {
        f"http://127.0.0.1:{origin_port}{path}": status for path, (status, _, _) in ROUTES.items()
    }


TABLE_WAIT = 10.0


async def run(
    window: MainWindow,
    proxy: str,
    ca_path: Path | None,
    upstream_dir: Path,
    screenshot: str | None,
) -> int:
    """0 when every check passed, 1 otherwise (said on stderr)."""
    try:
        await _check(window, proxy, ca_path, upstream_dir)
        if screenshot:
            window.table.selectRow(1)
            await asyncio.sleep(0.5)
            if not window.grab().save(screenshot):
                raise RuntimeError(f"cannot save the screenshot to {screenshot}")
    except Exception as exc:
        print(f"inspector: selftest failed: {exc}", file=sys.stderr, flush=True)
        return 1
    print("selftest ok", flush=True)
    return 0


async def _check(window: MainWindow, proxy: str, ca_path: Path | None, upstream_dir: Path) -> None:
    loop = asyncio.get_running_loop()
    server, port = await start_origin()
    try:
        wanted = expected(port)
        for url, status in wanted.items():
            got = await loop.run_in_executor(None, fetch, proxy, url)
            if got != status:
                raise RuntimeError(f"{url} answered {got}, expected {status}")
    finally:
        server.close()
    await _check_https(window, proxy, ca_path, upstream_dir)
    await _until_shown(window, {url: str(status) for url, status in wanted.items()})


async def _check_https(
    window: MainWindow, proxy: str, ca_path: Path | None, upstream_dir: Path
) -> None:
    """One HTTPS request through interception, against an origin whose
    certificate comes from a throwaway CA the engine was told to trust:
    proves OpenSSL, the CA, leaf issuance and upstream verification."""
    if ca_path is None:
        raise RuntimeError("HTTPS interception is not available")
    with CertStore.load_or_create(upstream_dir) as upstream:
        server, port = await start_origin(upstream.server_context("localhost"))
        try:
            status = await asyncio.get_running_loop().run_in_executor(
                None, fetch_https, proxy, "localhost", port, "/hello", str(ca_path)
            )
        finally:
            server.close()
    if status != 200:
        raise RuntimeError(f"the HTTPS request through the proxy answered {status}")
    await _until_shown(window, {f"https://localhost:{port}/hello": "200"})


async def _until_shown(window: MainWindow, wanted: dict[str, str]) -> None:
    deadline = time.monotonic() + TABLE_WAIT
    while True:
        shown = table_statuses(window)
        if all(shown.get(url) == status for url, status in wanted.items()):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the table shows {shown}, expected {wanted}")
        await asyncio.sleep(0.05)


def table_statuses(window: MainWindow) -> dict[str, str]:
    """URL -> status cell, for every row of the table."""
    from inspector.gui.flow_cells import Column

    model = window.model
    result = {}
    for row in range(model.rowCount()):
        flow = model.flow_at(row)
        if flow is not None:
            result[flow.url] = model.data(model.index(row, Column.STATUS))
    return result
