"""Faults on either side of the proxy: clients vanishing mid-request and
mid-response, upstreams failing in every phase, TLS failing on either side,
an early final answer to Expect: 100-continue, a client that stops reading,
and a thousand connections at once. After each, the engine must settle back
to idle with no task or socket left behind, and every flow recorded."""

from __future__ import annotations

import asyncio
import resource
import ssl
from collections.abc import Awaitable, Callable

import pytest

from inspector.core.certs import CertStore
from inspector.core.flow import FlowState
from inspector.proxy.errors import UpstreamError
from tests.proxy.harness import Origin, Proxy, Received, Reply, run, running_proxy
from tests.proxy.test_tunnel import _https_get, _tls_origin_handler
from tests.reliability.helpers import (
    RawOrigin,
    exchange,
    leak_check,
    parse_responses,
    until_peer_closes,
)

MiB = 1024 * 1024


async def _stall(req: Received) -> Reply:
    await asyncio.sleep(3600)
    return Reply()


async def _no_dns(host: str, port: int) -> list[str]:
    raise UpstreamError(502, "dns", f"DNS lookup for {host} failed: Name or service not known")


def _only_kind(proxy: Proxy, kind: str) -> None:
    [flow] = proxy.store
    assert flow.state is FlowState.FAILED, flow
    assert flow.error is not None and flow.error.kind == kind, flow.error


# Each scenario runs its own proxy inside leak_check and checks its flows;
# it gets the session CAs: the proxy's, and the one the origins use.
Scenario = Callable[[CertStore, CertStore], Awaitable[None]]


async def _client_gone_mid_request_body(_proxy_ca: CertStore, _origin_ca: CertStore) -> None:
    async with running_proxy() as proxy, leak_check(proxy), Origin() as origin:
        client = await proxy.client()
        await client.send(
            f"POST {origin.base}/ HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
            "partial".encode()
        )
        await asyncio.sleep(0.1)
        client.close()
        await proxy.wait_flows(1)
    _only_kind(proxy, "client-closed")


async def _client_gone_mid_request_head(_proxy_ca: CertStore, _origin_ca: CertStore) -> None:
    async with running_proxy() as proxy, leak_check(proxy):
        client = await proxy.client()
        await client.send(b"GET http://x.test/ HTTP/1.1\r\nHost: x\r\nX-Half")
        await asyncio.sleep(0.1)
        client.close()
    # Half a head is not a request yet: no flow, and nothing left open.
    assert len(proxy.store) == 0


