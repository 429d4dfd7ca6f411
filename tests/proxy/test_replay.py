"""The replay request, end to end: a flow captured through the proxy is
sent again by the engine to a real origin, which receives the same
request; the new flows are recorded like any other, marked as replays.
Requests that cannot be sent again as they were are refused."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from inspector.core.certs import CertStore
from inspector.core.flow import Flow, FlowState
from inspector.link.client import EngineError
from inspector.proxy.replay import refusal
from tests.proxy.engine_pair import EnginePair, engine_pair, until
from tests.proxy.harness import Client, Origin, Received, Reply


def run(scenario: Callable[[EnginePair], Awaitable[None]], **settings: Any) -> None:
    async def main() -> None:
        async with engine_pair(**settings) as pair:
            await pair.start()
            await scenario(pair)

    asyncio.run(main())


class Counting:
    """An origin handler answering each request with its number, holding
    each for ``hold`` seconds and counting how many it held at once."""

    def __init__(self, hold: float = 0.0) -> None:
        self.hold = hold
        self.served = 0
        self.inside = 0
        self.most = 0

    async def __call__(self, req: Received) -> Reply:
        self.served += 1
        number = self.served
        self.inside += 1
        self.most = max(self.most, self.inside)
        try:
            await asyncio.sleep(self.hold)
        finally:
            self.inside -= 1
        return Reply(200, [(b"Content-Type", b"text/plain")], b"answer %d" % number)


async def _captured(pair: EnginePair, method: str, url: str, **kwargs: Any) -> Flow:
    """Send one request through the proxy; the finished flow."""
    client = await Client.connect(await _port(pair))
    try:
        await client.request(method, url, **kwargs)
    finally:
        client.close()
    flow = pair.store.get(pair.store.last_id)
    assert flow is not None
    await until(lambda: flow.finished, what="the captured flow ends")
    return flow


async def _port(pair: EnginePair) -> int:
    status = await pair.request("status")
    return int(status["address"].rsplit(":", 1)[1])


async def _replayed(pair: EnginePair, flow_id: int, **args: Any) -> list[Flow]:
    result = await pair.request("replay", id=flow_id, **args)
    flows = [pair.store.get(i) for i in result["ids"]]
    assert all(f is not None for f in flows)
    done = [f for f in flows if f is not None]
    await until(lambda: all(f.finished for f in done), what="the replays end")
    return done


def _same_request(a: Received, b: Received) -> None:
    assert (a.method, a.target, a.headers, a.body) == (b.method, b.target, b.headers, b.body)


def test_a_get_is_sent_again_and_recorded_as_a_replay() -> None:
    async def scenario(pair: EnginePair) -> None:
        async with Origin(Counting()) as origin:
            headers = [(b"X-One", b"1"), (b"Accept", b"*/*"), (b"X-Two", b"2")]
            original = await _captured(pair, "GET", f"{origin.base}/a?b=c", headers=headers)
            [replay] = await _replayed(pair, original.id)
            assert len(origin.requests) == 2
            _same_request(*origin.requests)
            assert replay.replay_of == original.id and original.replay_of is None
            assert replay.state is FlowState.COMPLETE and replay.id > original.id
            assert replay.response is not None and replay.response.body == b"answer 2"
            assert replay.request.url == original.request.url
            await pair.caught_up()
            assert pair.shown()[replay.id].is_replay
            assert not pair.shown()[original.id].is_replay

    run(scenario)


def test_a_post_body_goes_out_as_captured() -> None:
    async def scenario(pair: EnginePair) -> None:
        async with Origin(Counting()) as origin:
            body = bytes(range(256)) * 40
            headers = [(b"Content-Type", b"application/octet-stream")]
            original = await _captured(
                pair, "POST", f"{origin.base}/upload", headers=headers, body=body
            )
            [replay] = await _replayed(pair, original.id)
            _same_request(*origin.requests)
            assert origin.requests[1].body == body
            assert replay.request.body == body and replay.request.body_size == len(body)
            assert replay.response is not None and replay.response.body == b"answer 2"

    run(scenario)


def test_many_replays_go_out_so_many_at_a_time() -> None:
    async def scenario(pair: EnginePair) -> None:
        handler = Counting()
        async with Origin(handler) as origin:
            original = await _captured(pair, "GET", f"{origin.base}/n")
            handler.hold, handler.most = 0.1, 0
            replays = await _replayed(pair, original.id, count=3, concurrency=2)
            assert len(replays) == 3 and len({f.id for f in replays}) == 3
            assert all(f.replay_of == original.id for f in replays)
            assert all(f.state is FlowState.COMPLETE for f in replays)
            assert len(origin.requests) == 4 and handler.most == 2
            # Each is timed from when it went out, not from when it was queued.
            durations = sorted(f.duration or 0.0 for f in replays)
            assert durations[-1] < 0.1 + durations[0]
            answers = {f.response.body for f in replays if f.response is not None}
            assert answers == {b"answer 2", b"answer 3", b"answer 4"}

    run(scenario)


def test_the_reply_comes_before_the_answers() -> None:
    async def scenario(pair: EnginePair) -> None:
        handler = Counting()
        async with Origin(handler) as origin:
            original = await _captured(pair, "GET", f"{origin.base}/slow")
            handler.hold = 1.0
            result = await pair.request("replay", id=original.id)
            [flow] = [pair.store.get(i) for i in result["ids"]]
            assert flow is not None and not flow.finished
            await until(lambda: flow.finished, what="the replay ends")

    run(scenario)


def test_an_https_origin_is_replayed_with_its_certificate_verified(
    upstream_certs: CertStore, upstream_ca_file: Path
) -> None:
    async def scenario(pair: EnginePair) -> None:
        tls = upstream_certs.server_context("localhost")
        async with Origin(Counting(), tls=tls) as origin:
            url = f"https://localhost:{origin.port}/secure"
            original = await _captured(pair, "GET", url)
            [replay] = await _replayed(pair, original.id)
            _same_request(*origin.requests)
            assert replay.state is FlowState.COMPLETE and replay.upstream_tls is not None
            assert replay.request.url == url

    run(scenario, upstream_ca_file=str(upstream_ca_file))


def test_an_unverifiable_origin_fails_the_replay(
    upstream_certs: CertStore, upstream_ca_file: Path
) -> None:
    async def scenario(pair: EnginePair) -> None:
        tls = upstream_certs.server_context("localhost")
        async with Origin(Counting(), tls=tls) as origin:
            original = await _captured(pair, "GET", f"https://localhost:{origin.port}/")
            # Without the test CA the origin's certificate is not trusted
            # (a new listener: pooled connections go with the old one).
            await pair.request("stop")
            await pair.request("configure", proxy={"listen_host": "127.0.0.1"})
            await pair.start()
            [replay] = await _replayed(pair, original.id)
            assert replay.state is FlowState.FAILED and replay.error is not None
            assert replay.error.kind == "upstream-cert"
            assert len(origin.requests) == 1

    run(scenario, upstream_ca_file=str(upstream_ca_file))


def test_an_origin_gone_fails_the_replay_as_a_proxied_request_fails() -> None:
    async def scenario(pair: EnginePair) -> None:
        async with Origin(Counting()) as origin:
            original = await _captured(pair, "GET", f"{origin.base}/gone")
        [replay] = await _replayed(pair, original.id)
        assert replay.state is FlowState.FAILED and replay.error is not None
        assert replay.error.kind == "connect-refused"
        assert replay.response is not None and replay.response.status == 502
        assert replay.replay_of == original.id

    run(scenario)


def test_an_unknown_flow_is_refused() -> None:
    async def scenario(pair: EnginePair) -> None:
        with pytest.raises(EngineError, match="no flow 999"):
            await pair.request("replay", id=999)

    run(scenario)


@pytest.mark.parametrize(
    "args",
    [
        {"count": 0},
        {"count": 101},
        {"count": "3"},
        {"count": True},
        {"concurrency": 0},
        {"concurrency": 11},
        {"id": "1"},
    ],
    ids=repr,
)
def test_bad_arguments_are_refused(args: dict[str, Any]) -> None:
    async def scenario(pair: EnginePair) -> None:
        async with Origin(Counting()) as origin:
            original = await _captured(pair, "GET", f"{origin.base}/")
            with pytest.raises(EngineError, match="replay"):
                await pair.request("replay", **{"id": original.id, **args})
            assert len(origin.requests) == 1
            assert pair.store.last_id == original.id

    run(scenario)


def test_a_tunnel_is_refused() -> None:
    async def scenario(pair: EnginePair) -> None:
        async with Origin(Counting()) as origin:
            client = await Client.connect(await _port(pair))
            authority = f"127.0.0.1:{origin.port}"
            await client.send(f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode())
            await until(lambda: pair.store.last_id > 0, what="the tunnel flow")
            client.close()
            with pytest.raises(EngineError, match="CONNECT tunnel"):
                await pair.request("replay", id=pair.store.last_id)

    run(scenario)


def test_a_body_past_the_capture_limit_is_refused() -> None:
    async def scenario(pair: EnginePair) -> None:
        async with Origin(Counting()) as origin:
            original = await _captured(pair, "POST", f"{origin.base}/big", body=b"x" * 100)
            assert original.request.body_truncated
            with pytest.raises(EngineError, match="only part of"):
                await pair.request("replay", id=original.id)
            assert len(origin.requests) == 1

    run(scenario, body_capture_limit=10)


def test_a_stopped_proxy_does_not_replay() -> None:
    async def scenario(pair: EnginePair) -> None:
        async with Origin(Counting()) as origin:
            original = await _captured(pair, "GET", f"{origin.base}/")
            await pair.request("stop")
            with pytest.raises(EngineError, match="not running"):
                await pair.request("replay", id=original.id)

    run(scenario)


def _flow(method: str = "POST", headers: list[tuple[bytes, bytes]] | None = None) -> Flow:
    flow = Flow(5, ("127.0.0.1", 1))
    flow.request.method, flow.request.host, flow.request.target = method, "h.test", "/"
    flow.request.headers = headers if headers is not None else [(b"Content-Length", b"3")]
    flow.request.body, flow.request.body_size = b"abc", 3
    flow.t_request_sent = 1.0
    return flow


def _dropped() -> Flow:
    flow = _flow()
    flow.bodies_dropped, flow.request.body = True, b""
    return flow


def _unsent_chunked() -> Flow:
    flow = _flow(headers=[(b"Transfer-Encoding", b"chunked")])
    flow.t_request_sent = None
    return flow


def _websocket() -> Flow:
    upgrade = [(b"Connection", b"Upgrade"), (b"Upgrade", b"websocket")]
    upgrade.append((b"Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ=="))
    upgrade.append((b"Sec-WebSocket-Version", b"13"))
    return _flow("GET", upgrade)


def _onboarding() -> Flow:
    flow = _flow("GET", [])
    flow.request.host = "inspector.invalid"
    return flow


def _help_page() -> Flow:
    flow = _flow("GET", [])
    flow.request.host = ""
    return flow


REFUSALS: list[tuple[str, Callable[[], Flow], str | None]] = [
    ("a whole body", _flow, None),
    ("no body", lambda: _flow("GET", []), None),
    ("dropped", _dropped, "no longer kept"),
    ("short", lambda: _flow(headers=[(b"Content-Length", b"4")]), "did not arrive whole"),
    ("chunked, never sent whole", _unsent_chunked, "did not arrive whole"),
    ("websocket", _websocket, "WebSocket"),
    ("onboarding page", _onboarding, "proxy itself"),
    ("help page", _help_page, "not sent to a server"),
]


@pytest.mark.parametrize(("make", "why"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_refusal(make: Callable[[], Flow], why: str | None) -> None:
    flow = make()
    found = refusal(flow, flow.request.body)
    if why is None:
        assert found is None
    else:
        assert found is not None and why in found
