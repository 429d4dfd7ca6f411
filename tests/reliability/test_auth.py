"""Optional proxy authentication (``--auth USER:PASS``): 407 with a Basic
challenge for every request without the right credentials, CONNECT and
requests to the proxy itself included; a constant-time comparison; and the
credentials never forwarded, never kept on a flow, never exported."""

from __future__ import annotations

import asyncio
import base64
import hmac
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from inspector.cli import build_parser, options_from, settings_from
from inspector.core.curl import as_curl
from inspector.core.flow import FlowState
from inspector.proxy import auth
from tests.proxy.harness import Origin, run, running_proxy
from tests.reliability.helpers import exchange, parse_responses, status_of
from tests.test_headless import headless

USER, PASSWORD = "alice", "s3cret:with:colons"
CREDENTIALS = f"{USER}:{PASSWORD}"


def _basic(credentials: str, scheme: str = "Basic") -> tuple[bytes, bytes]:
    token = base64.b64encode(credentials.encode()).decode()
    return (b"Proxy-Authorization", f"{scheme} {token}".encode())


GOOD = _basic(CREDENTIALS)


def _assert_challenged(raw: bytes, message: bytes) -> None:
    assert status_of(raw) == 407, raw
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b'\r\nProxy-Authenticate: Basic realm="Inspector"\r\n' in head + b"\r\n"
    assert body.startswith(message)


# The check itself.


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (GOOD, True),
        (_basic(CREDENTIALS, "basic"), True),
        (_basic(CREDENTIALS, "BASIC"), True),
        ((b"proxy-authorization", GOOD[1]), True),
        (_basic("alice:wrong"), False),
        (_basic(CREDENTIALS + "x"), False),
        (_basic(CREDENTIALS[:-1]), False),
        (_basic("bob:" + PASSWORD), False),
        (_basic(""), False),
        (_basic(CREDENTIALS, "Bearer"), False),
        ((b"Proxy-Authorization", b"Basic"), False),
        ((b"Proxy-Authorization", b"Basic !!!notbase64!!!"), False),
        ((b"Authorization", GOOD[1]), False),
    ],
)
def test_is_authorized(header: tuple[bytes, bytes], expected: bool) -> None:
    assert auth.is_authorized([(b"Host", b"x"), header], CREDENTIALS) is expected


def test_missing_header_is_not_authorized() -> None:
    assert not auth.is_authorized([(b"Host", b"x")], CREDENTIALS)


