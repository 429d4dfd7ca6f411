"""WebSocket through the proxy: echo correctness and rate, and bulk throughput.

Three processes: Inspector headless (the engine: its CPU time and RSS are
read from ``/proc``), a ``websockets`` origin (this module with
``--origin``), and the client, ``websockets`` too, in the driver's own
process. The origin and the client run on uvloop when it is installed, as
the engine does. The origin listens on three ports: plain ``ws://``,
``wss://`` that the proxy intercepts (the client trusts Inspector's CA,
the proxy the origin's test CA through ``--upstream-ca``), and ``wss://``
on a port the proxy is told to ignore (``--ignore-hosts localhost:PORT``)
and so relays as a TLS passthrough tunnel: the same origin and client,
only the proxy's work differs.

1. Echo: ``--messages`` messages (half JSON-like text, partly non-ASCII,
   half random binary; sizes log-uniform from 1 B to 64 KiB; seeded) sent
   as fast as the connection takes them while a second task reads the
   echoes, each of which must equal what was sent, in order. Paths:
   ``ws://`` through a CONNECT tunnel (what ``websockets`` does with
   ``proxy=``), ``ws://`` as an absolute-form ``GET http://...`` upgrade
   sent to the proxy (``websockets`` with its request line rewritten), and
   ``wss://`` intercepted; each with permessage-deflate off and
   negotiated. The flow's counters, as the engine's line for it prints
   them (``WS ... -> 101 closed 1000, N msgs up ..., N down ...``), must
   count every message each way (the messages the flow keeps are capped
   by count and bytes; the counters are not).
2. Stream: ``--stream-mib`` MiB from the origin to the client in binary
   messages of ``--message-kib`` (unmasked frames), then ``--up-mib`` MiB
   the other way (masked frames), over ``wss://`` intercepted, over the
   passthrough tunnel, and straight to the origin (``wss-direct``: the
   client and origin's own ceiling), taking turns each round. Every
   message carries its index and a seeded pattern, checked on arrival.
   Reported: MiB/s; the ratio intercepted / passthrough, per round and
   its median; the engine's CPU milliseconds per MiB (steadier than MiB/s
   on a shared machine) and each process's CPU; the engine's RSS before
   the first round, at its peak (sampled every 50 ms), after the last.

Run as ``python -m tests.bench.bench_websocket [--quick] [--rounds N]
[--stream-mib MIB] [--up-mib MIB] [--messages N] [--json PATH]``
(``WS_BENCH_MIB`` sets the default of ``--stream-mib``). The defaults (3
rounds, 1 GiB down, 256 MiB up) take about two minutes on 2 cores;
``--quick`` is 1 round of 64 MiB down, 16 MiB up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import re
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosedOK

from inspector.core.certs import CertStore
from tests.bench import targets
from tests.bench.bench_engine import git_revision
from tests.bench.output import publish

MiB = 1024 * 1024
TARGET_RATIO = 0.8
"""Intercepted wss:// throughput must reach this fraction of passthrough."""
MAX_MESSAGE = 64 * 1024
SEED = 20261206
ECHO_PATHS = ("ws-connect", "ws-absolute", "wss-intercept")
STREAM_PATHS = ("wss-intercept", "wss-passthrough", "wss-direct")
"""Taking turns each round; ``wss-direct`` (no proxy) is the client and
origin's own ceiling."""
LINE_TIMEOUT = 15.0
RSS_INTERVAL = 0.05
WS_LINE = re.compile(r"(\S+) -> 101 closed (\S+), (\d+) msgs up (.+?), (\d+) down (.+)$")
COMMON: dict[str, Any] = {"ping_interval": None, "max_size": None, "open_timeout": 30}


# The origin (its own process)


def pattern(size: int, seed: int) -> bytes:
    """The payload every stream message carries after its 8-byte index."""
    return random.Random(seed).randbytes(size)


async def _echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


