"""Every rule action through the engine: a real client through the proxy
to a real origin, rules set with ``set_rules``; what the origin and the
client see, and what the flow records."""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from inspector.core.flow import FlowState
from inspector.link.client import EngineError
from tests.proxy.engine_pair import EnginePair, engine_pair, until
from tests.proxy.harness import Answer, Client, Origin, Received, Reply

Scenario = Callable[[EnginePair, Origin, int], Awaitable[None]]


def run(scenario: Scenario, handler: Any = None, **settings: Any) -> None:
    async def main() -> None:
        async with engine_pair(**settings) as pair, Origin(handler or _echo) as origin:
            port = await pair.start()
            await scenario(pair, origin, port)

    asyncio.run(main())


async def _echo(req: Received) -> Reply:
    return Reply(
        200,
        [(b"Content-Type", b"text/plain"), (b"Set-Cookie", b"a=1")],
        req.method + b" " + req.target + b" " + req.body,
    )


async def _rules(pair: EnginePair, *rules: dict[str, Any]) -> list[dict[str, Any]]:
    return list((await pair.request("set_rules", rules=list(rules)))["rules"])


async def _get(port: int, url: str, method: str = "GET", body: bytes = b"", **kw: Any) -> Answer:
    client = await Client.connect(port)
    try:
        return await client.request(method, url, body=body, **kw)
    finally:
        client.close()


async def _last(pair: EnginePair) -> Any:
    flow = pair.store.get(pair.store.last_id)
    assert flow is not None
    await until(lambda: flow.finished, what="the flow ends")
    return flow


def test_headers_are_set_and_removed_both_ways_and_the_flow_says_so() -> None:
    async def scenario(pair: EnginePair, origin: Origin, port: int) -> None:
        await _rules(
            pair,
            {
                "name": "Env",
                "match": "host:127.0.0.1",
                "actions": [
                    {"type": "set_header", "name": "X-Env", "value": "test"},
                    {"type": "remove_header", "name": "X-Secret"},
                    {"type": "remove_header", "on": "response", "name": "Set-Cookie"},
                    {"type": "set_header", "on": "response", "name": "X-Seen", "value": "1"},
                ],
            },
        )
        answer = await _get(port, f"{origin.base}/h", headers=[(b"X-Secret", b"s")])
        [seen] = origin.requests
        names = {k.lower(): v for k, v in seen.headers}
        assert names[b"x-env"] == b"test" and b"x-secret" not in names
        assert answer.header(b"set-cookie") is None and answer.header(b"x-seen") == b"1"
        flow = await _last(pair)
        assert flow.applied == [
            "Env: set_header X-Env: test (was absent)",
            "Env: remove_header X-Secret removed (was s)",
            "Env: remove_header Set-Cookie removed (was a=1)",
            "Env: set_header X-Seen: 1 (was absent)",
        ]
        assert flow.response.header(b"x-seen") == b"1"
        [rule] = (await pair.request("rules"))["rules"]
        assert rule["hits"] == 1
        await until(lambda: flow.id in pair.shown() and pair.shown()[flow.id].ruled)

    run(scenario)


def test_map_remote_sends_the_request_elsewhere_with_host_rewritten() -> None:
    async def scenario(pair: EnginePair, origin: Origin, port: int) -> None:
        await _rules(
            pair,
            {
                "match": "host:api.invalid",
                "actions": [{"type": "map_remote", "to": f"{origin.base}/v2"}],
            },
        )
        answer = await _get(port, "http://api.invalid/items?a=1")
        assert answer.body == b"GET /v2/items?a=1 "
        [seen] = origin.requests
        assert dict(seen.headers)[b"host"] == f"127.0.0.1:{origin.port}".encode()
        flow = await _last(pair)
        assert flow.request.host == "127.0.0.1" and flow.request.target == "/v2/items?a=1"

    run(scenario)