def test_credentials_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison goes through hmac.compare_digest, on equal-length
    digests, so neither a prefix nor the length of the password leaks."""
    calls: list[tuple[bytes, bytes]] = []
    compare = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return compare(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    assert auth.is_authorized([GOOD], CREDENTIALS)
    assert not auth.is_authorized([_basic("a")], CREDENTIALS)
    assert not auth.is_authorized([_basic("x" * 1000)], CREDENTIALS)
    assert len(calls) == 3
    assert all(len(a) == len(b) == 32 for a, b in calls)
    assert all(CREDENTIALS.encode() not in a + b for a, b in calls)


@pytest.mark.parametrize("text", ["user:pass", "u:", "u:p:q", "üser:pässword"])
def test_parse_credentials_accepts(text: str) -> None:
    assert auth.parse_credentials(text) == text


@pytest.mark.parametrize("text", ["", "userpass", ":pass", "user:pa\nss", "us\x00er:p"])
def test_parse_credentials_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="--auth"):
        auth.parse_credentials(text)


def test_redact_keeps_the_scheme_only() -> None:
    headers = [(b"Host", b"x"), GOOD, (b"X-Other", b"1")]
    assert auth.redact(headers) == [
        (b"Host", b"x"),
        (b"Proxy-Authorization", b"Basic [redacted]"),
        (b"X-Other", b"1"),
    ]
    clean = [(b"Host", b"x")]
    assert auth.redact(clean) is clean


# Through the proxy.


def test_missing_credentials_get_407_and_a_flow() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy(proxy_auth=CREDENTIALS) as proxy:
            raw = await exchange(
                proxy.port,
                f"GET {origin.base}/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode(),
            )
            _assert_challenged(raw, b"proxy authentication required")
            assert origin.connections == 0
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.state is FlowState.FAILED
            assert flow.error is not None and flow.error.kind == "auth"
            assert flow.response is not None and flow.response.status == 407
            assert flow.response.header(b"Proxy-Authenticate") == b'Basic realm="Inspector"'

    run(scenario())


@pytest.mark.parametrize(
    "header",
    [_basic("alice:wrong"), _basic(CREDENTIALS, "Digest"), (b"Proxy-Authorization", b"Basic")],
    ids=["wrong-password", "other-scheme", "empty-token"],
)
def test_wrong_credentials_get_407(header: tuple[bytes, bytes]) -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy(proxy_auth=CREDENTIALS) as proxy:
            client = await proxy.client()
            answer = await client.request("GET", f"{origin.base}/x", headers=[header])
            assert answer.status == 407
            assert answer.body == b"wrong proxy credentials\n"
            assert answer.header(b"Proxy-Authenticate") == b'Basic realm="Inspector"'
            assert origin.connections == 0
            # Basic authentication is per request: the same connection may
            # retry with the right credentials.
            again = await client.request("GET", f"{origin.base}/x", headers=[GOOD])
            assert (again.status, again.body) == (200, b"hello /x")
            # And every request needs them, not just the first.
            third = await client.request("GET", f"{origin.base}/y")
            assert third.status == 407
            client.close()
            await proxy.wait_flows(3)
            kinds = [f.error.kind if f.error else None for f in proxy.store]
            assert kinds == ["auth", None, "auth"]

    run(scenario())


def test_right_credentials_are_consumed_never_forwarded_kept_or_exported() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy(proxy_auth=CREDENTIALS) as proxy:
            client = await proxy.client()
            answer = await client.request(
                "POST", f"{origin.base}/p", headers=[GOOD, (b"X-Keep", b"1")], body=b"data"
            )
            assert (answer.status, answer.body) == (200, b"hello /p")
            client.close()
            [received] = origin.requests
            assert (b"x-keep", b"1") in received.headers
            assert not any(name == b"proxy-authorization" for name, _ in received.headers)
            await proxy.wait_flows(1)
            [flow] = proxy.store
            assert flow.state is FlowState.COMPLETE
            token = GOOD[1].split()[1]
            assert (b"Proxy-Authorization", b"Basic [redacted]") in flow.request.headers
            assert not any(token in value for _, value in flow.request.headers)
            command = as_curl(flow)
            assert token.decode() not in command and PASSWORD not in command
            assert "Proxy-Authorization" not in command and "X-Keep: 1" in command

    run(scenario())


def test_a_refused_request_body_is_never_read_as_a_request() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy(proxy_auth=CREDENTIALS) as proxy:
            smuggled = f"GET {origin.base}/smuggled HTTP/1.1\r\nHost: x\r\n".encode() + b": ".join(
                GOOD
            )
            raw = await exchange(
                proxy.port,
                [
                    f"POST {origin.base}/ HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                    "\r\n".encode(),
                    smuggled + b"\r\n\r\n",
                ],
            )
            _assert_challenged(raw, b"proxy authentication required")
            assert b"Connection: close" in raw
            assert raw.count(b"HTTP/1.1 ") == 1
            assert origin.connections == 0

    run(scenario())


def test_connect_needs_credentials_and_the_tunnel_inside_does_not() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy(proxy_auth=CREDENTIALS) as proxy:
            connect = f"CONNECT 127.0.0.1:{origin.port} HTTP/1.1\r\nHost: x\r\n"
            raw = await exchange(proxy.port, (connect + "\r\n").encode())
            _assert_challenged(raw, b"proxy authentication required")
            assert origin.connections == 0

            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(connect.encode() + b": ".join(GOOD) + b"\r\n\r\n")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            assert head.startswith(b"HTTP/1.1 200 ")
            # Plain HTTP inside the tunnel; a Proxy-Authorization sent in
            # there is still consumed, not passed on.
            writer.write(
                b"GET /inner HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                + b": ".join(_basic("in:side"))
                + b"\r\n\r\n"
            )
            inner = await asyncio.wait_for(reader.read(-1), 10)
            writer.transport.abort()
            [answer] = parse_responses(inner, ["GET"])
            assert (answer.status, answer.body) == (200, b"hello /inner")
            [received] = origin.requests
            assert not any(name == b"proxy-authorization" for name, _ in received.headers)
            await proxy.wait_flows(3)
            refused, tunnel, inside = proxy.store
            assert refused.error is not None and refused.error.kind == "auth"
            assert tunnel.request.method == "CONNECT" and tunnel.error is None
            assert inside.tunnel_id == tunnel.id and inside.error is None

    run(scenario())


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        b"GET http://inspector.invalid/ HTTP/1.1\r\nHost: inspector.invalid\r\n"
        b"Connection: close\r\n\r\n",
    ],
    ids=["help-page", "onboarding"],
)
def test_pages_served_by_the_proxy_itself_need_credentials(request_bytes: bytes) -> None:
    async def scenario() -> None:
        async with running_proxy(proxy_auth=CREDENTIALS) as proxy:
            raw = await exchange(proxy.port, request_bytes)
            _assert_challenged(raw, b"proxy authentication required")
            with_auth = request_bytes.replace(b"\r\n\r\n", b"\r\n" + b": ".join(GOOD) + b"\r\n\r\n")
            assert status_of(await exchange(proxy.port, with_auth)) == 200

    run(scenario())


def test_without_auth_configured_nothing_is_asked() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            client = await proxy.client()
            assert (await client.request("GET", f"{origin.base}/")).status == 200
            client.close()

    run(scenario())


# The command line.


def test_auth_option_sets_the_credentials() -> None:
    args = build_parser().parse_args(["--auth", CREDENTIALS])
    assert settings_from(args).proxy_auth == CREDENTIALS
    assert settings_from(build_parser().parse_args([])).proxy_auth is None
    with pytest.raises(ValueError, match="USER:PASS"):
        settings_from(build_parser().parse_args(["--auth", "nocolon"]))


def test_auth_reaches_the_desktop_app_settings(tmp_path: Path) -> None:
    args = build_parser().parse_args(["--auth", CREDENTIALS, "--confdir", str(tmp_path)])
    options = options_from(args, listen_given=False)
    assert options.settings.proxy.proxy_auth == CREDENTIALS


def _fetch(proxy_url: str, url: str) -> int:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy_url}))
    try:
        with opener.open(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        err.close()
        return err.code


def test_headless_with_auth_end_to_end() -> None:
    async def scenario() -> None:
        async with Origin() as origin:
            with headless("--auth", CREDENTIALS, "--no-intercept") as (proc, port):
                assert (
                    await asyncio.to_thread(_fetch, f"http://127.0.0.1:{port}", f"{origin.base}/")
                    == 407
                )
                good = f"http://{USER}:{PASSWORD.replace(':', '%3A')}@127.0.0.1:{port}"
                assert await asyncio.to_thread(_fetch, good, f"{origin.base}/") == 200
                assert len(origin.requests) == 1

    run(scenario())


def test_bad_auth_option_is_one_line_and_exit_2() -> None:
    from tests.test_headless import _start

    proc = _start("--headless", "--listen", "127.0.0.1:0", "--auth", "nocolon")
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 2
    assert err.count("\n") == 1 and "--auth takes USER:PASS" in err, err


def test_credentials_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """``INSPECTOR_AUTH`` keeps them out of ``ps``; ``--auth`` wins over it."""
    monkeypatch.setenv("INSPECTOR_AUTH", CREDENTIALS)
    assert settings_from(build_parser().parse_args([])).proxy_auth == CREDENTIALS
    args = build_parser().parse_args(["--auth", "bob:other"])
    assert settings_from(args).proxy_auth == "bob:other"
    monkeypatch.setenv("INSPECTOR_AUTH", "nocolon")
    with pytest.raises(ValueError, match="INSPECTOR_AUTH takes USER:PASS"):
        settings_from(build_parser().parse_args([]))
    monkeypatch.setenv("INSPECTOR_AUTH", "")
    assert settings_from(build_parser().parse_args([])).proxy_auth is None


def test_headless_with_auth_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSPECTOR_AUTH", CREDENTIALS)

    async def scenario() -> None:
        async with Origin() as origin:
            with headless("--no-intercept") as (proc, port):
                assert CREDENTIALS not in " ".join(proc.args)  # type: ignore[arg-type]
                assert (
                    await asyncio.to_thread(_fetch, f"http://127.0.0.1:{port}", f"{origin.base}/")
                    == 407
                )

    run(scenario())