async def _down(ws: ServerConnection, total: int, size: int, seed: int) -> None:
    block = pattern(size, seed)
    tail = block[8:]
    for index in range(total // size):
        await ws.send(index.to_bytes(8, "big") + tail)


async def _up(ws: ServerConnection, size: int, seed: int) -> None:
    tail = pattern(size, seed)[8:]
    count = nbytes = bad = 0
    async for message in ws:
        if isinstance(message, str):
            await ws.send(json.dumps({"messages": count, "bytes": nbytes, "bad": bad}))
            continue
        if message[8:] != tail or int.from_bytes(message[:8], "big") != count:
            bad += 1
        count += 1
        nbytes += len(message)


async def _route(ws: ServerConnection) -> None:
    url = urlsplit(ws.request.path if ws.request else "/")
    query = {k: int(v[0]) for k, v in parse_qs(url.query).items()}
    if url.path == "/echo":
        await _echo(ws)
    elif url.path == "/down":
        await _down(ws, query["total"], query["size"], query["seed"])
    elif url.path == "/up":
        await _up(ws, query["size"], query["seed"])
    else:
        await ws.close(1008, "unknown path")


async def serve_origin(certdir: Path) -> None:
    store = CertStore.load_or_create(certdir)
    options: dict[str, Any] = {"max_size": None, "ping_interval": None}
    plain = await serve(_route, "127.0.0.1", 0, **options)
    tls = await serve(_route, "127.0.0.1", 0, ssl=store.server_context("localhost"), **options)
    passthrough = await serve(
        _route, "127.0.0.1", 0, ssl=store.server_context("localhost"), **options
    )
    ports = {
        name: server.sockets[0].getsockname()[1]
        for name, server in (("plain", plain), ("tls", tls), ("passthrough", passthrough))
    }
    print(f"listening on 127.0.0.1:{ports['plain']}", flush=True)
    print(f"ports {json.dumps(ports)}", flush=True)
    await asyncio.Event().wait()


# The workload


def echo_messages(count: int, seed: int) -> list[str | bytes]:
    """Half text, half binary, sizes log-uniform from 1 B to 64 KiB (text
    sizes in UTF-8 bytes, cut back to a character boundary)."""
    rng = random.Random(seed)
    words = [
        "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9))) for _ in range(400)
    ] + ["café", "naïve", "Straße", "€uro", "日本語", "ñandú", "🙂ok"]
    parts: list[str] = []
    while sum(map(len, parts)) < 3 * MAX_MESSAGE:
        fields = ", ".join(
            f'"{rng.choice(words)}": {rng.randint(0, 99999)}'
            if rng.random() < 0.4
            else f'"{rng.choice(words)}": "{" ".join(rng.choices(words, k=rng.randint(1, 6)))}"'
            for _ in range(rng.randint(2, 8))
        )
        parts.append("{" + fields + "}\n")
    text = "".join(parts).encode()
    messages: list[str | bytes] = []
    for _ in range(count):
        size = min(MAX_MESSAGE, int(math.exp(rng.uniform(0, math.log(MAX_MESSAGE + 1)))))
        if rng.random() < 0.5:
            messages.append(rng.randbytes(size))
            continue
        start = rng.randrange(len(text) - size)
        end = start + size
        while text[start] & 0xC0 == 0x80:
            start += 1
        while end > start and end < len(text) and text[end] & 0xC0 == 0x80:
            end -= 1
        messages.append(text[start:end].decode() or "x")
    return messages


def payload_bytes(messages: list[str | bytes]) -> int:
    return sum(len(m.encode() if isinstance(m, str) else m) for m in messages)


# The client


class AbsoluteFormConnection(ClientConnection):
    """A ``websockets`` client whose upgrade request line carries the
    absolute URL (``GET http://host:port/path``), as a client configured
    with a plain HTTP proxy sends it: the connection goes to the proxy."""

    async def handshake(self, *args: Any, **kwargs: Any) -> None:
        build = self.protocol.connect
        uri = self.protocol.uri

        def absolute() -> Any:
            request = build()
            request.path = f"http://{uri.host}:{uri.port}{request.path}"
            return request

        self.protocol.connect = absolute  # type: ignore[method-assign]
        await super().handshake(*args, **kwargs)


@dataclass
class Setup:
    proxy: int
    ports: dict[str, int]
    inspector_ctx: ssl.SSLContext
    origin_ctx: ssl.SSLContext

    def open(self, path: str, target: str, deflate: bool = False) -> connect:
        """A ``websockets`` connection to the origin's ``target`` along ``path``."""
        compression = "deflate" if deflate else None
        proxy = f"http://127.0.0.1:{self.proxy}"
        if path == "ws-connect":
            uri = f"ws://localhost:{self.ports['plain']}{target}"
            return connect(uri, proxy=proxy, compression=compression, **COMMON)
        if path == "ws-absolute":
            uri = f"ws://localhost:{self.ports['plain']}{target}"
            return connect(
                uri,
                proxy=None,
                host="127.0.0.1",
                port=self.proxy,
                create_connection=AbsoluteFormConnection,
                compression=compression,
                **COMMON,
            )
        if path == "wss-intercept":
            uri = f"wss://localhost:{self.ports['tls']}{target}"
            ctx = self.inspector_ctx
        elif path in ("wss-passthrough", "wss-direct"):
            uri = f"wss://localhost:{self.ports['passthrough']}{target}"
            ctx = self.origin_ctx
        else:
            raise ValueError(path)
        return connect(
            uri,
            proxy=None if path == "wss-direct" else proxy,
            ssl=ctx,
            compression=compression,
            **COMMON,
        )


async def echo(ws: ClientConnection, messages: list[str | bytes]) -> tuple[float, int]:
    """Send every message while reading the echoes; (seconds, mismatches)."""
    mismatches = 0

    async def reader() -> None:
        nonlocal mismatches
        for sent in messages:
            if await ws.recv() != sent:
                mismatches += 1

    started = time.perf_counter()
    reading = asyncio.ensure_future(reader())
    for message in messages:
        await ws.send(message)
    await reading
    return time.perf_counter() - started, mismatches


async def stream_down(ws: ClientConnection, total: int, size: int, seed: int) -> dict[str, Any]:
    tail = pattern(size, seed)[8:]
    count = nbytes = bad = 0
    started = time.perf_counter()
    with contextlib.suppress(ConnectionClosedOK):
        async for message in ws:
            assert isinstance(message, bytes)
            if message[8:] != tail or int.from_bytes(message[:8], "big") != count:
                bad += 1
            count += 1
            nbytes += len(message)
    seconds = time.perf_counter() - started
    expected = total // size
    return {"seconds": seconds, "messages": count, "bytes": nbytes, "bad": bad + expected - count}


async def stream_up(ws: ClientConnection, total: int, size: int, seed: int) -> dict[str, Any]:
    tail = pattern(size, seed)[8:]
    started = time.perf_counter()
    for index in range(total // size):
        await ws.send(index.to_bytes(8, "big") + tail)
    await ws.send("done")
    answer = json.loads(await ws.recv())
    seconds = time.perf_counter() - started
    expected = total // size
    return {
        "seconds": seconds,
        "messages": answer["messages"],
        "bytes": answer["bytes"],
        "bad": answer["bad"] + expected - answer["messages"],
    }


class Sampler:
    """The engine's RSS every ``RSS_INTERVAL`` while a transfer runs, and
    the CPU each process used meanwhile."""

    def __init__(self, engine: targets.Proc, origin: targets.Proc) -> None:
        self.engine = engine
        self.origin = origin

    async def measure(self, work: Awaitable[dict[str, Any]]) -> dict[str, Any]:
        pid = self.engine.pid
        rss = [targets.process_rss_bytes(pid)]
        cpu = (
            self.engine.cpu_seconds(),
            self.origin.cpu_seconds(),
            time.process_time(),
            time.perf_counter(),
        )
        done = False

        async def sample() -> None:
            while not done:
                await asyncio.sleep(RSS_INTERVAL)
                rss.append(targets.process_rss_bytes(pid))

        sampler = asyncio.ensure_future(sample())
        try:
            result = await work
        finally:
            done = True
            await sampler
        wall = time.perf_counter() - cpu[3]
        rss.append(targets.process_rss_bytes(pid))
        return {
            **result,
            "engine_cpu_s": self.engine.cpu_seconds() - cpu[0],
            "engine_cpu_pct": (self.engine.cpu_seconds() - cpu[0]) / wall * 100,
            "origin_cpu_pct": (self.origin.cpu_seconds() - cpu[1]) / wall * 100,
            "client_cpu_pct": (time.process_time() - cpu[2]) / wall * 100,
            "rss_start_mib": rss[0] / MiB,
            "rss_peak_mib": max(rss) / MiB,
            "rss_end_mib": rss[-1] / MiB,
            "rss_samples": len(rss),
        }


def engine_line(engine: targets.Proc) -> dict[str, Any]:
    """The engine's line for the WebSocket flow that just ended."""
    line = engine.expect("WS ", LINE_TIMEOUT)
    match = WS_LINE.match(line)
    if match is None:
        raise RuntimeError(f"unexpected engine line: {line!r}")
    return {
        "line": line,
        "close": match[2],
        "msgs_up": int(match[3]),
        "size_up": match[4],
        "msgs_down": int(match[5]),
        "size_down": match[6],
    }


async def run_echo(
    setup: Setup, engine: targets.Proc, sampler: Sampler, path: str, deflate: bool, args: Any
) -> dict[str, Any]:
    messages = echo_messages(args.messages, SEED)
    size = payload_bytes(messages)

    async def work() -> dict[str, Any]:
        async with setup.open(path, "/echo", deflate) as ws:
            extensions = (
                ws.response.headers.get("Sec-WebSocket-Extensions", "") if ws.response else ""
            )
            seconds, mismatches = await echo(ws, messages)
        return {"seconds": seconds, "mismatches": mismatches, "extensions": extensions}

    result = await sampler.measure(work())
    seen = engine_line(engine)
    seconds = result["seconds"]
    return {
        "path": path,
        "deflate": deflate,
        "negotiated": bool(result["extensions"]),
        "messages": len(messages),
        "payload_mib": size / MiB,
        "msgs_per_s": len(messages) / seconds,
        "mib_per_s": size / MiB / seconds,
        "verified": result["mismatches"] == 0,
        "recorded_up": seen["msgs_up"],
        "recorded_down": seen["msgs_down"],
        "recorded_ok": seen["msgs_up"] == seen["msgs_down"] == len(messages),
        "engine_line": seen["line"],
        **{k: v for k, v in result.items() if k.endswith("_pct") or k.startswith("rss")},
        "seconds": seconds,
    }


async def run_stream(
    setup: Setup,
    engine: targets.Proc,
    sampler: Sampler,
    path: str,
    direction: str,
    total: int,
    size: int,
) -> dict[str, Any]:
    seed = SEED + (1 if direction == "down" else 2)
    if direction == "down":
        target = f"/down?total={total}&size={size}&seed={seed}"
    else:
        target = f"/up?size={size}&seed={seed}"

    async def work() -> dict[str, Any]:
        async with setup.open(path, target) as ws:
            if direction == "down":
                return await stream_down(ws, total, size, seed)
            return await stream_up(ws, total, size, seed)

    result = await sampler.measure(work())
    recorded = line = None
    if path == "wss-intercept":
        seen = engine_line(engine)
        recorded = seen["msgs_down"] if direction == "down" else seen["msgs_up"]
        line = seen["line"]
    # Up, the client's last message is the text "done" that asks for the count.
    expected = total // size + (direction == "up")
    return {
        "path": path,
        "direction": direction,
        "mib": result["bytes"] / MiB,
        "mib_per_s": result["bytes"] / MiB / result["seconds"],
        "engine_ms_per_mib": result["engine_cpu_s"] * 1000 / (result["bytes"] / MiB),
        "verified": result["bad"] == 0 and result["bytes"] == total // size * size,
        "recorded": recorded,
        "expected": expected,
        "engine_line": line,
        **result,
    }


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="inspector-bench-ws-"))
    upstream = CertStore.load_or_create(work / "upstream")
    proxy_ca = CertStore.load_or_create(work / "inspector")
    loop = asyncio.get_running_loop()
    origin = await loop.run_in_executor(
        None,
        lambda: targets.Proc(
            "origin",
            [
                sys.executable,
                "-m",
                "tests.bench.bench_websocket",
                "--origin",
                str(work / "upstream"),
            ],
        ),
    )
    engine: targets.Proc | None = None
    echoes: list[dict[str, Any]] = []
    streams: list[dict[str, Any]] = []
    try:
        ports = json.loads(await loop.run_in_executor(None, origin.expect, "ports ", 10))
        argv = [
            *targets.inspector_launcher(),
            "--headless",
            "--listen",
            "127.0.0.1:0",
            "--confdir",
            str(work / "inspector"),
            "--upstream-ca",
            str(upstream.ca_cert_path),
            "--ignore-hosts",
            f"localhost:{ports['passthrough']}",
        ]
        engine = await loop.run_in_executor(None, targets.Proc, "inspector", argv)
        setup = Setup(
            engine.port,
            ports,
            ssl.create_default_context(cafile=str(proxy_ca.ca_cert_path)),
            ssl.create_default_context(cafile=str(upstream.ca_cert_path)),
        )
        sampler = Sampler(engine, origin)
        idle_rss = targets.process_rss_bytes(engine.pid) / MiB
        variants = [(p, d) for d in (False, True) for p in ECHO_PATHS]
        for index in range(args.rounds):
            shift = index % len(variants)
            for path, deflate in variants[shift:] + variants[:shift]:
                row = await run_echo(setup, engine, sampler, path, deflate, args)
                row["round"] = index
                echoes.append(row)
        size = args.message_kib * 1024
        for direction, mib in (("down", args.stream_mib), ("up", args.up_mib)):
            for index in range(args.rounds):
                shift = index % len(STREAM_PATHS)
                for path in STREAM_PATHS[shift:] + STREAM_PATHS[:shift]:
                    row = await run_stream(setup, engine, sampler, path, direction, mib * MiB, size)
                    row["round"] = index
                    streams.append(row)
        final_rss = targets.process_rss_bytes(engine.pid) / MiB
    finally:
        if engine is not None:
            await loop.run_in_executor(None, engine.stop)
        await loop.run_in_executor(None, origin.stop)
        upstream.close()
        proxy_ca.close()
    return {
        "config": {
            "rounds": args.rounds,
            "messages": args.messages,
            "stream_mib": args.stream_mib,
            "up_mib": args.up_mib,
            "message_kib": args.message_kib,
            "seed": SEED,
            "loop": _loop_name(),
            "revision": git_revision(),
        },
        "idle_rss_mib": idle_rss,
        "final_rss_mib": final_rss,
        "echo": _echo_table(echoes),
        "stream": _stream_table(streams),
        "runs": {"echo": echoes, "stream": streams},
    }