def test_map_local_answers_from_a_directory_and_never_outside_it(tmp_path: Path) -> None:
    root = tmp_path / "site"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("from disk")
    (root / "sub" / "index.html").write_text("<p>index</p>")
    (tmp_path / "secret.txt").write_text("secret")
    (root / "link.txt").symlink_to(tmp_path / "secret.txt")

    async def scenario(pair: EnginePair, origin: Origin, port: int) -> None:
        await _rules(
            pair,
            {
                "match": "path:/static",
                "actions": [{"type": "map_local", "path": str(root), "strip": "/static"}],
            },
        )
        answer = await _get(port, f"{origin.base}/static/a.txt")
        assert answer.status == 200 and answer.body == b"from disk"
        assert answer.header(b"content-type") == b"text/plain; charset=utf-8"
        answer = await _get(port, f"{origin.base}/static/sub/")
        assert answer.body == b"<p>index</p>" and answer.header(b"content-type").startswith(
            b"text/html"
        )
        for bad in (
            "/static/../secret.txt",
            "/static/%2e%2e/secret.txt",
            "/static/link.txt",
            "/static/sub%2f..%2f..%2fsecret.txt",
            "/static/missing.txt",
        ):
            answer = await _get(port, f"{origin.base}{bad}")
            assert answer.status == 404, bad
            assert answer.body.startswith(b"map_local: ") and answer.body != b"secret\n"
        assert origin.requests == []

    run(scenario)


def test_map_local_answers_a_file_and_drains_a_request_body(tmp_path: Path) -> None:
    mock = tmp_path / "mock.json"
    mock.write_text('{"ok": true}')

    async def scenario(pair: EnginePair, origin: Origin, port: int) -> None:
        await _rules(pair, {"actions": [{"type": "map_local", "path": str(mock)}]})
        client = await Client.connect(port)
        first = await client.request("POST", f"{origin.base}/x", body=b"payload")
        second = await client.request("GET", f"{origin.base}/y")
        client.close()
        assert first.body == second.body == b'{"ok": true}'
        assert first.header(b"content-type") == b"application/json; charset=utf-8"
        flow = pair.store.get(pair.store.last_id - 1)
        assert flow is not None and flow.request.body == b"payload"

    run(scenario)


def test_replace_body_rewrites_a_gzip_response_and_a_request() -> None:
    async def zipped(req: Received) -> Reply:
        body = gzip.compress(b"Hello world, hello " + req.body)
        return Reply(200, [(b"Content-Encoding", b"gzip"), (b"Content-Type", b"text/plain")], body)

    async def scenario(pair: EnginePair, origin: Origin, port: int) -> None:
        await _rules(
            pair,
            {
                "actions": [
                    {"type": "replace_body", "pattern": "(?i)hello", "with": "bye"},
                    {"type": "replace_body", "on": "request", "pattern": "cat", "with": "dog"},
                ]
            },
        )
        answer = await _get(port, f"{origin.base}/z", "POST", b"a cat")
        assert gzip.decompress(answer.body) == b"bye world, bye a dog"
        assert answer.header(b"content-length") == str(len(answer.body)).encode()
        assert origin.requests[0].body == b"a dog"
        flow = await _last(pair)
        assert any("replaced 2 times" in line for line in flow.applied)

    run(scenario, zipped)


def test_replace_body_leaves_a_body_over_the_capture_limit_and_says_so() -> None:
    big = b"x" * 200_000

    async def large(req: Received) -> Reply:
        return Reply(200, [(b"Content-Type", b"text/plain")], [big[:100_000], big[100_000:]])

    async def scenario(pair: EnginePair, origin: Origin, port: int) -> None:
        await _rules(pair, {"actions": [{"type": "replace_body", "pattern": "x", "with": "y"}]})
        answer = await _get(port, f"{origin.base}/big")
        assert answer.body == big
        flow = await _last(pair)
        assert "over the capture limit" in flow.applied[0]

    run(scenario, large, body_capture_limit=64 * 1024)