async def _client_gone_mid_response(_proxy_ca: CertStore, _origin_ca: CertStore) -> None:
    async def endless(req: Received) -> Reply:
        chunk = b"y" * (64 * 1024)
        return Reply(200, [(b"Content-Length", str(1024 * MiB).encode())], [chunk] * 16384)

    async with running_proxy() as proxy, leak_check(proxy), Origin(endless) as origin:
        client = await proxy.client()
        await client.send(f"GET {origin.base}/ HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        await client.reader.readexactly(MiB)
        client.close()
        await proxy.wait_flows(1)
    _only_kind(proxy, "client-closed")


async def _dns_failure(_proxy_ca: CertStore, _origin_ca: CertStore) -> None:
    async with running_proxy(resolver=_no_dns) as proxy, leak_check(proxy):
        client = await proxy.client()
        answer = await client.request("GET", "http://no-such-host.test/")
        assert answer.status == 502 and b"DNS lookup" in answer.body
        client.close()
    _only_kind(proxy, "dns")


async def _upstream_never_answers(_proxy_ca: CertStore, _origin_ca: CertStore) -> None:
    async with (
        running_proxy(response_head_timeout=0.3) as proxy,
        leak_check(proxy),
        Origin(_stall) as origin,
    ):
        client = await proxy.client()
        answer = await client.request("GET", f"{origin.base}/")
        assert answer.status == 504
        client.close()
    _only_kind(proxy, "response-timeout")


async def _upstream_stalls_mid_body(_proxy_ca: CertStore, _origin_ca: CertStore) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")
        await writer.drain()
        await until_peer_closes(reader)

    async with (
        running_proxy(response_head_timeout=0.3) as proxy,
        leak_check(proxy),
        RawOrigin(script) as origin,
    ):
        raw = await exchange(proxy.port, f"GET {origin.base}/ HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert raw.endswith(b"\r\n\r\nhalf")
    _only_kind(proxy, "body-timeout")


async def _client_rejects_our_ca(proxy_certs: CertStore, upstream_certs: CertStore) -> None:
    async with running_proxy(certs=proxy_certs) as proxy, leak_check(proxy):
        tls = upstream_certs.server_context("localhost")
        async with Origin(_tls_origin_handler, tls=tls) as origin:
            with pytest.raises(ssl.SSLCertVerificationError):
                await asyncio.to_thread(
                    _https_get,
                    proxy.port,
                    "localhost",
                    origin.port,
                    "/",
                    upstream_certs.ca_cert_path,
                )
            await proxy.wait_flows(1)
    _only_kind(proxy, "client-untrusted")


async def _upstream_certificate_untrusted(
    proxy_certs: CertStore, upstream_certs: CertStore
) -> None:
    async with running_proxy(certs=proxy_certs) as proxy, leak_check(proxy):
        tls = upstream_certs.server_context("localhost")
        async with Origin(_tls_origin_handler, tls=tls) as origin:
            status, body, _ = await asyncio.to_thread(
                _https_get, proxy.port, "localhost", origin.port, "/", proxy_certs.ca_cert_path
            )
            assert status == 502 and b"not valid" in body
            await proxy.wait_flows(2)
    tunnel, inner = sorted(proxy.store, key=lambda f: f.id)
    assert tunnel.state is FlowState.COMPLETE
    assert inner.error is not None and inner.error.kind == "upstream-cert"


async def _upstream_not_speaking_tls(proxy_certs: CertStore, upstream_certs: CertStore) -> None:
    async with running_proxy(certs=proxy_certs) as proxy, leak_check(proxy), Origin() as origin:
        client = await proxy.client()
        answer = await client.request("GET", f"https://localhost:{origin.port}/")
        assert answer.status == 502
        client.close()
    _only_kind(proxy, "upstream-tls")


SCENARIOS: dict[str, Scenario] = {
    "client-gone-mid-request-head": _client_gone_mid_request_head,
    "client-gone-mid-request-body": _client_gone_mid_request_body,
    "client-gone-mid-response": _client_gone_mid_response,
    "dns-failure": _dns_failure,
    "upstream-never-answers": _upstream_never_answers,
    "upstream-stalls-mid-body": _upstream_stalls_mid_body,
    "client-rejects-our-ca": _client_rejects_our_ca,
    "upstream-certificate-untrusted": _upstream_certificate_untrusted,
    "upstream-not-speaking-tls": _upstream_not_speaking_tls,
}


@pytest.mark.parametrize("scenario", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_faults_leave_no_task_or_socket_behind(
    scenario: Scenario, proxy_certs: CertStore, upstream_certs: CertStore
) -> None:
    run(scenario(proxy_certs, upstream_certs))


def test_client_gone_while_waiting_for_the_head_releases_the_upstream() -> None:
    async def scenario() -> None:
        async with running_proxy(response_head_timeout=30) as proxy, Origin(_stall) as origin:
            client = await proxy.client()
            await client.send(f"GET {origin.base}/ HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            await asyncio.sleep(0.2)
            client.close()
            # The origin still says nothing: only the proxy noticing the
            # client's departure can end this flow.
            await proxy.wait_flows(1, timeout=3)
            _only_kind(proxy, "client-closed")
            assert proxy.server.ctx.pool.active_count == 0

    run(scenario())


# Expect: 100-continue with an early final answer (RFC 9110 section 10.1.1).


def _early_answer(status: int, close: bool, bodies: list[bytes]) -> RawOrigin:
    """An origin that answers ``status`` as soon as it has the head, then
    records whatever else arrives on the connection."""

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        connection = b"Connection: close\r\n" if close else b""
        writer.write(b"HTTP/1.1 %d Early\r\nContent-Length: 4\r\n%s\r\nnope" % (status, connection))
        await writer.drain()
        if close:
            return
        while data := await reader.read(65536):
            bodies.append(data)

    return RawOrigin(script)


@pytest.mark.parametrize(
    ("status", "close"), [(417, False), (401, False), (413, True)], ids=["417", "401", "413-close"]
)
def test_early_final_answer_to_expect_continue(status: int, close: bool) -> None:
    """The client waits for 100 Continue; the origin refuses at once. The
    client must get the final answer without sending its body, and the body
    it may send afterwards must never be read as a request of its own."""

    async def scenario() -> None:
        bodies: list[bytes] = []
        async with (
            running_proxy() as proxy,
            leak_check(proxy),
            _early_answer(status, close, bodies) as origin,
        ):
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            smuggled = f"GET {origin.base}/smuggled HTTP/1.1\r\nHost: x\r\n\r\n".encode()
            writer.write(
                f"POST {origin.base}/up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                f"Content-Length: {len(smuggled)}\r\n\r\n".encode()
            )
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\nnope"), 10)
            assert head.startswith(b"HTTP/1.1 %d " % status), head
            assert b"100 Continue" not in head
            assert b"\r\nconnection: close\r\n" in head.lower()  # the body will not be read
            # A client that sends its body anyway: it is a body, never a
            # second request.
            writer.write(smuggled)
            with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
                await asyncio.wait_for(reader.readexactly(1), 10)
            writer.transport.abort()
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.state is FlowState.COMPLETE
            assert flow.response is not None and flow.response.status == status
            assert origin.connections == 1
            assert not any(b"/smuggled" in data for data in bodies)

    run(scenario())


def test_expect_continue_relays_the_origins_100() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await writer.drain()
        body = await reader.readexactly(4)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n" + body)
        await writer.drain()
        await until_peer_closes(reader)

    async def scenario() -> None:
        async with running_proxy() as proxy, leak_check(proxy), RawOrigin(script) as origin:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(
                f"POST {origin.base}/up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                "Content-Length: 4\r\nConnection: close\r\n\r\n".encode()
            )
            await writer.drain()
            interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            assert interim.startswith(b"HTTP/1.1 100 ")
            writer.write(b"data")
            raw = interim + await asyncio.wait_for(reader.read(-1), 10)
            [answer] = parse_responses(raw, ["POST"])
            assert (answer.status, answer.body) == (200, b"data")
            writer.transport.abort()

    run(scenario())


# A client that stops reading.


def test_client_that_stops_reading_stops_the_upstream_too() -> None:
    """Backpressure end to end: with the client not reading, the proxy must
    stop reading the upstream, so what the origin manages to send is bounded
    by socket buffers, and the proxy itself holds well under a MiB."""
    sent = [0]
    chunk = b"x" * (64 * 1024)

    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (1 << 40))
        while True:
            writer.write(chunk)
            await writer.drain()
            sent[0] += len(chunk)

    async def scenario() -> None:
        async with (
            running_proxy() as proxy,
            leak_check(proxy),
            RawOrigin(endless) as origin,
        ):
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port, limit=64 * 1024)
            writer.write(f"GET {origin.base}/ HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            await writer.drain()
            # Wait for the origin to be blocked: nothing sent for a while.
            last, steady = -1, 0
            async with asyncio.timeout(20):
                while steady < 4:
                    await asyncio.sleep(0.25)
                    steady = steady + 1 if sent[0] == last else 0
                    last = sent[0]
            [client] = proxy.server._clients
            held = client.stream.buffered + client.stream.transport.get_write_buffer_size()
            [upstream] = proxy.server.ctx.pool._active
            held += upstream.stream.buffered
            assert held < MiB, held
            # Socket buffers on loopback, not the 1 TiB the origin offers.
            assert sent[0] < 64 * MiB, sent[0]
            # Reading again, the client gets the stream moving.
            before = sent[0]
            async with asyncio.timeout(20):
                while sent[0] < before + 16 * MiB:
                    await reader.read(1 << 20)
            writer.transport.abort()
            await proxy.wait_flows(1)
            _only_kind(proxy, "client-closed")

    run(scenario())


# A thousand connections at once.

CONCURRENT = 1000


def _raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"needs {needed} file descriptors, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


@pytest.mark.slow
def test_1000_concurrent_connections() -> None:
    """Every connection has its request in flight at the same time (the
    origin answers none until all have arrived), and every one is answered
    and recorded."""
    # Four descriptors per exchange: client, proxy's both sides, origin.
    _raise_fd_limit(4 * CONCURRENT + 256)

    async def scenario() -> None:
        arrived = 0
        all_in = asyncio.Event()

        async def barrier(req: Received) -> Reply:
            nonlocal arrived
            arrived += 1
            if arrived == CONCURRENT:
                all_in.set()
            await asyncio.wait_for(all_in.wait(), 60)
            return Reply(200, [], req.target)

        async def one(i: int) -> bytes:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            try:
                writer.write(
                    f"GET {origin.base}/{i} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                    "\r\n".encode()
                )
                return await reader.read(-1)
            finally:
                writer.transport.abort()

        async with (
            running_proxy() as proxy,
            leak_check(proxy, timeout=30),
            Origin(barrier) as origin,
        ):
            async with asyncio.timeout(90):
                answers = await asyncio.gather(*(one(i) for i in range(CONCURRENT)))
            assert all_in.is_set()
            for i, raw in enumerate(answers):
                [answer] = parse_responses(raw, ["GET"])
                assert (answer.status, answer.body) == (200, b"/%d" % i)
            await proxy.wait_flows(CONCURRENT, timeout=30)
        assert len(proxy.store) == CONCURRENT
        assert all(f.state is FlowState.COMPLETE for f in proxy.store)

    run(scenario())
