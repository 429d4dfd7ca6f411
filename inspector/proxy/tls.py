"""TLS over a ``Stream``, sans-IO: an ``ssl.SSLObject`` between two memory
BIOs, fed and drained by the engine.

``StreamWriter.start_tls()`` would be simpler, but it loses bytes already
buffered in the stream (CPython issue 142352): a client that sends CONNECT
and its ClientHello in one write would hang. Here the handshake reads
whatever the underlying stream holds first, so nothing is lost, and the
engine can look at the ClientHello (SNI) before choosing a certificate.
``TlsStream`` offers the same interface as ``Stream``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from dataclasses import dataclass
from typing import cast

from inspector.proxy.stream import READ_SIZE, Stream, StreamClosed

_RECORD = 16 * 1024
"""The most plaintext one TLS record carries."""
_BUFFER = 256 * 1024
_local = threading.local()


def _read_buffer() -> memoryview:
    """This thread's decryption buffer (engines on several threads, in
    tests, each get their own; nothing awaits while one is in use)."""
    view: memoryview | None = getattr(_local, "view", None)
    if view is None:
        view = _local.view = memoryview(bytearray(_BUFFER))
    return view


class TlsError(Exception):
    """The TLS handshake failed; ``reason`` is OpenSSL's short reason code
    (``TLSV1_ALERT_UNKNOWN_CA``, ``CERTIFICATE_VERIFY_FAILED``...)."""

    def __init__(self, message: str, reason: str = "", verify_message: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.verify_message = verify_message


@dataclass(slots=True, frozen=True)
class TlsDetails:
    version: str
    cipher: str
    alpn: str | None
    sni: str | None


class TlsStream:
    def __init__(
        self, raw: Stream, sslobj: ssl.SSLObject, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO
    ) -> None:
        self.raw = raw
        self._ssl = sslobj
        self._in = incoming
        self._out = outgoing
        self._eof = False
        self.peername = raw.peername
        self.sockname = raw.sockname
        self.sni: str | None = None
        """The server name the client asked for (server side)."""

    @classmethod
    def server(cls, raw: Stream, context: ssl.SSLContext) -> TlsStream:
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        sslobj = context.wrap_bio(incoming, outgoing, server_side=True)
        return cls(raw, sslobj, incoming, outgoing)

    @classmethod
    def client(cls, raw: Stream, context: ssl.SSLContext, server_hostname: str) -> TlsStream:
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        sslobj = context.wrap_bio(incoming, outgoing, server_hostname=server_hostname)
        return cls(raw, sslobj, incoming, outgoing)

    @property
    def ssl_object(self) -> ssl.SSLObject:
        return self._ssl

    async def handshake(self) -> None:
        """Complete the handshake. Raises TlsError (with OpenSSL's reason)
        or StreamClosed when the peer goes away."""
        while True:
            try:
                self._ssl.do_handshake()
            except ssl.SSLWantReadError:
                await self._flush()
                await self._feed_handshake()
                continue
            except ssl.SSLCertVerificationError as exc:
                self._send_alert()
                raise TlsError(str(exc), exc.reason or "", exc.verify_message or "") from None
            except ssl.SSLError as exc:
                self._send_alert()
                raise TlsError(str(exc), exc.reason or "") from None
            await self._flush()
            return

    async def _feed_handshake(self) -> None:
        data = await self.raw.read()
        if not data:
            self._send_alert()
            raise StreamClosed("peer closed the connection during the TLS handshake")
        self._in.write(data)

    def details(self) -> TlsDetails:
        cipher = self._ssl.cipher()
        return TlsDetails(
            version=self._ssl.version() or "",
            cipher=cipher[0] if cipher else "",
            alpn=self._ssl.selected_alpn_protocol(),
            sni=self.sni if self._ssl.server_side else self._ssl.server_hostname,
        )

    # The Stream interface

    @property
    def buffered(self) -> int:
        return self._ssl.pending() + self._in.pending + self.raw.buffered

    @property
    def at_eof(self) -> bool:
        return self._eof or (self.raw.at_eof and not self._in.pending and not self._ssl.pending())

    @property
    def is_closing(self) -> bool:
        return self.raw.is_closing

    async def wait_readable(self, deadline: float | None = None) -> None:
        if self._ssl.pending() or self._in.pending or self._eof:
            return
        await self.raw.wait_readable(deadline)

    async def read(self, max_bytes: int = READ_SIZE, deadline: float | None = None) -> bytes:
        """Up to ``max_bytes`` of plaintext; ``b""`` once the peer closed
        (with close_notify or, leniently, without).

        Every record already here is decrypted in one call, not one
        16 KiB record a call: a bulk transfer then costs one pass through
        its reader per network read, not one per record."""
        while True:
            if self._eof:
                return b""
            raw = self.raw
            # Feed the decoder what is already here, but no more than a
            # read's worth ahead: what stays in the stream keeps counting
            # against its flow control, so a slow reader still pauses the
            # sender.
            while self._in.pending < _BUFFER and (chunk := raw.read_nowait()):
                self._in.write(chunk)
            try:
                data = self._decrypt(max_bytes)
            except ssl.SSLWantReadError:
                pass
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                self._eof = True
                return b""
            except ssl.SSLError as exc:
                raise StreamClosed(f"TLS error: {exc.reason or exc}") from None
            else:
                if not data:  # close_notify received
                    self._eof = True
                return data
            # TLS 1.3 may need to send (key updates, tickets) before reading.
            await self._flush()
            data = await raw.read(READ_SIZE, deadline)
            if data:
                self._in.write(data)
            else:
                self._in.write_eof()

    def _decrypt(self, max_bytes: int) -> bytes:
        """The plaintext of the records in hand, up to ``max_bytes``.
        Raises SSLWantReadError when not even one record is complete."""
        sslobj = self._ssl
        if max_bytes <= _RECORD:
            return sslobj.read(max_bytes)
        # Records go into one reused buffer (asking SSLObject.read for a
        # large size allocates that size on every call) and leave it as
        # one copy.
        view = _read_buffer()
        limit = min(max_bytes, len(view))
        filled = 0
        while filled < limit:
            try:
                # With a buffer, read() returns the count (typeshed says bytes).
                count = cast(int, sslobj.read(limit - filled, view[filled:limit]))
            except (ssl.SSLWantReadError, ssl.SSLZeroReturnError, ssl.SSLEOFError):
                if filled:
                    break  # the end or the close comes with the next call
                raise
            if not count:
                break
            filled += count
        return bytes(view[:filled])

    def write(self, data: bytes) -> None:
        try:
            self._ssl.write(data)
        except ssl.SSLError as exc:
            raise StreamClosed(f"TLS error: {exc.reason or exc}") from None
        self._flush_nowait()

    async def drain(self) -> None:
        await self.raw.drain()

    async def send(self, data: bytes) -> None:
        self.write(data)
        await self.raw.drain()

    def write_eof(self) -> None:
        """TLS has no half-close; send close_notify instead."""
        self._close_notify()

    def close(self) -> None:
        self._close_notify()
        self.raw.close()

    def abort(self) -> None:
        self.raw.abort()

    def _close_notify(self) -> None:
        with contextlib.suppress(ssl.SSLError, ValueError):
            self._ssl.unwrap()
        self._send_alert()

    def _send_alert(self) -> None:
        """Pass on whatever OpenSSL queued (an alert, close_notify)."""
        with contextlib.suppress(StreamClosed):
            self._flush_nowait()

    async def _flush(self) -> None:
        data = self._out.read()
        if data:
            await self.raw.send(data)

    def _flush_nowait(self) -> None:
        data = self._out.read()
        if data:
            self.raw.write(data)


async def wrap_client(
    raw: Stream, context: ssl.SSLContext, server_hostname: str, timeout: float
) -> TlsStream:
    """Client-side TLS on ``raw`` with the handshake done (bounded by
    ``timeout``, TimeoutError beyond)."""
    tls = TlsStream.client(raw, context, server_hostname)
    async with asyncio.timeout(timeout):
        await tls.handshake()
    return tls