def _echo_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    table = []
    for path, deflate in dict.fromkeys((r["path"], r["deflate"]) for r in rows):
        runs = [r for r in rows if r["path"] == path and r["deflate"] == deflate]
        table.append(
            {
                "path": path,
                "deflate": deflate,
                "negotiated": all(r["negotiated"] for r in runs),
                "payload_mib": runs[0]["payload_mib"],
                "msgs_per_s": statistics.median(r["msgs_per_s"] for r in runs),
                "mib_per_s": statistics.median(r["mib_per_s"] for r in runs),
                "verified": all(r["verified"] for r in runs),
                "recorded_ok": all(r["recorded_ok"] for r in runs),
                "recorded": [(r["recorded_up"], r["recorded_down"]) for r in runs],
                "engine_cpu_pct": statistics.median(r["engine_cpu_pct"] for r in runs),
            }
        )
    return table


def _stream_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    table = []
    for direction in ("down", "up"):
        by_path = {
            p: [r for r in rows if r["direction"] == direction and r["path"] == p]
            for p in STREAM_PATHS
        }
        ratios = [
            a["mib_per_s"] / b["mib_per_s"]
            for a, b in zip(by_path["wss-intercept"], by_path["wss-passthrough"], strict=True)
        ]
        for path, runs in by_path.items():
            row: dict[str, Any] = {
                "direction": direction,
                "path": path,
                "mib": runs[0]["mib"],
                "mib_per_s": statistics.median(r["mib_per_s"] for r in runs),
                "all": [round(r["mib_per_s"], 1) for r in runs],
                "verified": all(r["verified"] for r in runs),
                "recorded": [r["recorded"] for r in runs],
                "expected": runs[0]["expected"],
                "recorded_ok": all(r["recorded"] in (None, r["expected"]) for r in runs),
                **{
                    key: statistics.median(r[key] for r in runs)
                    for key in (
                        "engine_ms_per_mib",
                        "engine_cpu_pct",
                        "origin_cpu_pct",
                        "client_cpu_pct",
                    )
                },
                "rss_start_mib": runs[0]["rss_start_mib"],
                "rss_peak_mib": max(r["rss_peak_mib"] for r in runs),
                "rss_end_mib": runs[-1]["rss_end_mib"],
                "rss_run_peak_mib": max(r["rss_peak_mib"] - r["rss_start_mib"] for r in runs),
                "rss_run_end_mib": max(r["rss_end_mib"] - r["rss_start_mib"] for r in runs),
            }
            if path == "wss-intercept":
                row["ratio"] = statistics.median(ratios)
                row["ratios"] = [round(x, 3) for x in ratios]
                row["target"] = TARGET_RATIO
            table.append(row)
    return table


