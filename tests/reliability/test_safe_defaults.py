"""Safe defaults: a loopback-only listener unless asked otherwise, loop
detection by address and port, pages that escape what they echo, error
answers that are never HTML, and "copy as curl" quoting every field.
(The CA key's 0600 mode is tests/core/test_ca.py's; --auth is
test_auth.py's.)"""

from __future__ import annotations

import asyncio
import html
import ipaddress
import shlex
import socket

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from inspector.cli import build_parser, settings_from
from inspector.core import onboarding
from inspector.core.curl import as_curl, printable_text
from inspector.core.flow import Flow, Request
from inspector.core.settings import ProxySettings, Settings
from inspector.core.sinks import ListSink
from inspector.core.store import FlowStore
from inspector.proxy import pages
from inspector.proxy.errors import UpstreamError
from inspector.proxy.server import ProxyServer
from tests.proxy.harness import Origin, run, running_proxy
from tests.reliability.helpers import exchange, parse_responses

MARKER = "<script>alert('x')</script>"
"""Client-controlled text that must never come back as markup."""


# Loopback by default.


def test_every_default_listens_on_loopback_only() -> None:
    assert ProxySettings().listen_host == "127.0.0.1"
    assert not ProxySettings().allow_remote
    assert Settings().proxy.listen_host == "127.0.0.1"
    cli = settings_from(build_parser().parse_args([]))
    assert (cli.listen_host, cli.listen_port, cli.allow_remote) == ("127.0.0.1", 8080, False)


def _outward_address() -> str | None:
    """This machine's address on its default route, if it has one (a UDP
    connect only picks a route; nothing is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if ipaddress.ip_address(address).is_loopback else address


def test_default_listener_is_unreachable_from_other_addresses() -> None:
    async def scenario() -> None:
        server = ProxyServer(ProxySettings(listen_port=0), FlowStore(), ListSink())
        host, port = await server.start()
        try:
            assert ipaddress.ip_address(host).is_loopback
            outward = _outward_address()
            if outward is None:
                pytest.skip("no non-loopback address to try")
            with socket.socket() as probe:
                probe.settimeout(5)
                assert probe.connect_ex((outward, port)) != 0
        finally:
            await server.stop()

    run(scenario())


# Loop detection by address and port.


def test_connect_to_the_proxy_itself_is_a_loop_without_connecting() -> None:
    async def scenario() -> None:
        async with running_proxy(tunnel_peek_timeout=0.1) as proxy:
            most = 0
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(f"CONNECT 127.0.0.1:{proxy.port} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            writer.write(b"\x00raw bytes, not TLS nor HTTP")
            await writer.drain()
            async with asyncio.timeout(10):
                while not any(f.finished for f in proxy.store):
                    most = max(most, proxy.server.connection_count)
                    await asyncio.sleep(0.005)
            writer.transport.abort()
            [tunnel] = proxy.store
            assert tunnel.error is not None and tunnel.error.kind == "loop"
            assert most == 1  # only the test client ever connected
            del reader

    run(scenario())


def test_same_address_other_port_is_not_a_loop() -> None:
    async def scenario() -> None:
        async with Origin() as origin, running_proxy() as proxy:
            client = await proxy.client()
            for host in ("127.0.0.1", "localhost"):
                answer = await client.request("GET", f"http://{host}:{origin.port}/x")
                assert (answer.status, answer.body) == (200, b"hello /x")
                looped = await client.request("GET", f"http://{host}:{proxy.port}/x")
                assert looped.status == 508
            client.close()

    run(scenario())


def test_loop_detection_matches_the_bound_address_and_port() -> None:
    async def scenario() -> None:
        server = ProxyServer(ProxySettings(listen_port=0), FlowStore(), ListSink())
        await server.start()
        try:
            port = server.address[1]
            assert server.is_self("127.0.0.1", port)
            assert not server.is_self("127.0.0.1", port + 1)
            assert not server.is_self("127.0.0.2", port)  # not bound there
            assert not server.is_self("::1", port)
        finally:
            await server.stop()

    run(scenario())


# Pages the proxy serves itself, and its error answers.


@pytest.mark.parametrize(
    "request_bytes",
    [
        f"GET / HTTP/1.1\r\nHost: {MARKER}\r\nConnection: close\r\n\r\n",
        f"GET /{MARKER} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        f"GET /?q={MARKER} HTTP/1.1\r\nHost: x\r\nUser-Agent: {MARKER}\r\n"
        "Connection: close\r\n\r\n",
        f"GET http://inspector.invalid/?{MARKER} HTTP/1.1\r\nHost: {MARKER}\r\n"
        "Connection: close\r\n\r\n",
        f"GET http://inspector.invalid/{MARKER} HTTP/1.1\r\nHost: inspector.invalid\r\n"
        f"Referer: {MARKER}\r\nConnection: close\r\n\r\n",
    ],
    ids=["help-host", "help-path", "help-query-agent", "onboarding-host", "onboarding-path"],
)
def test_html_pages_never_echo_client_text_unescaped(request_bytes: str) -> None:
    async def scenario() -> None:
        async with running_proxy() as proxy:
            raw = await exchange(proxy.port, request_bytes.encode("latin-1"))
            [answer] = parse_responses(raw, ["GET"])
            assert answer.status in (200, 404)
            assert answer.header(b"Content-Type") == b"text/html; charset=utf-8"
            assert b"<script" not in answer.body
            assert b"alert(" not in answer.body or html.escape(MARKER).encode() in answer.body

    run(scenario())


async def _no_dns(host: str, port: int) -> list[str]:
    raise UpstreamError(502, "dns", f"DNS lookup for {host} failed: Name or service not known")


@pytest.mark.parametrize(
    "request_bytes",
    [
        f"GET http://{MARKER}/ HTTP/1.1\r\nHost: x\r\n\r\n",
        f"GET http://a{MARKER.replace('/', '')}/ HTTP/1.1\r\nHost: x\r\n\r\n",
        f"GET {MARKER}://x/ HTTP/1.1\r\nHost: x\r\n\r\n",
        f"CONNECT {MARKER}:443 HTTP/1.1\r\nHost: x\r\n\r\n",
        f"GET http://x:{MARKER}/ HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
    ids=["host", "host-dns-error", "scheme", "connect-authority", "port"],
)
def test_error_answers_echoing_client_text_are_plain_text(request_bytes: str) -> None:
    """Error answers quote the offending input so the user sees what went
    wrong; they must therefore never be served as HTML."""

    async def scenario() -> None:
        async with running_proxy(resolver=_no_dns) as proxy:
            client = await proxy.client()
            await client.send(request_bytes.encode("latin-1"))
            answer = await client.read_answer()
            client.close()
            assert answer.status in (400, 501, 502)
            assert answer.header(b"Content-Type") == b"text/plain; charset=utf-8"
            assert b"alert" in answer.body  # the input is quoted, as text

    run(scenario())


def test_page_builders_escape_what_they_are_given() -> None:
    evil = f'"><img src=x onerror=1>{MARKER}'
    for page in (
        pages.help_page(evil),
        onboarding.page(evil, evil),
        onboarding.page(None, evil),
    ):
        assert evil.encode() not in page
        assert b"<script" not in page and b"<img" not in page
        assert html.escape(evil).encode() in page


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET / HTTP/1.0\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET http://inspector.invalid/ HTTP/1.0\r\n\r\n",
    ],
    ids=["http-1.0", "connection-close", "onboarding-http-1.0"],
)
def test_proxy_pages_answer_clients_that_close_after_one_request(request_bytes: bytes) -> None:
    """Regression: a complete request from a client that asked to close
    (HTTP/1.0, Connection: close) was refused as "requests to the proxy
    take no body"."""

    async def scenario() -> None:
        async with running_proxy() as proxy:
            raw = await exchange(proxy.port, request_bytes)
            [answer] = parse_responses(raw, ["GET"])
            assert answer.status == 200, answer.body
            assert answer.header(b"Content-Type") == b"text/html; charset=utf-8"

    run(scenario())


