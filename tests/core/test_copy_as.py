"""Copy as: curl (binary-safe, round trip through the composer's reader,
and byte-identical through a real curl), HTTPie, Python requests, fetch,
raw request and response."""

from __future__ import annotations

import ast
import http.server
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from typing import ClassVar

import pytest

from inspector.core.copy_as import (
    GENERATORS,
    as_fetch,
    as_httpie,
    as_requests,
    raw_request,
    raw_response,
)
from inspector.core.curl import as_curl, parse_curl
from inspector.core.flow import Flow, Request, Response
from inspector.core.shell_words import split_words

BINARY = bytes(range(256)) + b"%s %% ' \" \\ $HOME `id` \x00 end\n"


def _flow(method: str = "POST", body: bytes = BINARY, port: int = 80, **extra: bytes) -> Flow:
    headers = [
        (b"Host", f"api.test:{port}".encode() if port != 80 else b"api.test"),
        (b"Content-Type", b"application/octet-stream"),
        (b"X-Quote", b"it's $HOME"),
        (b"Content-Length", str(len(body)).encode()),
        (b"Proxy-Authorization", b"Basic c2VjcmV0"),
    ]
    headers += [(name.replace("_", "-").encode(), value) for name, value in extra.items()]
    request = Request(
        method=method, host="api.test", port=port, target="/up?a=1&b=$x", headers=headers
    )
    request.body, request.body_size = body, len(body)
    flow = Flow(1, ("127.0.0.1", 1), request)
    flow.response = Response(
        status=201, reason="Created", headers=[(b"Content-Type", b"text/plain")], body=b"made\n"
    )
    return flow


def test_curl_never_carries_a_raw_nul_or_control_byte() -> None:
    command = as_curl(_flow())
    assert all(c in "\n" or 32 <= ord(c) < 127 for c in command)
    assert command.startswith("printf '") and "| curl " in command
    assert command.endswith("--data-binary @-")
    assert "c2VjcmV0" not in command


@pytest.mark.parametrize(
    "body",
    [BINARY, b"plain text\nwith 'quotes' and $vars", "héllo wörld".encode(), b"\xff\xfe", b""],
    ids=["binary", "text", "utf8", "invalid-utf8", "empty"],
)
def test_curl_round_trips_through_the_composers_reader(body: bytes) -> None:
    flow = _flow(body=body)
    parsed = parse_curl(as_curl(flow))
    assert parsed.method == "POST"
    assert parsed.url == "http://api.test/up?a=1&b=$x"
    assert parsed.body == body
    assert (b"X-Quote", b"it's $HOME") in parsed.headers
    names = [name.lower() for name, _ in parsed.headers]
    assert b"content-length" not in names and b"proxy-authorization" not in names


def test_compressed_when_accept_encoding_asks_and_the_header_is_kept() -> None:
    asked = as_curl(_flow(method="GET", body=b"", Accept_Encoding=b"gzip, deflate, br"))
    assert "--compressed" in split_words(asked)
    assert parse_curl(asked).headers[-1] == (b"Accept-Encoding", b"gzip, deflate, br")
    assert "--compressed" not in as_curl(_flow(method="GET", body=b"", Accept_Encoding=b"identity"))
    assert "--compressed" not in as_curl(_flow(method="GET", body=b""))


def test_a_truncated_body_is_noted_on_its_own_line() -> None:
    flow = _flow(body=b"abc")
    flow.request.body_truncated = True
    command = as_curl(flow)
    first, rest = command.split("\n", 1)
    assert first.startswith("#") and rest.startswith("curl ")
    assert parse_curl(command).body == b"abc"


class _Echo(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, bytes, dict[str, str]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, body, dict(self.headers)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def echo() -> Iterator[int]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Echo.received = []
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize("body", [BINARY, b"text body\n"], ids=["binary", "text"])
def test_the_generated_curl_sends_the_body_byte_for_byte(echo: int, body: bytes) -> None:
    flow = _flow(body=body)
    flow.request.host, flow.request.port = "127.0.0.1", echo
    flow.request.headers = [h for h in flow.request.headers if h[0] != b"Host"]
    command = as_curl(flow) + " --silent --noproxy '*'"
    subprocess.run(["sh", "-c", command], check=True, timeout=20)
    [(path, received, headers)] = _Echo.received
    assert received == body
    assert path == "/up?a=1&b=$x"
    assert headers["X-Quote"] == "it's $HOME"


def test_httpie_quotes_every_item_and_pipes_binary() -> None:
    text = as_httpie(_flow(body=b"a=1 'b'"))
    words = split_words(text)
    assert words[:5] == ["http", "--raw", "a=1 'b'", "POST", "http://api.test/up?a=1&b=$x"]
    assert "X-Quote:it's $HOME" in words
    binary = as_httpie(_flow())
    assert binary.startswith("printf '") and "| http POST" in binary
    assert all(c == "\n" or 32 <= ord(c) < 127 for c in binary)


def test_requests_script_is_valid_python_with_the_exact_body() -> None:
    script = as_requests(_flow())
    tree = ast.parse(script)
    call = tree.body[1].value  # type: ignore[attr-defined]
    values = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords if kw.arg != "data"}
    data = next(kw.value for kw in call.keywords if kw.arg == "data")
    assert ast.literal_eval(data) == BINARY
    assert values["headers"]["X-Quote"] == "it's $HOME"
    assert "Content-Length" not in values["headers"]
    assert [ast.literal_eval(a) for a in call.args] == ["POST", "http://api.test/up?a=1&b=$x"]
    text = as_requests(_flow(body=b'{"a": 1}'))
    assert "data='{\"a\": 1}'.encode()," in text


def test_fetch_uses_json_strings_and_bytes_for_binary() -> None:
    text = as_fetch(_flow(body=b'{"a": "\\u00e9"}'))
    assert text.startswith('await fetch("http://api.test/up?a=1&b=$x", {')
    assert '"X-Quote": "it\'s $HOME",' in text
    body_line = next(line for line in text.splitlines() if line.strip().startswith("body:"))
    assert json.loads(body_line.strip()[len("body: ") : -1]) == '{"a": "\\u00e9"}'
    binary = as_fetch(_flow())
    numbers = binary.split("new Uint8Array([", 1)[1].split("])", 1)[0]
    assert bytes(int(n) for n in numbers.split(", ")) == BINARY


def test_raw_messages() -> None:
    flow = _flow(body=b"hello")
    assert raw_request(flow).startswith("POST /up?a=1&b=$x HTTP/1.1\r\nHost: api.test\r\n")
    assert raw_request(flow).endswith("\r\n\r\nhello")
    assert raw_response(flow) == "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\n\r\nmade\n"
    assert raw_request(_flow()).endswith(f"[{len(BINARY):,} bytes of binary body]")
    flow.response = None
    assert raw_response(flow) is None


def test_every_kind_has_a_generator() -> None:
    flow = _flow(body=b"x")
    assert all(isinstance(make(flow), str) for make in GENERATORS.values())