def render(summary: dict[str, Any]) -> str:
    c = summary["config"]
    lines = [
        f"WebSocket echo: {c['messages']:,} messages (text/binary, 1 B-64 KiB, seed {c['seed']}), "
        f"pipelined, medians of {c['rounds']} round(s); MiB/s counts the payload one way",
        f"{'path':<14} {'deflate':>7} {'msgs/s':>8} {'MiB/s':>7} {'verified':>8} "
        f"{'recorded up/down':>17} {'engine CPU%':>11}",
    ]
    for r in summary["echo"]:
        deflate = ("yes" if r["negotiated"] else "offered") if r["deflate"] else "no"
        up, down = r["recorded"][0]
        recorded = f"{up}/{down}" + ("" if r["recorded_ok"] else " !")
        lines.append(
            f"{r['path']:<14} {deflate:>7} {r['msgs_per_s']:>8,.0f} {r['mib_per_s']:>7.1f} "
            f"{'yes' if r['verified'] else 'NO':>8} {recorded:>17} {r['engine_cpu_pct']:>11.0f}"
        )
    lines += [
        "",
        f"WebSocket stream: {c['message_kib']} KiB binary messages, down {c['stream_mib']} MiB "
        f"(unmasked), up {c['up_mib']} MiB (masked); medians of {c['rounds']} round(s); "
        f"CPU % of one core; engine RSS MiB before the first round, then the most any one run "
        f"added at its peak and kept at its end",
        f"{'dir':<4} {'path':<16} {'MiB/s':>7} {'ratio':>6} {'verified':>8} {'recorded':>11} "
        f"{'eng ms/MiB':>10} {'engine%':>7} {'origin%':>7} {'client%':>7} "
        f"{'RSS start +peak/+end':>20}",
    ]
    for r in summary["stream"]:
        ratio = f"{r['ratio']:.2f}" if "ratio" in r else ""
        recorded = "-" if r["recorded"][0] is None else f"{r['recorded'][0]}/{r['expected']}"
        recorded += "" if r["recorded_ok"] else " !"
        rss = f"{r['rss_start_mib']:.0f} +{r['rss_run_peak_mib']:.0f}/+{r['rss_run_end_mib']:.0f}"
        if r["path"] == "wss-direct":
            rss = "-"
        lines.append(
            f"{r['direction']:<4} {r['path']:<16} {r['mib_per_s']:>7.1f} {ratio:>6} "
            f"{'yes' if r['verified'] else 'NO':>8} {recorded:>11} "
            f"{r['engine_ms_per_mib']:>10.2f} {r['engine_cpu_pct']:>7.0f} "
            f"{r['origin_cpu_pct']:>7.0f} {r['client_cpu_pct']:>7.0f} {rss:>20}"
        )
    for r in summary["stream"]:
        if "ratio" in r:
            verdict = "meets" if r["ratio"] >= r["target"] else "BELOW"
            lines.append(
                f"{r['direction']}: intercepted / passthrough {r['ratio']:.2f} "
                f"(rounds {r['ratios']}), {verdict} the {r['target']:g} target"
            )
    lines.append(
        f"engine RSS: {summary['idle_rss_mib']:.0f} MiB idle, {summary['final_rss_mib']:.0f} MiB "
        f"after all runs (each decoded flow keeps up to ws_max_flow_bytes of its messages, all "
        f"flows together up to ws_memory_limit); client and origin on {c['loop']}"
    )
    return "\n".join(lines)


def _loop_name() -> str:
    return type(asyncio.get_running_loop()).__module__.split(".")[0]


def _run(main: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main())
    return uvloop.run(main())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round, 64 MiB down, 16 MiB up")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--stream-mib", type=int, default=int(os.environ.get("WS_BENCH_MIB", 1024)))
    parser.add_argument("--up-mib", type=int, help="default: a quarter of --stream-mib")
    parser.add_argument("--message-kib", type=int, default=1024)
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--origin", metavar="CERTDIR", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.origin:
        _run(lambda: serve_origin(Path(args.origin)))
        return 0
    if args.quick:
        args.rounds, args.stream_mib = 1, min(args.stream_mib, 64)
    if args.up_mib is None:
        args.up_mib = max(args.stream_mib // 4, 16)
    started = time.monotonic()
    summary = _run(lambda: bench(args))
    summary["config"]["elapsed_s"] = round(time.monotonic() - started, 1)
    publish(summary, render(summary), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
