"""Breakpoints end to end in the engine: a real client through the proxy to
a real origin, the flow held by a rule, and the window's requests (paused,
paused_flow, resume with edits, abort, resume_all, abort_all) letting it
go. Held flows wait on nothing but those requests; other traffic is left
alone."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from inspector.core.events import FlowPaused, FlowResumed, RulesChanged
from inspector.core.flow import FlowState
from inspector.link.client import EngineError
from tests.proxy.engine_pair import EnginePair, engine_pair, until
from tests.proxy.harness import Answer, Client, Origin, Received, Reply


def run(scenario: Callable[[EnginePair, Origin], Awaitable[None]], **settings: Any) -> None:
    async def main() -> None:
        async with engine_pair(**settings) as pair, Origin(_echo) as origin:
            pair.port = await pair.start()  # type: ignore[attr-defined]
            await scenario(pair, origin)

    asyncio.run(main())


async def _echo(req: Received) -> Reply:
    """Answers with what it got: method, target and body."""
    body = req.method + b" " + req.target + b" " + req.body
    return Reply(200, [(b"Content-Type", b"text/plain"), (b"X-Origin", b"yes")], body)


async def _break(pair: EnginePair, match: str, on: str = "request", **rule: Any) -> int:
    result = await pair.request(
        "add_rule", rule={"match": match, "actions": [{"type": "breakpoint", "on": on}], **rule}
    )
    assert result["error"] == ""
    return int(result["id"])


async def _held(pair: EnginePair, count: int = 1) -> list[dict[str, Any]]:
    """Wait until ``count`` flows are held; their summaries."""
    found: list[dict[str, Any]] = []

    async def enough() -> bool:
        nonlocal found
        found = (await pair.request("paused"))["paused"]
        return len(found) >= count

    for _ in range(3000):
        if await enough():
            return found
        await asyncio.sleep(0.01)
    raise AssertionError(f"{count} flows never held; held: {found}")


def _send(
    pair: EnginePair, method: str, url: str, body: bytes = b"", **kwargs: Any
) -> asyncio.Task[Answer]:
    async def go() -> Answer:
        client = await Client.connect(pair.port)  # type: ignore[attr-defined]
        try:
            return await client.request(method, url, body=body, **kwargs)
        finally:
            client.close()

    return asyncio.ensure_future(go())


def _criticals(pair: EnginePair) -> list[Any]:
    return [event for batch in pair.batches for event in batch.critical]


def test_a_request_is_held_before_the_origin_sees_it_and_goes_on_unchanged() -> None:
    async def scenario(pair: EnginePair, origin: Origin) -> None:
        await _break(pair, "path:/held")
        answer = _send(pair, "GET", f"{origin.base}/held?x=1")
        [held] = await _held(pair)
        assert held["phase"] == "request" and held["method"] == "GET"
        assert held["url"] == f"{origin.base}/held?x=1"
        await asyncio.sleep(0.2)
        assert origin.requests == [] and origin.connections == 0
        flow = pair.store.get(held["id"])
        assert flow is not None and flow.paused == "request"
        await until(lambda: pair.shown().get(held["id"]) is not None)
        await until(lambda: pair.shown()[held["id"]].is_paused, what="the row shows it held")
        assert await pair.request("resume", id=held["id"]) == {}
        result = await answer
        assert result.status == 200 and result.body == b"GET /held?x=1 "
        assert flow.state is FlowState.COMPLETE and flow.paused == "" and flow.edits == []
        assert flow.paused_total > 0.2
        await pair.caught_up()
        assert not pair.shown()[flow.id].is_paused
        kinds = [type(e) for e in _criticals(pair)]
        assert RulesChanged in kinds and FlowPaused in kinds and FlowResumed in kinds
        resumed = [e for e in _criticals(pair) if isinstance(e, FlowResumed)]
        assert resumed[0].outcome == "resumed" and resumed[0].flow_id == flow.id

    run(scenario)


def test_an_edited_post_reaches_the_origin_with_its_new_body_and_length() -> None:
    async def scenario(pair: EnginePair, origin: Origin) -> None:
        await _break(pair, "method:POST")
        headers = [(b"Content-Type", b"application/json"), (b"X-Remove", b"me")]
        answer = _send(pair, "POST", f"{origin.base}/api", b'{"a": 1}', headers=headers)
        [held] = await _held(pair)
        detail = await pair.request("paused_flow", id=held["id"])
        assert detail["body"] == b'{"a": 1}' and detail["decoded"]
        assert (b"X-Remove", b"me") in [tuple(pair) for pair in detail["headers"]]
        new_body = b'{"a": 2, "edited": true}'
        await pair.request(
            "resume",
            id=held["id"],
            method="PUT",
            url=f"{origin.base}/other?q=1",
            set_headers=[[b"X-Added", b"yes"]],
            remove_headers=[b"x-remove"],
            body=new_body,
        )
        result = await answer
        [seen] = origin.requests
        assert (seen.method, seen.target, seen.body) == (b"PUT", b"/other?q=1", new_body)
        names = {k.lower(): v for k, v in seen.headers}
        assert names[b"content-length"] == str(len(new_body)).encode()
        assert names[b"x-added"] == b"yes" and b"x-remove" not in names
        assert result.body == b"PUT /other?q=1 " + new_body
        flow = pair.store.get(held["id"])
        assert flow is not None
        assert flow.request.method == "PUT" and flow.request.target == "/other?q=1"
        assert flow.request.body == new_body
        assert flow.edits == ["request: method, URL, headers, body"]

    run(scenario)


def test_a_gzip_body_is_edited_decoded_and_sent_encoded_again() -> None:
    async def scenario(pair: EnginePair, origin: Origin) -> None:
        await _break(pair, "method:POST")
        body = gzip.compress(b"plain text")
        headers = [(b"Content-Encoding", b"gzip")]
        answer = _send(pair, "POST", f"{origin.base}/z", body, headers=headers)
        [held] = await _held(pair)
        detail = await pair.request("paused_flow", id=held["id"])
        assert detail["body"] == b"plain text" and detail["encoding"] == "gzip"
        await pair.request("resume", id=held["id"], body=b"changed text")
        await answer
        [seen] = origin.requests
        assert gzip.decompress(seen.body) == b"changed text"
        assert dict(seen.headers)[b"content-encoding"] == b"gzip"

    run(scenario)


def test_a_response_is_held_whole_edited_and_the_origin_let_go() -> None:
    async def closing(req: Received) -> Reply:
        return Reply(200, [(b"Content-Type", b"text/plain"), (b"Connection", b"close")], b"orig")

    async def scenario(pair: EnginePair, origin: Origin) -> None:
        origin.handler = closing
        await _break(pair, "status:200", on="response")
        answer = _send(pair, "GET", f"{origin.base}/r")
        [held] = await _held(pair)
        assert held["phase"] == "response" and held["status"] == 200 and not held["head_only"]
        assert len(origin.requests) == 1
        # The origin closed its connection: the proxy is holding nothing of it.
        await asyncio.sleep(0.2)
        assert not answer.done()
        await pair.request(
            "resume",
            id=held["id"],
            status=418,
            reason="Teapot",
            set_headers=[[b"X-Edited", b"1"]],
            body=b"edited body",
        )
        result = await answer
        assert result.status == 418 and result.body == b"edited body"
        assert result.header(b"x-edited") == b"1"
        assert result.header(b"content-length") == b"11"
        flow = pair.store.get(held["id"])
        assert flow is not None and flow.response is not None
        assert flow.response.status == 418 and flow.response.body == b"edited body"
        assert flow.edits == ["response: status, headers, body"]

    run(scenario)


def test_both_holds_the_request_and_then_its_response() -> None:
    async def scenario(pair: EnginePair, origin: Origin) -> None:
        await _break(pair, "path:/both", on="both", times=1)
        answer = _send(pair, "GET", f"{origin.base}/both")
        [first] = await _held(pair)
        assert first["phase"] == "request"
        await pair.request("resume", id=first["id"])
        [second] = await _held(pair)
        assert second["phase"] == "response" and second["id"] == first["id"]
        await pair.request("resume", id=second["id"])
        assert (await answer).status == 200
        [rule] = (await pair.request("rules"))["rules"]
        assert rule["hits"] == 1
        # Spent: the next flow passes.
        assert (await _send(pair, "GET", f"{origin.base}/both")).status == 200

    run(scenario)


def test_abort_answers_502_with_the_reason_and_reset_cuts_the_connection() -> None:
    async def scenario(pair: EnginePair, origin: Origin) -> None:
        await _break(pair, "path:/a")
        answer = _send(pair, "GET", f"{origin.base}/a")
        [held] = await _held(pair)
        await pair.request("abort", id=held["id"], reason="not today")
        result = await answer
        assert result.status == 502 and b"not today" in result.body
        flow = pair.store.get(held["id"])
        assert flow is not None and flow.error is not None and flow.error.kind == "aborted"

        client = await Client.connect(pair.port)  # type: ignore[attr-defined]
        request = b"GET " + f"{origin.base}/a".encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        await client.send(request)
        [held] = await _held(pair)
        await pair.request("abort", id=held["id"], reset=True)
        assert await client.closed_by_peer()
        assert await client.reader.read() == b""
        client.close()
        assert origin.requests == []

    run(scenario)


def test_resume_all_and_abort_all_let_every_held_flow_go() -> None:
    async def scenario(pair: EnginePair, origin: Origin) -> None:
        await _break(pair, "path:/many")
        answers = [_send(pair, "GET", f"{origin.base}/many") for _ in range(3)]
        held = await _held(pair, 3)
        result = await pair.request("resume_all")
        assert sorted(result["resumed"]) == sorted(h["id"] for h in held)
        assert [a.status for a in await asyncio.gather(*answers)] == [200, 200, 200]
        answers = [_send(pair, "GET", f"{origin.base}/many") for _ in range(2)]
        await _held(pair, 2)
        assert len((await pair.request("abort_all"))["aborted"]) == 2
        assert [a.status for a in await asyncio.gather(*answers)] == [502, 502]
        assert not (await pair.request("paused"))["paused"]

    run(scenario)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"set_headers": [[b"Bad Name", b"x"]]}, "invalid header name"),
        ({"set_headers": [[b"X-A", b"a\r\nb"]]}, "line breaks"),
        ({"method": "GE T"}, "invalid method"),
        ({"url": "ftp://example.com/"}, "http:// or https://"),
        ({"url": "http://exa mple.com/"}, "spaces"),
        ({"status": 404}, "only be changed on a response"),
        ({"body": "text"}, "must be bytes"),
    ],
)
def test_an_invalid_request_edit_is_refused_and_the_flow_stays_held(
    edit: dict[str, Any], message: str
) -> None:
    async def scenario(pair: EnginePair, origin: Origin) -> None:
        await _break(pair, "path:/e")
        answer = _send(pair, "GET", f"{origin.base}/e")
        [held] = await _held(pair)
        with pytest.raises(EngineError, match=message):
            await pair.request("resume", id=held["id"], **edit)
        assert (await pair.request("paused"))["paused"][0]["id"] == held["id"]
        assert origin.requests == []
        await pair.request("resume", id=held["id"])
        assert (await answer).status == 200

    run(scenario)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"status": 1000}, "200 to 999"),
        ({"status": 101}, "200 to 999"),
        ({"reason": "a\nb"}, "one line"),
    ],
)
def test_an_invalid_response_edit_is_refused(edit: dict[str, Any], message: str) -> None:
    async def scenario(pair: EnginePair, origin: Origin) -> None:
        await _break(pair, "", on="response")
        answer = _send(pair, "GET", f"{origin.base}/e")
        [held] = await _held(pair)
        with pytest.raises(EngineError, match=message):
            await pair.request("resume", id=held["id"], **edit)
        await pair.request("resume", id=held["id"])
        assert (await answer).status == 200

    run(scenario)


def test_unknown_ids_and_bad_rules_are_refused() -> None:
    async def scenario(pair: EnginePair, origin: Origin) -> None:
        for op in ("resume", "abort", "paused_flow"):
            with pytest.raises(EngineError, match="flow 99 is not paused"):
                await pair.request(op, id=99)
        with pytest.raises(EngineError, match="no rule 5"):
            await pair.request("remove_rule", id=5)
        with pytest.raises(EngineError, match="actions"):
            await pair.request("add_rule", rule={"match": "host:x"})
        with pytest.raises(EngineError, match="unknown action type 'explode'"):
            await pair.request("add_rule", rule={"match": "", "actions": [{"type": "explode"}]})
        with pytest.raises(EngineError, match="'on' must be"):
            await pair.request(
                "add_rule", rule={"actions": [{"type": "breakpoint", "on": "sideways"}]}
            )
        # Well formed but unworkable: kept, disabled with its reason.
        result = await pair.request(
            "add_rule", rule={"match": "status:500", "actions": [{"type": "breakpoint"}]}
        )
        assert "break on the response" in result["error"]
        result = await pair.request(
            "add_rule", rule={"match": "host:(", "actions": [{"type": "breakpoint"}]}
        )
        assert result["error"].startswith("match:")
        # Neither holds anything.
        assert (await _send(pair, "GET", f"{origin.base}/x")).status == 200

    run(scenario)


def test_a_client_that_leaves_while_held_ends_the_hold() -> None:
    async def scenario(pair: EnginePair, origin: Origin) -> None:
        await _break(pair, "path:/leave")
        client = await Client.connect(pair.port)  # type: ignore[attr-defined]
        await client.send(f"GET {origin.base}/leave HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        [held] = await _held(pair)
        client.close()
        flow = pair.store.get(held["id"])
        assert flow is not None
        await until(lambda: flow.finished, what="the held flow ends")
        assert flow.error is not None and flow.error.kind == "client-closed"
        assert not (await pair.request("paused"))["paused"]
        gone = [e for e in _criticals(pair) if isinstance(e, FlowResumed)]
        await until(
            lambda: any(e.outcome == "gone" for e in _criticals(pair) if isinstance(e, FlowResumed))
        )
        assert origin.requests == [] and gone is not None

    run(scenario)


def test_other_traffic_and_replays_pass_while_a_flow_is_held() -> None:
    async def scenario(pair: EnginePair, origin: Origin) -> None:
        first = await _send(pair, "GET", f"{origin.base}/held")
        assert first.status == 200
        await _break(pair, "path:/held")
        answer = _send(pair, "GET", f"{origin.base}/held")
        [held] = await _held(pair)
        others = [await _send(pair, "GET", f"{origin.base}/free/{i}") for i in range(20)]
        assert all(a.status == 200 for a in others)
        # A replay of a matching flow never stops at a breakpoint.
        original = next(f for f in pair.store if f.request.target == "/held" and f.finished)
        result = await pair.request("replay", id=original.id)
        replay = pair.store.get(result["ids"][0])
        assert replay is not None
        await until(lambda: replay.finished, what="the replay ends")
        assert replay.state is FlowState.COMPLETE
        assert len((await pair.request("paused"))["paused"]) == 1
        await pair.request("resume", id=held["id"])
        assert (await answer).status == 200

    run(scenario)


def test_a_body_term_holds_only_the_request_whose_body_matches() -> None:
    async def scenario(pair: EnginePair, origin: Origin) -> None:
        await _break(pair, "reqbody:secret")
        passed = await _send(pair, "POST", f"{origin.base}/p", b"nothing here")
        assert passed.body == b"POST /p nothing here"
        answer = _send(pair, "POST", f"{origin.base}/p", b"the secret word")
        [held] = await _held(pair)
        await pair.request("resume", id=held["id"])
        assert (await answer).body == b"POST /p the secret word"

    run(scenario)


def test_a_streamed_response_is_held_at_its_head() -> None:
    async def events(req: Received) -> Reply:
        return Reply(
            200, [(b"Content-Type", b"text/event-stream")], [b"data: 1\n\n", b"data: 2\n\n"]
        )

    async def scenario(pair: EnginePair, origin: Origin) -> None:
        origin.handler = events
        await _break(pair, "", on="response")
        answer = _send(pair, "GET", f"{origin.base}/events")
        [held] = await _held(pair)
        assert held["head_only"]
        with pytest.raises(EngineError, match="only the head"):
            await pair.request("resume", id=held["id"], body=b"x")
        await pair.request("resume", id=held["id"], set_headers=[[b"X-Seen", b"1"]])
        result = await answer
        assert result.body == b"data: 1\n\ndata: 2\n\n" and result.header(b"x-seen") == b"1"

    run(scenario)


def test_a_body_over_the_capture_limit_is_held_at_its_head_and_streams_on() -> None:
    big = bytes(range(256)) * 1024  # 256 KiB

    async def large(req: Received) -> Reply:
        return Reply(
            200, [(b"Content-Type", b"application/octet-stream")], [big[:100_000], big[100_000:]]
        )

    async def scenario(pair: EnginePair, origin: Origin) -> None:
        origin.handler = large
        await _break(pair, "", on="response")
        answer = _send(pair, "GET", f"{origin.base}/big")
        [held] = await _held(pair)
        assert held["head_only"]
        await pair.request("resume", id=held["id"], status=203)
        result = await answer
        assert result.status == 203 and result.body == big

    run(scenario, body_capture_limit=64 * 1024)


def test_disabling_and_removing_a_rule_stops_it_holding() -> None:
    async def scenario(pair: EnginePair, origin: Origin) -> None:
        rule = await _break(pair, "")
        await pair.request("update_rule", id=rule, enabled=False)
        assert (await _send(pair, "GET", f"{origin.base}/1")).status == 200
        await pair.request("update_rule", id=rule, enabled=True)
        answer = _send(pair, "GET", f"{origin.base}/2")
        [held] = await _held(pair)
        await pair.request("remove_rule", id=rule)
        assert not (await pair.request("rules"))["rules"]
        # Removing the rule leaves what it holds held.
        assert len((await pair.request("paused"))["paused"]) == 1
        await pair.request("resume", id=held["id"])
        assert (await answer).status == 200
        assert (await _send(pair, "GET", f"{origin.base}/3")).status == 200

    run(scenario)


def test_a_client_expecting_100_continue_is_told_to_send_its_body() -> None:
    async def scenario(pair: EnginePair, origin: Origin) -> None:
        await _break(pair, "method:PUT")
        client = await Client.connect(pair.port)  # type: ignore[attr-defined]
        head = (
            f"PUT {origin.base}/c HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
            "Expect: 100-continue\r\n\r\n"
        ).encode()
        await client.send(head)
        line = await asyncio.wait_for(client.reader.readuntil(b"\r\n\r\n"), 10)
        assert line.startswith(b"HTTP/1.1 100")
        await client.send(b"data")
        [held] = await _held(pair)
        detail = await pair.request("paused_flow", id=held["id"])
        assert detail["body"] == b"data"
        await pair.request("resume", id=held["id"])
        answer = await asyncio.wait_for(client.reader.readuntil(b"PUT /c data"), 10)
        assert answer.startswith(b"HTTP/1.1 200")
        client.close()

    run(scenario)


HELD_FOR = 61.0


def test_a_response_held_for_a_minute_still_reaches_its_client() -> None:
    """No timer lets a held flow go, nor drops its client's connection."""

    async def scenario(pair: EnginePair, origin: Origin) -> None:
        await _break(pair, "path:/minute", on="response")
        answer = _send(pair, "GET", f"{origin.base}/minute")
        [held] = await _held(pair)
        await asyncio.sleep(HELD_FOR)
        assert not answer.done()
        await pair.request("resume", id=held["id"], body=b"a minute later")
        result = await answer
        assert result.status == 200 and result.body == b"a minute later"
        flow = pair.store.get(held["id"])
        assert flow is not None and flow.paused_total >= HELD_FOR

    run(scenario, client_idle_timeout=5.0, response_head_timeout=5.0)
