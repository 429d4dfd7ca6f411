"""What ``inspector --selftest`` sends through the running app: a tiny
origin server on 127.0.0.1 and a client that talks to it through the proxy.
Qt-free; the app drives it and checks the table."""

from __future__ import annotations

import asyncio
import http.client
import json
import ssl
import urllib.error
import urllib.request

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
