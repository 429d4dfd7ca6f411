"""Chaining to an upstream proxy: plain HTTP in absolute form over one
shared connection, HTTPS (intercepted or passed through) through CONNECT,
credentials sent to it and nowhere else, its failures as flow errors that
name it, bypassed hosts going direct, and ``http_proxy`` never used."""

from __future__ import annotations

import asyncio
import base64
import http.client
import logging
import os
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import msgpack
import pytest

from inspector.cli import main
from inspector.core.certs import CertStore
from inspector.core.flow import Flow, FlowState
from inspector.core.hostmatch import HostPatterns
from inspector.core.wire import flow_to_wire
from tests.proxy.chain_proxy import ChainProxy
from tests.proxy.harness import Origin, Proxy, Received, Reply, run, running_proxy
from tests.threaded import served

USER, PASSWORD = "alice", "pa55-w0rd-xyz"
TOKEN = base64.b64encode(f"{USER}:{PASSWORD}".encode())


def _upstream(chain: ChainProxy, credentials: bool) -> str:
    user = f"{USER}:{PASSWORD}@" if credentials else ""
    return f"http://{user}127.0.0.1:{chain.port}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _tls_handler(req: Received) -> Reply:
    return Reply(200, [(b"Content-Type", b"text/plain")], b"secret " + req.target)


def _https_get(proxy_port: int, host: str, port: int, path: str, cafile: Path) -> tuple[int, bytes]:
    context = ssl.create_default_context(cafile=str(cafile))
    conn = http.client.HTTPSConnection("127.0.0.1", proxy_port, timeout=10, context=context)
    conn.set_tunnel(host, port)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _leaks(proxy: Proxy, caplog: pytest.LogCaptureFixture) -> list[str]:
    """Where the password or its Basic token shows: flows as the window
    gets them, events, log records."""
    found = []
    for flow in proxy.store:
        packed = msgpack.packb(flow_to_wire(flow), use_bin_type=True)
        if PASSWORD.encode() in packed or TOKEN in packed:
            found.append(f"flow {flow.id}")
    for event in proxy.sink.events:
        if PASSWORD in repr(event) or TOKEN.decode() in repr(event):
            found.append(repr(event))
    if PASSWORD in caplog.text or TOKEN.decode() in caplog.text:
        found.append("log")
    return found


