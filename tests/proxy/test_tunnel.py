"""CONNECT tunnels: interception, passthrough, plain HTTP inside, raw relay,
and every way TLS can fail on either side."""

from __future__ import annotations

import asyncio
import http.client
import logging
import socket
import ssl
from pathlib import Path

import pytest

from inspector.core.certs import CertStore
from inspector.core.flow import Flow, FlowState
from inspector.core.hostmatch import HostPatterns
from inspector.proxy.tunnel import UNTRUSTED
from tests.proxy.harness import Origin, Proxy, Received, Reply, run, running_proxy


def _client_context(cafile: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    context.set_alpn_protocols(["h2", "http/1.1"])
    return context


def _https_get(
    proxy_port: int,
    host: str,
    port: int,
    path: str,
    cafile: Path | None,
    context: ssl.SSLContext | None = None,
) -> tuple[int, bytes, dict]:
    """GET through the proxy with CONNECT, as curl or a browser would."""
    conn = http.client.HTTPSConnection(
        "127.0.0.1", proxy_port, timeout=10, context=context or _client_context(cafile)
    )
    conn.set_tunnel(host, port)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        peer = conn.sock.getpeercert() if conn.sock is not None else {}
        return response.status, body, peer or {}
    finally:
        conn.close()


def _tunnels(proxy: Proxy) -> list[Flow]:
    return [f for f in proxy.store if f.request.method == "CONNECT"]


def _inner(proxy: Proxy) -> list[Flow]:
    return [f for f in proxy.store if f.tunnel_id is not None]


async def _tls_origin_handler(req: Received) -> Reply:
    return Reply(200, [(b"Content-Type", b"text/plain")], b"secret " + req.target)


def test_https_request_is_intercepted_and_recorded(
    proxy_certs: CertStore, upstream_certs: CertStore, upstream_ca_file: Path
) -> None:
    async def scenario() -> None:
        tls = upstream_certs.server_context("localhost")
        async with (
            Origin(_tls_origin_handler, tls=tls) as origin,
            running_proxy(certs=proxy_certs, upstream_ca_file=str(upstream_ca_file)) as proxy,
        ):
            status, body, peer = await asyncio.to_thread(
                _https_get, proxy.port, "localhost", origin.port, "/a?b=1", proxy_certs.ca_cert_path
            )
            assert (status, body) == (200, b"secret /a?b=1")
            issuer = dict(x[0] for x in peer["issuer"])
            assert issuer["organizationName"] == "Inspector"
            await proxy.wait_flows(2)
            [tunnel] = _tunnels(proxy)
            [inner] = _inner(proxy)
            assert tunnel.tunnel is not None and tunnel.tunnel.mode == "intercept"
            assert tunnel.tunnel.client_tls is not None
            assert tunnel.tunnel.client_tls.sni == "localhost"
            assert tunnel.tunnel.client_tls.alpn == "http/1.1"
            assert tunnel.state is FlowState.COMPLETE
            assert inner.tunnel_id == tunnel.id
            assert inner.request.url == f"https://localhost:{origin.port}/a?b=1"
            assert inner.response is not None and inner.response.body == b"secret /a?b=1"
            assert inner.upstream_tls is not None and inner.upstream_tls.version.startswith("TLS")

    run(scenario())


def test_connect_and_client_hello_in_one_write(
    proxy_certs: CertStore, upstream_certs: CertStore, upstream_ca_file: Path
) -> None:
    """The start_tls() trap: bytes behind CONNECT in the same segment."""

    def client(proxy_port: int, origin_port: int) -> bytes:
        context = _client_context(proxy_certs.ca_cert_path)
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
        with pytest.raises(ssl.SSLWantReadError):
            tls.do_handshake()
        hello = outgoing.read()
        sock = socket.create_connection(("127.0.0.1", proxy_port), timeout=10)
        with sock:
            sock.sendall(
                f"CONNECT localhost:{origin_port} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()
                + hello
            )
            head = b""
            while b"\r\n\r\n" not in head:
                head += sock.recv(1)
            assert head.startswith(b"HTTP/1.1 200")
            while True:
                try:
                    tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    if outgoing.pending:
                        sock.sendall(outgoing.read())
                    incoming.write(sock.recv(65536))
            if outgoing.pending:
                sock.sendall(outgoing.read())
            tls.write(b"GET /one HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            sock.sendall(outgoing.read())
            data = b""
            while True:
                try:
                    got = tls.read(65536)
                    if not got:  # close_notify
                        return data
                    data += got
                except ssl.SSLWantReadError:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return data
                    incoming.write(chunk)
                except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                    return data

    async def scenario() -> None:
        tls = upstream_certs.server_context("localhost")
        async with (
            Origin(_tls_origin_handler, tls=tls) as origin,
            running_proxy(certs=proxy_certs, upstream_ca_file=str(upstream_ca_file)) as proxy,
        ):
            data = await asyncio.wait_for(asyncio.to_thread(client, proxy.port, origin.port), 20)
            assert data.startswith(b"HTTP/1.1 200")
            assert data.endswith(b"\r\n\r\nb\r\nsecret /one\r\n0\r\n\r\n")

    run(scenario())


def test_start_tls_loses_bytes_buffered_behind_connect(proxy_certs: CertStore) -> None:
    """Why the engine does TLS sans-IO: with asyncio's start_tls(), a
    ClientHello that arrived with the CONNECT head is stuck in the stream
    buffer and the handshake never completes (CPython issue 142352)."""

    async def scenario() -> bool:
        done = asyncio.Event()
        hung: list[bool] = []

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            await writer.drain()
            try:
                await asyncio.wait_for(
                    writer.start_tls(proxy_certs.server_context("localhost")), 1.0
                )
                hung.append(False)
            except TimeoutError:
                hung.append(True)
            finally:
                writer.transport.abort()
                done.set()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        context = _client_context(proxy_certs.ca_cert_path)
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
        with pytest.raises(ssl.SSLWantReadError):
            tls.do_handshake()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"CONNECT localhost:443 HTTP/1.1\r\n\r\n" + outgoing.read())
        await writer.drain()
        await asyncio.wait_for(done.wait(), 10)
        writer.transport.abort()
        server.close()
        return hung[0]

    assert asyncio.run(scenario()) is True


def test_ignored_host_passes_through_with_the_upstream_certificate(
    proxy_certs: CertStore, upstream_certs: CertStore
) -> None:
    async def scenario() -> None:
        tls = upstream_certs.server_context("localhost")
        async with (
            Origin(_tls_origin_handler, tls=tls) as origin,
            running_proxy(certs=proxy_certs, ignore=HostPatterns.parse("localhost")) as proxy,
        ):
            status, body, peer = await asyncio.to_thread(
                _https_get, proxy.port, "localhost", origin.port, "/p", upstream_certs.ca_cert_path
            )
            assert (status, body) == (200, b"secret /p")
            issuer = dict(x[0] for x in peer["issuer"])
            assert (
                issuer["commonName"]
                == upstream_certs.ca.cert.subject.rfc4514_string().split("CN=")[1].split(",")[0]
            )
            await proxy.wait_flows(1)
            [tunnel] = _tunnels(proxy)
            assert tunnel.tunnel is not None and tunnel.tunnel.mode == "passthrough"
            assert tunnel.tunnel.bytes_up > 0 and tunnel.tunnel.bytes_down > 0
            assert _inner(proxy) == []

    run(scenario())


def test_client_rejecting_our_ca_leaves_a_clear_tunnel_error(
    proxy_certs: CertStore, upstream_certs: CertStore, upstream_ca_file: Path
) -> None:
    async def scenario() -> None:
        tls = upstream_certs.server_context("localhost")
        async with (
            Origin(_tls_origin_handler, tls=tls) as origin,
            running_proxy(certs=proxy_certs, upstream_ca_file=str(upstream_ca_file)) as proxy,
        ):
            with pytest.raises(ssl.SSLCertVerificationError):
                # The client trusts the public CA only, not Inspector's.
                await asyncio.to_thread(
                    _https_get, proxy.port, "localhost", origin.port, "/", upstream_ca_file
                )
            await proxy.wait_flows(1)
            [tunnel] = _tunnels(proxy)
            assert tunnel.state is FlowState.FAILED
            assert tunnel.error is not None
            assert tunnel.error.message == UNTRUSTED

    run(scenario())


@pytest.mark.parametrize("insecure", [False, True])
def test_untrusted_upstream_certificate_is_502_unless_insecure(
    proxy_certs: CertStore, upstream_certs: CertStore, insecure: bool
) -> None:
    async def scenario() -> None:
        tls = upstream_certs.server_context("localhost")
        async with (
            Origin(_tls_origin_handler, tls=tls) as origin,
            # No upstream_ca_file: the origin's CA is unknown to the proxy.
            running_proxy(certs=proxy_certs, insecure_upstream=insecure) as proxy,
        ):
            status, body, _ = await asyncio.to_thread(
                _https_get, proxy.port, "localhost", origin.port, "/", proxy_certs.ca_cert_path
            )
            if insecure:
                assert (status, body) == (200, b"secret /")
            else:
                assert status == 502
                assert body.startswith(b"the certificate of localhost:")
                assert b"not valid" in body
                await proxy.wait_flows(2)
                [inner] = _inner(proxy)
                assert inner.error is not None and inner.error.kind == "upstream-cert"

    run(scenario())


def test_upstream_handshake_failure_is_502(proxy_certs: CertStore) -> None:
    async def scenario() -> None:
        # A plain-HTTP server where TLS is expected.
        async with Origin() as origin, running_proxy(certs=proxy_certs) as proxy:
            status, body, _ = await asyncio.to_thread(
                _https_get, proxy.port, "localhost", origin.port, "/", proxy_certs.ca_cert_path
            )
            assert status == 502
            assert b"TLS handshake with localhost" in body or b"closed the connection" in body

    run(scenario())


def test_no_sni_uses_the_connect_host(
    proxy_certs: CertStore, upstream_certs: CertStore, upstream_ca_file: Path
) -> None:
    async def scenario() -> None:
        tls = upstream_certs.server_context("127.0.0.1")
        async with (
            Origin(_tls_origin_handler, tls=tls) as origin,
            running_proxy(certs=proxy_certs, upstream_ca_file=str(upstream_ca_file)) as proxy,
        ):
            # Connecting to an IP address sends no SNI; the leaf must carry
            # the CONNECT host as an IP SAN.
            status, body, peer = await asyncio.to_thread(
                _https_get, proxy.port, "127.0.0.1", origin.port, "/ip", proxy_certs.ca_cert_path
            )
            assert (status, body) == (200, b"secret /ip")
            assert ("IP Address", "127.0.0.1") in peer["subjectAltName"]
            await proxy.wait_flows(2)
            [tunnel] = _tunnels(proxy)
            assert tunnel.tunnel is not None and tunnel.tunnel.client_tls is not None
            assert tunnel.tunnel.client_tls.sni is None

    run(scenario())


def test_sni_different_from_connect_host_gets_its_own_certificate(
    proxy_certs: CertStore, upstream_certs: CertStore, upstream_ca_file: Path
) -> None:
    def get(proxy_port: int, origin_port: int) -> dict:
        context = _client_context(proxy_certs.ca_cert_path)
        sock = socket.create_connection(("127.0.0.1", proxy_port), timeout=10)
        sock.sendall(f"CONNECT 127.0.0.1:{origin_port} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(1)
        with context.wrap_socket(sock, server_hostname="localhost") as tls:
            tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            while tls.recv(65536):
                pass
            return tls.getpeercert() or {}

    async def scenario() -> None:
        tls = upstream_certs.server_context("localhost")
        async with (
            Origin(_tls_origin_handler, tls=tls) as origin,
            running_proxy(certs=proxy_certs, upstream_ca_file=str(upstream_ca_file)) as proxy,
        ):
            peer = await asyncio.to_thread(get, proxy.port, origin.port)
            assert ("DNS", "localhost") in peer["subjectAltName"]
            await proxy.wait_flows(2)
            [inner] = _inner(proxy)
            assert inner.request.host == "localhost"

    run(scenario())


def test_plain_http_inside_connect_becomes_flows() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(f"CONNECT 127.0.0.1:{origin.port} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            writer.write(b"GET /inside HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            await writer.drain()
            data = await asyncio.wait_for(reader.read(-1), 10)
            writer.transport.abort()
            assert data.startswith(b"HTTP/1.1 200 Connection Established\r\n\r\nHTTP/1.1 200")
            assert b"\r\n\r\nd\r\nhello /inside\r\n0\r\n\r\n" in data
            await proxy.wait_flows(2)
            [tunnel] = _tunnels(proxy)
            [inner] = _inner(proxy)
            assert tunnel.tunnel is not None and tunnel.tunnel.mode == "http"
            assert inner.request.url == f"http://127.0.0.1:{origin.port}/inside"

    run(scenario())


async def _speaks_first(received: list[bytes]) -> tuple[asyncio.Server, int]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 hello, server speaks first\r\n")
        await writer.drain()
        received.append(await reader.read(-1))  # until the client half-closes
        writer.write(b"221 bye\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def test_raw_tunnel_with_a_server_that_speaks_first_and_half_close() -> None:
    async def scenario() -> None:
        received: list[bytes] = []
        server, port = await _speaks_first(received)
        async with running_proxy(tunnel_peek_timeout=0.2) as proxy:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            await writer.drain()
            assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
            # Silent client: the proxy must connect and relay the greeting.
            assert (
                await asyncio.wait_for(reader.readline(), 10)
                == b"220 hello, server speaks first\r\n"
            )
            writer.write(b"QUIT\r\n")
            writer.write_eof()
            assert await asyncio.wait_for(reader.read(-1), 10) == b"221 bye\r\n"
            writer.close()
            assert received == [b"QUIT\r\n"]
            await proxy.wait_flows(1)
            [tunnel] = _tunnels(proxy)
            assert tunnel.tunnel is not None and tunnel.tunnel.mode == "raw"
            assert tunnel.state is FlowState.COMPLETE
            assert (tunnel.tunnel.bytes_up, tunnel.tunnel.bytes_down) == (6, 41)
        server.close()

    run(scenario())


def test_garbage_that_looks_like_tls_is_a_tunnel_error(proxy_certs: CertStore) -> None:
    async def scenario() -> None:
        async with running_proxy(certs=proxy_certs) as proxy:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(b"CONNECT localhost:443 HTTP/1.1\r\nHost: x\r\n\r\n")
            writer.write(b"\x16\x03\x01\x00\x05\x01garbage!!")
            await writer.drain()
            await asyncio.wait_for(reader.read(-1), 10)
            writer.transport.abort()
            await proxy.wait_flows(1)
            [tunnel] = _tunnels(proxy)
            assert tunnel.state is FlowState.FAILED
            assert tunnel.error is not None and tunnel.error.kind in (
                "client-not-tls",
                "client-tls",
            )

    run(scenario())


@pytest.mark.parametrize(
    "authority", ["localhost", "localhost:0", "localhost:99999", ":443", "[::1", "a b:443"]
)
def test_connect_to_a_bad_authority_is_400(authority: str) -> None:
    async def scenario() -> None:
        async with running_proxy() as proxy:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(f"CONNECT {authority} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            await writer.drain()
            data = await asyncio.wait_for(reader.read(-1), 10)
            writer.transport.abort()
            assert data.startswith(b"HTTP/1.1 400"), data

    run(scenario())


def test_https_absolute_form_is_fetched_over_tls(
    upstream_certs: CertStore, upstream_ca_file: Path
) -> None:
    async def scenario() -> None:
        tls = upstream_certs.server_context("localhost")
        async with (
            Origin(_tls_origin_handler, tls=tls) as origin,
            running_proxy(upstream_ca_file=str(upstream_ca_file)) as proxy,
        ):
            client = await proxy.client()
            answer = await client.request("GET", f"https://localhost:{origin.port}/abs")
            assert (answer.status, answer.body) == (200, b"secret /abs")
            client.close()

    run(scenario())


def test_tunnel_to_a_refused_port_fails_the_tunnel(proxy_certs: CertStore) -> None:
    async def scenario() -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
        sock.close()
        async with running_proxy(certs=proxy_certs, tunnel_peek_timeout=0.1) as proxy:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(f"CONNECT 127.0.0.1:{dead} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            await writer.drain()
            data = await asyncio.wait_for(reader.read(-1), 10)
            writer.transport.abort()
            assert data.startswith(b"HTTP/1.1 200")
            await proxy.wait_flows(1)
            [tunnel] = _tunnels(proxy)
            assert tunnel.error is not None and tunnel.error.kind == "connect-refused"

    run(scenario())


CLIENT_HELLO = b"\x16\x03\x01\x00\x05\x01hello"
"""A record shaped like a TLS ClientHello: all the proxy looks at to choose
passthrough; what follows is opaque to it either way."""
FIRST_BYTES = {"passthrough": CLIENT_HELLO, "raw": b"EHLO client\r\n"}


async def _connect_tunnel(
    proxy: Proxy, port: int, first: bytes
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: x\r\n\r\n".encode() + first)
    await writer.drain()
    assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
    return reader, writer


def _no_warnings(caplog: pytest.LogCaptureFixture) -> None:
    logged = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not logged, [f"{r.name}: {r.getMessage()}" for r in logged]


@pytest.mark.parametrize("mode", ["passthrough", "raw"])
def test_tunnel_whose_origin_closes_first_ends_complete(
    proxy_certs: CertStore, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    """The origin answers and closes; the client then sends a last message
    (as a TLS client answers close_notify with its own), which the origin's
    kernel answers with a reset the proxy cannot see, having stopped
    reading at the origin's FIN. Half-closing towards it must not fail."""
    caplog.set_level(logging.WARNING)
    first = FIRST_BYTES[mode]

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(len(first))
        writer.write(b"answer")
        await writer.drain()
        writer.close()

    async def scenario() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        ignore = HostPatterns.parse("127.0.0.1")
        async with running_proxy(certs=proxy_certs, ignore=ignore) as proxy:
            reader, writer = await _connect_tunnel(proxy, port, first)
            assert await asyncio.wait_for(reader.read(-1), 10) == b"answer"
            writer.write(b"bye")
            await asyncio.sleep(0.2)  # the origin's reset reaches the proxy
            writer.close()
            await proxy.wait_flows(1)
            [tunnel] = _tunnels(proxy)
            assert tunnel.tunnel is not None and tunnel.tunnel.mode == mode
            assert tunnel.state is FlowState.COMPLETE, tunnel.error
            assert (tunnel.tunnel.bytes_up, tunnel.tunnel.bytes_down) == (len(first) + 3, 6)
        server.close()

    run(scenario())
    _no_warnings(caplog)


@pytest.mark.parametrize("mode", ["passthrough", "raw"])
def test_tunnel_whose_client_closes_first_ends_complete(
    proxy_certs: CertStore, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    """The mirror case: the client closes, the origin still sends (the
    client's kernel resets), then closes."""
    caplog.set_level(logging.WARNING)
    first = FIRST_BYTES[mode]

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert await reader.read(-1) == first
        writer.write(b"too late")
        await writer.drain()
        await asyncio.sleep(0.2)  # the client's reset reaches the proxy
        writer.close()

    async def scenario() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with running_proxy(certs=proxy_certs, intercept_tls=False) as proxy:
            _reader, writer = await _connect_tunnel(proxy, port, first)
            writer.close()
            await proxy.wait_flows(1)
            [tunnel] = _tunnels(proxy)
            assert tunnel.tunnel is not None and tunnel.tunnel.mode == mode
            assert tunnel.state is FlowState.COMPLETE, tunnel.error
            assert (tunnel.tunnel.bytes_up, tunnel.tunnel.bytes_down) == (len(first), 8)
        server.close()

    run(scenario())
    _no_warnings(caplog)