def test_block_answers_403_or_resets_and_reply_mocks() -> None:
    async def scenario(pair: EnginePair, origin: Origin, port: int) -> None:
        await _rules(
            pair,
            {"name": "No ads", "match": "path:/ads", "actions": [{"type": "block"}]},
            {"match": "path:/cut", "actions": [{"type": "block", "reset": True}]},
            {
                "match": "path:/mock",
                "actions": [
                    {
                        "type": "reply",
                        "status": 201,
                        "headers": {"Content-Type": "application/json"},
                        "body": '{"id": 7}',
                    }
                ],
            },
        )
        blocked = await _get(port, f"{origin.base}/ads/1")
        assert blocked.status == 403 and b"No ads" in blocked.body
        mocked = await _get(port, f"{origin.base}/mock")
        assert (mocked.status, mocked.body) == (201, b'{"id": 7}')
        assert mocked.header(b"content-type") == b"application/json"
        client = await Client.connect(port)
        await client.send(f"GET {origin.base}/cut HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert await client.closed_by_peer()
        client.close()
        flow = await _last(pair)
        assert flow.error is not None and flow.error.kind == "blocked"
        assert origin.requests == []

    run(scenario)


def test_delay_holds_the_request_back() -> None:
    async def scenario(pair: EnginePair, origin: Origin, port: int) -> None:
        await _rules(pair, {"actions": [{"type": "delay", "ms": 300}]})
        start = time.monotonic()
        await _get(port, f"{origin.base}/slow")
        assert time.monotonic() - start >= 0.3

    run(scenario)


def test_throttle_paces_one_flow_and_leaves_the_others() -> None:
    body = b"z" * 64 * 1024

    async def sized(req: Received) -> Reply:
        return Reply(200, [(b"Content-Type", b"application/octet-stream")], body)

    async def scenario(pair: EnginePair, origin: Origin, port: int) -> None:
        await _rules(
            pair,
            {
                "match": "path:/slow",
                "actions": [{"type": "throttle", "down_kbps": 1024, "latency_ms": 50}],
            },
        )
        start = time.monotonic()
        slow = asyncio.ensure_future(_get(port, f"{origin.base}/slow"))
        await asyncio.sleep(0.05)
        fast_start = time.monotonic()
        fast = await _get(port, f"{origin.base}/fast")
        fast_took = time.monotonic() - fast_start
        result = await slow
        took = time.monotonic() - start
        assert result.body == body and fast.body == body
        # 64 KiB at 1,024 kbit/s is 0.51 s, plus 50 ms of latency.
        assert took >= 0.5
        assert fast_took < took

    run(scenario, sized)


def test_final_actions_end_the_list_and_other_flows_pass() -> None:
    async def scenario(pair: EnginePair, origin: Origin, port: int) -> None:
        rules = await _rules(
            pair,
            {"match": "path:/a", "actions": [{"type": "reply", "body": "first"}]},
            {"match": "path:/a", "actions": [{"type": "reply", "body": "second"}]},
            {"match": "path:/never", "enabled": False, "actions": [{"type": "block"}]},
        )
        assert (await _get(port, f"{origin.base}/a")).body == b"first"
        assert (await _get(port, f"{origin.base}/never")).status == 200
        assert [r["hits"] for r in (await pair.request("rules"))["rules"]] == [1, 0, 0]
        assert len(rules) == 3

    run(scenario)


def test_an_unworkable_rule_is_reported_and_the_others_run(tmp_path: Path) -> None:
    async def scenario(pair: EnginePair, origin: Origin, port: int) -> None:
        rules = await _rules(
            pair,
            {"actions": [{"type": "replace_body", "pattern": "(", "with": ""}]},
            {"actions": [{"type": "map_local", "path": str(tmp_path / "none")}]},
            {"match": "status:200", "actions": [{"type": "block"}]},
            {"actions": [{"type": "set_header", "name": "X-Ok", "value": "1"}]},
        )
        errors = [r["error"] for r in rules]
        assert errors[0].startswith("replace_body: bad pattern")
        assert errors[1].endswith("does not exist")
        assert "status:200" in errors[2] and errors[3] == ""
        await _get(port, f"{origin.base}/ok")
        assert dict(origin.requests[0].headers)[b"x-ok"] == b"1"

    run(scenario)


def test_a_malformed_rule_list_changes_nothing() -> None:
    async def scenario(pair: EnginePair, origin: Origin, port: int) -> None:
        await _rules(pair, {"actions": [{"type": "delay", "ms": 1}]})
        for bad in ([{"actions": [{"type": "nope"}]}], [{"match": 1, "actions": []}], "x"):
            with pytest.raises(EngineError, match=r"rule|list"):
                await pair.request("set_rules", rules=bad)
        assert len((await pair.request("rules"))["rules"]) == 1

    run(scenario)


def test_replays_meet_the_rules() -> None:
    async def scenario(pair: EnginePair, origin: Origin, port: int) -> None:
        await _get(port, f"{origin.base}/r")
        original = await _last(pair)
        await _rules(pair, {"actions": [{"type": "set_header", "name": "X-Rule", "value": "1"}]})
        result = await pair.request("replay", id=original.id)
        replay = pair.store.get(result["ids"][0])
        assert replay is not None
        await until(lambda: replay.finished)
        assert replay.state is FlowState.COMPLETE
        assert dict(origin.requests[1].headers)[b"x-rule"] == b"1"

    run(scenario)


def test_a_rule_is_rewritten_moved_and_toggled_in_place() -> None:
    async def scenario(pair: EnginePair, origin: Origin, port: int) -> None:
        first, second = await _rules(
            pair,
            {"name": "A", "actions": [{"type": "reply", "body": "a"}]},
            {"name": "B", "actions": [{"type": "reply", "body": "b"}]},
        )
        assert (await _get(port, f"{origin.base}/")).body == b"a"
        await pair.request("update_rule", id=second["id"], index=0)
        assert (await _get(port, f"{origin.base}/")).body == b"b"
        result = await pair.request(
            "update_rule",
            id=second["id"],
            rule={"name": "B2", "actions": [{"type": "reply", "body": "b2"}]},
        )
        assert result == {"error": ""}
        assert (await _get(port, f"{origin.base}/")).body == b"b2"
        await pair.request("update_rule", id=second["id"], enabled=False)
        assert (await _get(port, f"{origin.base}/")).body == b"a"
        rules = (await pair.request("rules"))["rules"]
        assert [(r["id"], r["name"], r["hits"], r["enabled"]) for r in rules] == [
            (second["id"], "B2", 2, False),
            (first["id"], "A", 2, True),
        ]
        with pytest.raises(EngineError, match="unknown action type"):
            await pair.request("update_rule", id=first["id"], rule={"actions": [{"type": "x"}]})
        with pytest.raises(EngineError, match="no rule 99"):
            await pair.request("update_rule", id=99, enabled=True)

    run(scenario)


def test_the_pacer_keeps_its_rate_and_makes_up_a_late_wake_up() -> None:
    from inspector.proxy.throttle import SLICE_SECONDS, Pacer

    now = [100.0]
    slept: list[float] = []

    async def main() -> None:
        pacer = Pacer(1024, clock=lambda: now[0])  # 128,000 bytes a second

        async def fake_sleep(seconds: float) -> None:
            slept.append(seconds)
            now[0] += seconds

        real_sleep = asyncio.sleep
        asyncio.sleep = fake_sleep  # type: ignore[assignment]
        try:
            for _ in range(10):
                await pacer.take(12_800)  # 0.1 s of bytes each
            assert now[0] == pytest.approx(100.9)
            # The loop was busy: the next take comes 0.05 s late.
            now[0] += 0.15
            late = now[0]
            await pacer.take(12_800)
            assert now[0] - late <= 0.1 - min(0.05, SLICE_SECONDS) + 1e-9
        finally:
            asyncio.sleep = real_sleep  # type: ignore[assignment]

    asyncio.run(main())
