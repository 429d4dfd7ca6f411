"""The send request, end to end: a request written by hand goes from the
engine to a real origin, framed by the engine (Content-Length from the
body, Host from the URL), and is recorded as a composed flow, which a
session file keeps. Requests that cannot go out are refused in one line."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from inspector.core.flow import Flow, FlowState
from inspector.core.har_export import har_entry
from inspector.core.session import Session
from inspector.core.summary import FLAG_COMPOSED, summarize
from inspector.link.client import EngineError
from tests.proxy.engine_pair import EnginePair, engine_pair, until
from tests.proxy.harness import Origin, Received, Reply


def run(scenario: Callable[[EnginePair], Awaitable[None]], start: bool = True) -> None:
    async def main() -> None:
        async with engine_pair() as pair:
            if start:
                await pair.start()
            await scenario(pair)

    asyncio.run(main())


async def _echo(req: Received) -> Reply:
    headers = [(b"Content-Type", b"application/json")]
    answer = {"method": req.method.decode(), "target": req.target.decode(), "size": req.size}
    return Reply(201, headers, json.dumps(answer).encode())


async def _sent(pair: EnginePair, **args: Any) -> Flow:
    result = await pair.request("send", **args)
    flow = pair.store.get(result["id"])
    assert flow is not None
    await until(lambda: flow.finished, what="the composed flow ends")
    return flow


def _header(received: Received, name: bytes) -> list[bytes]:
    return [v for n, v in received.headers if n.lower() == name]


def test_a_post_reaches_the_origin_with_its_body_and_length() -> None:
    async def scenario(pair: EnginePair) -> None:
        async with Origin(_echo) as origin:
            body = b'{"name": "caf\xc3\xa9", "n": 1}'
            headers = [
                [b"Content-Type", b"application/json"],
                [b"X-Order", b"1"],
                [b"Content-Length", b"999"],
                [b"Transfer-Encoding", b"chunked"],
                [b"x-order", b"2"],
            ]
            url = f"{origin.base}/items?x=1"
            flow = await _sent(pair, method="POST", url=url, headers=headers, body=body)
            [received] = origin.requests
            assert (received.method, received.target, received.body) == (
                b"POST",
                b"/items?x=1",
                body,
            )
            assert _header(received, b"content-length") == [str(len(body)).encode()]
            assert _header(received, b"transfer-encoding") == []
            assert _header(received, b"host") == [f"127.0.0.1:{origin.port}".encode()]
            assert _header(received, b"x-order") == [b"1", b"2"]
            assert flow.composed and flow.replay_of is None
            assert flow.state is FlowState.COMPLETE
            assert flow.request.body == body and flow.request.url == url
            assert flow.response is not None and flow.response.status == 201
            assert json.loads(flow.response.body)["size"] == len(body)
            await pair.caught_up()
            row = pair.shown()[flow.id]
            assert row.is_composed and not row.is_replay

    run(scenario)


def test_headers_keep_their_order_and_a_host_given_is_kept() -> None:
    async def scenario(pair: EnginePair) -> None:
        async with Origin(_echo) as origin:
            headers = [[b"B", b"2"], [b"Host", b"other.test"], [b"A", b"1"]]
            await _sent(pair, method="GET", url=f"{origin.base}/", headers=headers)
            [received] = origin.requests
            # Host leads, as on every request the proxy forwards.
            assert received.headers == [(b"host", b"other.test"), (b"b", b"2"), (b"a", b"1")]

    run(scenario)


def test_an_empty_put_says_content_length_0_and_a_get_says_nothing() -> None:
    async def scenario(pair: EnginePair) -> None:
        async with Origin(_echo) as origin:
            await _sent(pair, method="PUT", url=f"{origin.base}/p", headers=[])
            await _sent(pair, method="GET", url=f"{origin.base}/g", headers=[])
            put, get = origin.requests
            assert _header(put, b"content-length") == [b"0"]
            assert _header(get, b"content-length") == []

    run(scenario)


def test_wait_answers_once_the_flow_is_over() -> None:
    async def scenario(pair: EnginePair) -> None:
        async with Origin(_echo) as origin:
            result = await pair.request(
                "send", method="DELETE", url=f"{origin.base}/x", headers=[], wait=True
            )
            flow = pair.store.get(result["id"])
            assert flow is not None and flow.finished
            assert result == {"id": flow.id, "status": 201, "error": None}
        # The origin is gone: the proxy answers 502, and says why.
        result = await pair.request(
            "send", method="GET", url=f"http://127.0.0.1:{origin.port}/", headers=[], wait=True
        )
        assert result["status"] == 502 and "refused" in result["error"]
        flow = pair.store.get(result["id"])
        assert flow is not None and flow.composed and flow.state is FlowState.FAILED

    run(scenario)


def test_without_wait_the_reply_comes_before_the_answer() -> None:
    async def scenario(pair: EnginePair) -> None:
        async def slow(req: Received) -> Reply:
            await asyncio.sleep(0.5)
            return Reply(200, [], b"late")

        async with Origin(slow) as origin:
            result = await pair.request("send", method="GET", url=origin.base + "/", headers=[])
            flow = pair.store.get(result["id"])
            assert flow is not None and not flow.finished
            assert result == {"id": flow.id}
            await until(lambda: flow.finished, what="the flow ends")

    run(scenario)


REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("method with a space", {"method": "GE T"}, "not an HTTP token"),
    ("empty method", {"method": ""}, "not an HTTP token"),
    ("CONNECT", {"method": "CONNECT"}, "tunnel"),
    ("relative URL", {"url": "/path"}, "not absolute"),
    ("ftp URL", {"url": "ftp://h.test/"}, "not http or https"),
    ("websocket URL", {"url": "ws://h.test/"}, "not http or https"),
    ("space in URL", {"url": "http://h.test/a b"}, "position 16"),
    ("no host", {"url": "http:///x"}, "not valid"),
    ("bad port", {"url": "http://h.test:99999/"}, "not valid"),
    ("header name with a space", {"headers": [[b"X Bad", b"1"]]}, "not a token"),
    ("header name with a colon", {"headers": [[b"X:", b"1"]]}, "not a token"),
    ("header value with CR LF", {"headers": [[b"X", b"a\r\nEvil: 1"]]}, "line break"),
    ("header value with NUL", {"headers": [[b"X", b"a\x00"]]}, "line break or NUL"),
    (
        "websocket upgrade",
        {"headers": [[b"Connection", b"Upgrade"], [b"Upgrade", b"websocket"]]},
        "WebSocket",
    ),
    ("headers not pairs", {"headers": [[b"X"]]}, "\\[bin name, bin value\\]"),
    ("header as text", {"headers": [["X", "1"]]}, "\\[bin name, bin value\\]"),
    ("body as text", {"body": "text"}, "'body' as bin"),
    ("wait not a bool", {"wait": 1}, "'wait' as bool"),
    ("url missing", {"url": None}, "'url' as str"),
]


@pytest.mark.parametrize(("args", "why"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_refused(args: dict[str, Any], why: str) -> None:
    async def scenario(pair: EnginePair) -> None:
        async with Origin(_echo) as origin:
            request = {"method": "GET", "url": f"{origin.base}/", "headers": [], **args}
            with pytest.raises(EngineError, match=why):
                await pair.request("send", **request)
            assert origin.requests == [] and pair.store.last_id == 0

    run(scenario)


def test_a_stopped_proxy_sends_nothing() -> None:
    async def scenario(pair: EnginePair) -> None:
        with pytest.raises(EngineError, match="not running"):
            await pair.request("send", method="GET", url="http://127.0.0.1:9/", headers=[])
        assert pair.store.last_id == 0

    run(scenario, start=False)


def test_a_composed_flow_survives_a_session_file_and_exports_to_har(tmp_path: Path) -> None:
    path = tmp_path / "composed.inspector"
    flows: list[Flow] = []

    async def scenario(pair: EnginePair) -> None:
        async with Origin(_echo) as origin:
            body = b"a=1&b=2"
            headers = [[b"Content-Type", b"application/x-www-form-urlencoded"]]
            url = f"{origin.base}/form"
            flows.append(await _sent(pair, method="POST", url=url, headers=headers, body=body))
            flows.append(await _sent(pair, method="GET", url=url, headers=[]))

    run(scenario)
    composed, plain = flows
    plain.composed = False  # as a captured flow would be
    with Session.create(path) as session:
        session.write(flows)
    with Session.open(path) as session:
        [stored] = [r for r in session.rows() if r[0] == composed.id]
        assert stored[15] & FLAG_COMPOSED
        read = session.flow(composed.id)
        other = session.flow(plain.id)
    assert read is not None and other is not None
    assert read.composed and not other.composed
    assert summarize(read)[15] & FLAG_COMPOSED
    assert read.request.body == b"a=1&b=2" and read.request.url == composed.request.url
    entry = har_entry(read)
    assert entry is not None
    assert entry["request"]["method"] == "POST"
    assert entry["request"]["postData"]["params"] == [
        {"name": "a", "value": "1"},
        {"name": "b", "value": "2"},
    ]
