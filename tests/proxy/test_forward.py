"""Plain HTTP forwarding: methods, bodies, headers, keep-alive, pooling."""

from __future__ import annotations

import asyncio

from inspector.core.events import FlowCreated, FlowFinished, FlowRequestHead, FlowResponseHead
from inspector.core.flow import FlowState
from tests.proxy.harness import Client, Origin, Received, Reply, run, running_proxy


def test_get_is_forwarded_in_origin_form_with_host_as_sent() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            client = await proxy.client()
            answer = await client.request(
                "GET", f"{origin.base}/path?q=1", headers=[(b"Host", b"Example.COM:1234")]
            )
            assert answer.status == 200
            assert answer.body == b"hello /path?q=1"
            [seen] = origin.requests
            assert seen.target == b"/path?q=1"
            assert (b"host", b"Example.COM:1234") in seen.headers
            client.close()
            await proxy.wait_flows(1)
            [flow] = list(proxy.store)
            assert flow.state is FlowState.COMPLETE
            assert flow.request.method == "GET"
            assert flow.request.url == f"{origin.base}/path?q=1"
            assert flow.response is not None and flow.response.status == 200
            assert flow.response.body == b"hello /path?q=1"
            assert flow.upstream_addr == ("127.0.0.1", origin.port)
            assert flow.t_end is not None and flow.t_response_start is not None
            assert flow.t_start <= flow.t_response_start <= flow.t_end
            kinds = [type(e) for e in proxy.sink.events if getattr(e, "flow_id", None) == flow.id]
            assert kinds == [FlowCreated, FlowRequestHead, FlowResponseHead, FlowFinished]

    run(scenario())


def test_hop_by_hop_headers_are_removed_both_ways() -> None:
    async def handler(req: Received) -> Reply:
        return Reply(
            200,
            [
                (b"Connection", b"X-Hop-Down"),
                (b"X-Hop-Down", b"1"),
                (b"Keep-Alive", b"timeout=5"),
                (b"X-End", b"kept"),
                (b"Content-Length", b"2"),
            ],
            b"ok",
        )

    async def scenario() -> None:
        async with Origin(handler) as origin, running_proxy() as proxy:
            client = await proxy.client()
            answer = await client.request(
                "GET",
                f"{origin.base}/",
                headers=[
                    (b"Connection", b"keep-alive, X-Hop"),
                    (b"X-Hop", b"secret"),
                    (b"Keep-Alive", b"timeout=5"),
                    (b"Proxy-Connection", b"keep-alive"),
                    (b"Proxy-Authorization", b"Basic dXNlcjpwYXNz"),
                    (b"TE", b"trailers"),
                    (b"Trailer", b"X-Foo"),
                    (b"Upgrade", b"websocket"),
                    (b"X-Kept", b"yes"),
                ],
            )
            names = {name for name, _ in origin.requests[0].headers}
            for dropped in (
                b"connection",
                b"x-hop",
                b"keep-alive",
                b"proxy-connection",
                b"proxy-authorization",
                b"te",
                b"trailer",
                b"upgrade",
            ):
                assert dropped not in names
            assert b"x-kept" in names
            assert answer.header(b"X-Hop-Down") is None
            assert answer.header(b"Keep-Alive") is None
            assert answer.header(b"X-End") == b"kept"
            assert answer.body == b"ok"
            client.close()

    run(scenario())


def test_post_with_content_length_and_chunked_bodies() -> None:
    async def echo(req: Received) -> Reply:
        return Reply(200, [(b"Content-Type", b"application/octet-stream")], req.body[::-1])

    async def scenario() -> None:
        async with Origin(echo) as origin, running_proxy() as proxy:
            client = await proxy.client()
            answer = await client.request("POST", f"{origin.base}/cl", body=b"abcdef")
            assert answer.body == b"fedcba"
            answer = await client.request(
                "POST",
                f"{origin.base}/chunked",
                headers=[(b"Transfer-Encoding", b"chunked")],
                body=b"0123456789" * 1000,
            )
            assert answer.body == (b"0123456789" * 1000)[::-1]
            assert origin.requests[1].body == b"0123456789" * 1000
            assert (b"transfer-encoding", b"chunked") in origin.requests[1].headers
            client.close()
            await proxy.wait_flows(2)
            first, second = proxy.store
            assert first.request.body == b"abcdef" and first.request.body_size == 6
            assert second.request.body_size == 10000
            assert second.response is not None and second.response.body_size == 10000

    run(scenario())


