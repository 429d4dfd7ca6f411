"""TlsStream reads: every record in hand at once, and still flow control."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl

from inspector.core.certs import CertStore
from inspector.proxy import tls as tls_module
from inspector.proxy.stream import HIGH_WATER, Stream
from inspector.proxy.tls import TlsStream

MiB = 1024 * 1024


async def _pair(certs: CertStore) -> tuple[TlsStream, TlsStream]:
    """A client and a server TlsStream over a socket pair, handshaken."""
    loop = asyncio.get_running_loop()
    left, right = socket.socketpair()
    _, server_raw = await loop.create_connection(Stream, sock=left)
    _, client_raw = await loop.create_connection(Stream, sock=right)
    client_context = ssl.create_default_context(cafile=str(certs.ca_cert_path))
    server = TlsStream.server(server_raw, certs.server_context("localhost"))
    client = TlsStream.client(client_raw, client_context, "localhost")
    await asyncio.gather(server.handshake(), client.handshake())
    return server, client


def test_a_read_takes_every_record_in_hand(proxy_certs: CertStore) -> None:
    async def scenario() -> None:
        server, client = await _pair(proxy_certs)
        data = os.urandom(200 * 1024)  # thirteen 16 KiB records
        server.write(data)
        await server.drain()
        got = b""
        reads = 0
        while len(got) < len(data):
            got += await client.read(256 * 1024)
            reads += 1
        assert got == data
        # One record a read would take thirteen.
        assert reads < 13
        server.close()
        client.close()

    asyncio.run(scenario())


def test_a_slow_reader_still_holds_the_sender_back(proxy_certs: CertStore) -> None:
    async def scenario() -> None:
        server, client = await _pair(proxy_certs)
        total = 48 * MiB
        chunk = os.urandom(256 * 1024)

        async def send() -> int:
            sent = 0
            while sent < total:
                await server.send(chunk)
                sent += len(chunk)
            return sent

        sender = asyncio.ensure_future(send())
        received = 0
        most_pending = 0
        for _ in range(40):
            # Slow: a small read now and then while the sender pushes.
            received += len(await client.read(64 * 1024))
            most_pending = max(most_pending, client._in.pending + client.raw.buffered)
            await asyncio.sleep(0.005)
        # What waits on the reader's side is its flow-control window and a
        # read's worth fed to TLS, not everything the sender wanted to send.
        assert most_pending < tls_module._BUFFER + 2 * HIGH_WATER + MiB
        assert not sender.done()
        while received < total:
            received += len(await client.read(256 * 1024))
        assert await sender == total == received
        server.close()
        client.close()

    asyncio.run(scenario())
