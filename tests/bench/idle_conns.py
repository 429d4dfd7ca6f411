"""Holds idle keep-alive client connections open on a forward proxy.

A browser keeps hundreds of connections to its proxy open and mostly idle;
this stands in for it. It opens ``N`` connections (``--batch`` at a time),
sends one absolute-form GET on each and reads the whole response, so each
is an established keep-alive client connection the proxy is watching, then
prints ``ready {json}`` and holds them until a line or end of input arrives
on stdin. It then prints ``closed {json}`` with how many the proxy had
closed meanwhile, closes the rest and exits.

Run as ``python -m tests.bench.idle_conns --origin HOST:PORT --proxy
HOST:PORT [-n 500]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from tests.bench.loadgen import _response_length, build_request, parse_addr


class _Idle(asyncio.Protocol):
    def __init__(self, request: bytes) -> None:
        self.request = request
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        self.answered: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end == -1 or self.answered.done():
            return
        length = _response_length(self.buffer[:end])
        if len(self.buffer) >= end + 4 + max(length, 0):
            self.answered.set_result(self.buffer.startswith(b"HTTP/1.1 200"))
            self.buffer = b""

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if not self.answered.done():
            self.answered.set_result(False)


async def hold(proxy: tuple[str, int], origin: tuple[str, int], count: int, batch: int) -> None:
    loop = asyncio.get_running_loop()
    request = build_request(origin, "/", via_proxy=True, close=False)
    started = time.perf_counter()
    conns: list[_Idle] = []
    failed = 0

    async def one() -> None:
        nonlocal failed
        try:
            _transport, conn = await loop.create_connection(lambda: _Idle(request), *proxy)
            ok = await asyncio.wait_for(conn.answered, 30)
        except (OSError, TimeoutError):
            failed += 1
            return
        if ok:
            conns.append(conn)
        else:
            failed += 1

    for first in range(0, count, batch):
        await asyncio.gather(*(one() for _ in range(min(batch, count - first))))
    print(
        "ready "
        + json.dumps(
            {"open": len(conns), "failed": failed, "seconds": time.perf_counter() - started}
        ),
        flush=True,
    )
    await loop.run_in_executor(None, sys.stdin.readline)
    lost = sum(1 for c in conns if c.lost)
    print("closed " + json.dumps({"held": len(conns), "closed_by_proxy": lost}), flush=True)
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()
    await asyncio.sleep(0.05)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--origin", required=True, metavar="HOST:PORT")
    parser.add_argument("--proxy", required=True, metavar="HOST:PORT")
    parser.add_argument("-n", "--connections", type=int, default=500)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args(argv)
    asyncio.run(hold(parse_addr(args.proxy), parse_addr(args.origin), args.connections, args.batch))
    return 0


if __name__ == "__main__":
    sys.exit(main())