@pytest.mark.parametrize("credentials", [False, True])
def test_plain_http_goes_in_absolute_form_over_one_shared_connection(
    credentials: bool, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        async with Origin() as first, Origin() as second, ChainProxy() as chain:
            chain.hosts = {"one.test": "127.0.0.1", "two.test": "127.0.0.1"}
            if credentials:
                chain.credentials = (USER, PASSWORD)
            async with running_proxy(upstream_proxy=_upstream(chain, credentials)) as proxy:
                client = await proxy.client()
                a = await client.request("GET", f"http://one.test:{first.port}/a?x=1")
                b = await client.request("GET", f"http://two.test:{second.port}/b")
                client.close()
                assert (a.status, a.body) == (200, b"hello /a?x=1")
                assert (b.status, b.body) == (200, b"hello /b")
                await proxy.wait_flows(2)
                assert _leaks(proxy, caplog) == []
                flows = sorted(proxy.store, key=lambda f: f.id)
                for flow in flows:
                    assert flow.state is FlowState.COMPLETE
                    assert flow.upstream_addr == ("127.0.0.1", chain.port)
        assert [s.target for s in chain.seen] == [
            f"http://one.test:{first.port}/a?x=1".encode(),
            f"http://two.test:{second.port}/b".encode(),
        ]
        # One connection to the upstream proxy carried both origins' requests.
        assert chain.connections == 1
        assert {s.connection for s in chain.seen} == {1}
        sent = [s.header(b"proxy-authorization") for s in chain.seen]
        assert sent == ([b"Basic " + TOKEN] * 2 if credentials else [None, None])
        # The origins got origin-form requests without the proxy's credentials.
        assert first.requests[0].target == b"/a?x=1"
        for origin in (first, second):
            names = [k.lower() for k, _ in origin.requests[0].headers]
            assert b"proxy-authorization" not in names

    run(scenario())


@pytest.mark.parametrize("credentials", [False, True])
def test_intercepted_https_goes_through_connect(
    credentials: bool,
    proxy_certs: CertStore,
    upstream_certs: CertStore,
    upstream_ca_file: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        tls = upstream_certs.server_context("secure.test")
        async with Origin(_tls_handler, tls=tls) as origin, ChainProxy() as chain:
            chain.hosts = {"secure.test": "127.0.0.1"}
            if credentials:
                chain.credentials = (USER, PASSWORD)
            async with running_proxy(
                certs=proxy_certs,
                upstream_ca_file=str(upstream_ca_file),
                upstream_proxy=_upstream(chain, credentials),
            ) as proxy:
                for path in ("/one", "/two"):
                    status, body = await asyncio.to_thread(
                        _https_get,
                        proxy.port,
                        "secure.test",
                        origin.port,
                        path,
                        proxy_certs.ca_cert_path,
                    )
                    assert (status, body) == (200, b"secret " + path.encode())
                await proxy.wait_flows(4)
                inner = [f for f in proxy.store if f.tunnel_id is not None]
                assert len(inner) == 2
                for flow in inner:
                    assert flow.upstream_tls is not None and flow.upstream_tls.sni == "secure.test"
                assert _leaks(proxy, caplog) == []
        connects = [s for s in chain.seen if s.method == b"CONNECT"]
        assert connects and len(connects) == len(chain.seen)
        assert {s.target for s in connects} == {f"secure.test:{origin.port}".encode()}
        for seen in connects:
            expected = b"Basic " + TOKEN if credentials else None
            assert seen.header(b"proxy-authorization") == expected

    run(scenario())


def test_passthrough_tunnel_goes_through_connect(
    proxy_certs: CertStore, upstream_certs: CertStore
) -> None:
    async def scenario() -> None:
        tls = upstream_certs.server_context("secure.test")
        async with Origin(_tls_handler, tls=tls) as origin, ChainProxy() as chain:
            chain.hosts = {"secure.test": "127.0.0.1"}
            chain.credentials = (USER, PASSWORD)
            async with running_proxy(
                certs=proxy_certs,
                ignore=HostPatterns.parse("secure.test"),
                upstream_proxy=_upstream(chain, True),
            ) as proxy:
                status, body = await asyncio.to_thread(
                    _https_get,
                    proxy.port,
                    "secure.test",
                    origin.port,
                    "/p",
                    upstream_certs.ca_cert_path,
                )
                assert (status, body) == (200, b"secret /p")
                await proxy.wait_flows(1)
                [tunnel] = list(proxy.store)
                assert tunnel.tunnel is not None and tunnel.tunnel.mode == "passthrough"
        [seen] = chain.seen
        assert (seen.method, seen.target) == (b"CONNECT", f"secure.test:{origin.port}".encode())
        assert seen.header(b"proxy-authorization") == b"Basic " + TOKEN

    run(scenario())


def test_wrong_credentials_are_a_502_naming_the_upstream_proxy(
    proxy_certs: CertStore,
    upstream_certs: CertStore,
    upstream_ca_file: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        tls = upstream_certs.server_context("secure.test")
        async with (
            Origin() as plain,
            Origin(_tls_handler, tls=tls) as secure,
            ChainProxy() as chain,
        ):
            chain.hosts = {"plain.test": "127.0.0.1", "secure.test": "127.0.0.1"}
            chain.credentials = (USER, "something else")
            async with running_proxy(
                certs=proxy_certs,
                upstream_ca_file=str(upstream_ca_file),
                upstream_proxy=_upstream(chain, True),
            ) as proxy:
                client = await proxy.client()
                answer = await client.request("GET", f"http://plain.test:{plain.port}/x")
                client.close()
                status, body = await asyncio.to_thread(
                    _https_get,
                    proxy.port,
                    "secure.test",
                    secure.port,
                    "/y",
                    proxy_certs.ca_cert_path,
                )
                expected = f"upstream proxy {chain.authority} answered 407: authentication required"
                for got_status, got_body in ((answer.status, answer.body), (status, body)):
                    assert got_status == 502
                    assert expected.encode() in got_body
                await proxy.wait_flows(3)
                failed = [f for f in proxy.store if f.request.method == "GET"]
                assert len(failed) == 2
                for flow in failed:
                    assert flow.state is FlowState.FAILED
                    assert flow.error is not None and flow.error.kind == "upstream-proxy-auth"
                    assert flow.error.message.startswith(expected)
                assert _leaks(proxy, caplog) == []
                assert plain.requests == [] and secure.requests == []

    run(scenario())


def test_upstream_proxy_refusing_connect_is_named(
    proxy_certs: CertStore, upstream_certs: CertStore, upstream_ca_file: Path
) -> None:
    async def scenario() -> None:
        tls = upstream_certs.server_context("secure.test")
        async with Origin(_tls_handler, tls=tls) as origin, ChainProxy() as chain:
            chain.refuse_connect = (403, b"Forbidden")
            async with running_proxy(
                certs=proxy_certs,
                upstream_ca_file=str(upstream_ca_file),
                upstream_proxy=_upstream(chain, False),
            ) as proxy:
                status, body = await asyncio.to_thread(
                    _https_get,
                    proxy.port,
                    "secure.test",
                    origin.port,
                    "/",
                    proxy_certs.ca_cert_path,
                )
                message = (
                    f"upstream proxy {chain.authority} refused CONNECT to "
                    f"secure.test:{origin.port}: 403 Forbidden"
                )
                assert status == 502 and message.encode() in body
                await proxy.wait_flows(2)
                [inner] = [f for f in proxy.store if f.tunnel_id is not None]
                assert inner.error is not None and inner.error.message == message

    run(scenario())


def test_upstream_proxy_down_is_a_clear_error(proxy_certs: CertStore) -> None:
    async def scenario() -> None:
        port = _free_port()
        async with (
            Origin() as origin,
            running_proxy(
                certs=proxy_certs,
                ignore=HostPatterns.parse("pass.test"),
                upstream_proxy=f"http://{USER}:{PASSWORD}@127.0.0.1:{port}",
            ) as proxy,
        ):
            client = await proxy.client()
            answer = await client.request("GET", f"http://origin.test:{origin.port}/")
            client.close()
            message = f"upstream proxy 127.0.0.1:{port} refused the connection"
            assert answer.status == 502 and message.encode() in answer.body
            assert PASSWORD.encode() not in answer.body
            # A passthrough tunnel fails the same way.
            raw = await proxy.client()
            await raw.send(b"CONNECT pass.test:443 HTTP/1.1\r\nHost: pass.test:443\r\n\r\n")
            await raw.send(b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00")
            await raw.read_all()
            raw.close()
            await proxy.wait_flows(2)
            errors = sorted(f.error.message for f in proxy.store if f.error is not None)
            assert errors == [message, message]
            assert origin.requests == []

    run(scenario())


def test_bypassed_hosts_go_direct() -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    async def scenario() -> None:
        async with Origin() as origin, ChainProxy() as chain:
            chain.hosts = {"far.test": "127.0.0.1"}
            upstream = _upstream(chain, False)
            # The default: loopback addresses and localhost go direct.
            async with running_proxy(upstream_proxy=upstream) as proxy:
                client = await proxy.client()
                for host in ("127.0.0.1", "localhost"):
                    answer = await client.request("GET", f"http://{host}:{origin.port}/d")
                    assert answer.status == 200
                client.close()
            assert chain.seen == []
            async with running_proxy(
                resolve, upstream_proxy=upstream, upstream_bypass="near.test, *.lan"
            ) as proxy:
                client = await proxy.client()
                for host in ("near.test", "box.lan", "far.test"):
                    answer = await client.request("GET", f"http://{host}:{origin.port}/{host}")
                    assert answer.status == 200
                client.close()
            assert [s.target for s in chain.seen] == [
                f"http://far.test:{origin.port}/far.test".encode()
            ]
            # Empty: everything goes through the upstream proxy, loopback too.
            async with running_proxy(upstream_proxy=upstream, upstream_bypass="") as proxy:
                client = await proxy.client()
                answer = await client.request("GET", f"http://127.0.0.1:{origin.port}/all")
                client.close()
                assert answer.status == 200
            assert chain.seen[-1].target == f"http://127.0.0.1:{origin.port}/all".encode()

    run(scenario())


def test_http_proxy_in_the_environment_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario() -> None:
        async with Origin() as origin, ChainProxy() as trap:
            for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
                monkeypatch.setenv(name, f"http://127.0.0.1:{trap.port}")
            monkeypatch.setenv("no_proxy", "")
            async with running_proxy(upstream_bypass="") as proxy:
                client = await proxy.client()
                answer = await client.request("GET", f"http://127.0.0.1:{origin.port}/direct")
                client.close()
                assert (answer.status, answer.body) == (200, b"hello /direct")
            assert trap.seen == [] and trap.connections == 0
            assert len(origin.requests) == 1

    run(scenario())


# Headless, as a user runs it: the upstream proxy from the environment.


@asynccontextmanager
async def _server_set() -> AsyncIterator[tuple[int, ChainProxy, ChainProxy]]:
    async with Origin() as origin, ChainProxy() as chain, ChainProxy() as trap:
        chain.hosts = {"site.test": "127.0.0.1"}
        chain.credentials = (USER, PASSWORD)
        yield origin.port, chain, trap


@contextmanager
def _servers() -> Iterator[tuple[int, ChainProxy, ChainProxy]]:
    """An origin, the upstream proxy and a trap proxy (for http_proxy) on
    a background thread's loop."""
    with served(_server_set) as servers:
        yield servers


def _get(proxy_port: int, url: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=10)
    try:
        conn.request("GET", url)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_headless_takes_the_upstream_proxy_from_its_variable_and_keeps_secrets(
    tmp_path: Path,
) -> None:
    session = tmp_path / "capture.session"
    with _servers() as (origin_port, chain, trap):
        env = dict(os.environ)
        env["INSPECTOR_UPSTREAM_PROXY"] = _upstream(chain, True)
        for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "all_proxy"):
            env[name] = f"http://127.0.0.1:{trap.port}"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "inspector",
                "--headless",
                "--listen",
                "127.0.0.1:0",
                "--confdir",
                str(tmp_path / "conf"),
                "--session",
                str(session),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line.startswith("listening on 127.0.0.1:"), line
            port = int(line.rsplit(":", 1)[1])
            assert _get(port, f"http://site.test:{origin_port}/via") == (200, b"hello /via")
            assert PASSWORD not in " ".join(
                subprocess.run(
                    ["ps", "-o", "args=", "-p", str(proc.pid)],
                    capture_output=True,
                    text=True,
                    check=False,
                ).stdout.split()
            )
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert [s.target for s in chain.seen] == [f"http://site.test:{origin_port}/via".encode()]
        assert chain.seen[0].header(b"proxy-authorization") == b"Basic " + TOKEN
        assert trap.connections == 0
    assert f"site.test:{origin_port}/via -> 200" in out
    har = tmp_path / "capture.har"
    assert main(["har", "export", str(session), str(har), "--include-secrets"]) == 0
    for name, data in (
        ("stdout", out.encode()),
        ("stderr", err.encode()),
        ("session", b"".join(p.read_bytes() for p in tmp_path.glob("capture.session*"))),
        ("har", har.read_bytes()),
    ):
        assert PASSWORD.encode() not in data, name
        assert TOKEN not in data, name


def test_a_bad_upstream_proxy_variable_is_one_line_without_the_password() -> None:
    env = dict(os.environ, INSPECTOR_UPSTREAM_PROXY=f"https://{USER}:{PASSWORD}@proxy.test")
    done = subprocess.run(
        [sys.executable, "-m", "inspector", "--headless", "--listen", "127.0.0.1:0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("inspector: invalid INSPECTOR_UPSTREAM_PROXY: ")
    assert len(done.stderr.splitlines()) == 1
    assert PASSWORD not in done.stderr


def _flow_errors(flows: list[Flow]) -> list[str]:
    return [f.error.message for f in flows if f.error is not None]


def test_upstream_errors_show_in_logs_without_credentials(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        port = _free_port()
        caplog.set_level(logging.DEBUG)
        async with running_proxy(
            upstream_proxy=f"http://{USER}:{PASSWORD}@127.0.0.1:{port}", upstream_bypass=""
        ) as proxy:
            client = await proxy.client()
            answer = await client.request("GET", "http://127.0.0.1:9/")
            client.close()
            assert answer.status == 502
            await proxy.wait_flows(1)
            assert _flow_errors(list(proxy.store)) == [
                f"upstream proxy 127.0.0.1:{port} refused the connection"
            ]
            assert _leaks(proxy, caplog) == []

    run(scenario())