def test_chunked_response_is_relayed() -> None:
    async def chunks(req: Received) -> Reply:
        return Reply(200, [(b"Transfer-Encoding", b"chunked")], [b"one,", b"two,", b"three"])

    async def scenario() -> None:
        async with Origin(chunks) as origin, running_proxy() as proxy:
            client = await proxy.client()
            answer = await client.request("GET", f"{origin.base}/")
            assert answer.body == b"one,two,three"
            client.close()

    run(scenario())


def test_hundred_requests_on_one_client_connection_use_one_upstream_connection() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            client = await proxy.client()
            for i in range(100):
                answer = await client.request("GET", f"{origin.base}/{i}")
                assert answer.status == 200
                assert answer.body == f"hello /{i}".encode()
            assert origin.connections == 1
            assert len(origin.requests) == 100
            client.close()
            await proxy.wait_flows(100)
            assert len(proxy.store) == 100

    run(scenario())


def test_separate_clients_share_the_pool() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            for _ in range(5):
                client = await proxy.client()
                assert (await client.request("GET", f"{origin.base}/")).status == 200
                client.close()
            assert origin.connections == 1

    run(scenario())


def test_head_204_and_304_have_no_body_and_keep_the_connection() -> None:
    async def handler(req: Received) -> Reply:
        if req.target == b"/204":
            return Reply(204, [])
        if req.target == b"/304":
            return Reply(304, [(b"ETag", b'"x"')])
        return Reply(200, [(b"Content-Length", b"5")], b"hello")

    async def scenario() -> None:
        async with Origin(handler) as origin, running_proxy() as proxy:
            client = await proxy.client()
            head = await client.request("HEAD", f"{origin.base}/")
            assert head.status == 200 and head.body == b""
            assert head.header(b"Content-Length") == b"5"
            assert (await client.request("GET", f"{origin.base}/204")).status == 204
            assert (await client.request("GET", f"{origin.base}/304")).status == 304
            assert (await client.request("GET", f"{origin.base}/")).body == b"hello"
            assert origin.connections == 1
            client.close()

    run(scenario())


def test_head_answer_with_stray_bytes_is_not_reused() -> None:
    async def handler(req: Received) -> bytes | Reply:
        if req.method == b"HEAD":
            # A broken server sends a body after a HEAD answer.
            return b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
        return Reply(200, [], b"fine")

    async def scenario() -> None:
        async with Origin(handler) as origin, running_proxy() as proxy:
            client = await proxy.client()
            assert (await client.request("HEAD", f"{origin.base}/")).status == 200
            await asyncio.sleep(0.05)
            answer = await client.request("GET", f"{origin.base}/")
            assert answer.body == b"fine"
            assert origin.connections == 2
            client.close()

    run(scenario())


def test_stale_pooled_connection_is_retried_on_a_fresh_one() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            client = await proxy.client()
            assert (await client.request("GET", f"{origin.base}/a")).status == 200
            # The origin drops its idle keep-alive connection.
            for writer in list(origin._writers):
                writer.transport.abort()
            await asyncio.sleep(0.05)
            answer = await client.request("GET", f"{origin.base}/b")
            assert answer.status == 200 and answer.body == b"hello /b"
            client.close()

    run(scenario())


def test_http10_client_without_host_gets_host_added() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            client = await proxy.client()
            await client.send(f"GET {origin.base}/old HTTP/1.0\r\n\r\n".encode())
            raw = await client.read_all()
            assert raw.startswith(b"HTTP/1.1 200")
            assert raw.endswith(b"hello /old")
            assert (b"host", f"127.0.0.1:{origin.port}".encode()) in origin.requests[0].headers
            client.close()

    run(scenario())


def test_expect_100_continue_is_relayed() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(
                f"POST {origin.base}/up HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                "Expect: 100-continue\r\n\r\n".encode()
            )
            await writer.drain()
            # The origin (h11) does not send 100 itself, so the proxy waits for
            # either side; the client sends its body after a pause like curl.
            await asyncio.sleep(0.2)
            writer.write(b"data")
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            assert head.startswith(b"HTTP/1.1 200")
            assert origin.requests[0].body == b"data"
            writer.transport.abort()

    run(scenario())


def test_client_connection_is_reused_after_an_error_answer() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            client = await proxy.client()
            refused = await client.request("GET", "http://127.0.0.1:1/")
            assert refused.status == 502
            assert (await client.request("GET", f"{origin.base}/")).status == 200
            client.close()

    run(scenario())


def test_client_helper_connects() -> None:
    async def scenario() -> None:
        async with running_proxy() as proxy:
            client = await Client.connect(proxy.port)
            client.close()

    run(scenario())