# Copy as curl.

TEXT = st.text(
    alphabet=st.characters(min_codepoint=1, max_codepoint=0xFF, exclude_characters="\r\n"),
    max_size=40,
)
NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-ABCXYZ0123456789!#$%&'*+.^_`|~", min_size=1)


@given(
    method=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ-_!$'`;&|", min_size=1, max_size=12),
    path=TEXT,
    host_header=TEXT,
    headers=st.lists(st.tuples(NAME, TEXT), max_size=5),
    body=st.text(alphabet=st.characters(min_codepoint=1, exclude_categories=["Cs"]), max_size=40),
    secret=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=12, max_size=16),
)
def test_copy_as_curl_quotes_every_field(
    method: str,
    path: str,
    host_header: str,
    headers: list[tuple[str, str]],
    body: str,
    secret: str,
) -> None:
    """Whatever a field holds, a shell splits the command back into exactly
    the original fields, and proxy credentials never appear."""
    assume(secret not in method + path + host_header + body + repr(headers))
    raw_headers = [(b"Host", host_header.encode("latin-1"))]
    raw_headers += [(n.encode(), v.encode("latin-1")) for n, v in headers]
    raw_headers.append((b"PROXY-AUTHORIZATION", f"Basic {secret}".encode()))
    request = Request(
        method=method,
        host="example.com",
        port=80,
        target="/" + path,
        headers=raw_headers,
        body=body.encode(),
    )
    command = as_curl(Flow(1, ("127.0.0.1", 1), request))
    assert secret not in command
    argv = shlex.split(command)
    piped = None
    if argv[0] == "printf":
        # A body a shell argument cannot carry goes through printf, byte
        # for byte, into curl's standard input.
        assert argv[2] == "|" and printable_text(body.encode()) is None
        piped, argv = _printf_bytes(argv[1]), argv[3:]
        assert piped == body.encode()
    assert argv[0] == "curl"
    rest = argv[1:]
    if method != "GET" or body:
        assert rest[:2] == ["-X", method]
        rest = rest[2:]
    assert rest[0] == request.url
    rest = rest[1:]
    expected: list[str] = []
    if host_header != "example.com":
        expected += ["-H", f"Host: {host_header}"]
    skipped = {"host", "content-length", "transfer-encoding", "proxy-authorization"}
    skipped |= {"connection", "keep-alive", "proxy-connection", "proxy-authenticate"}
    skipped |= {"te", "trailer", "upgrade"}
    for name, value in headers:
        if name.lower() not in skipped:
            expected += ["-H", f"{name}: {value}"]
    if body:
        expected += ["--data-binary", "@-" if piped is not None else body]
    assert rest == expected


def _printf_bytes(fmt: str) -> bytes:
    """What ``printf FMT`` writes, for the escapes ``printf_format`` uses."""
    out, i = bytearray(), 0
    while i < len(fmt):
        char = fmt[i]
        if char == "\\" and fmt[i + 1] == "\\":
            out += b"\\"
            i += 2
        elif char == "\\":
            out.append(int(fmt[i + 1 : i + 4], 8))
            i += 4
        elif char == "%" and fmt[i + 1] == "%":
            out += b"%"
            i += 2
        else:
            out += char.encode()
            i += 1
    return bytes(out)
