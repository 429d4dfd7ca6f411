from __future__ import annotations

import shlex

from inspector.core.curl import as_curl
from inspector.core.flow import Flow, Request


def _flow(**kwargs: object) -> Flow:
    request = Request(method="GET", host="example.com", port=80, target="/a?b=c&d=$HOME")
    for key, value in kwargs.items():
        setattr(request, key, value)
    return Flow(1, ("127.0.0.1", 1), request)


def test_simple_get() -> None:
    flow = _flow(headers=[(b"Host", b"example.com"), (b"Accept", b"*/*")])
    assert as_curl(flow) == "curl 'http://example.com/a?b=c&d=$HOME' -H 'Accept: */*'"


def test_every_field_is_quoted_and_round_trips_through_a_shell_parser() -> None:
    evil = "x'; rm -rf / #\n$(whoami) `id`"
    flow = _flow(
        method="POST",
        headers=[
            (b"Host", b"other.test"),
            (b"X-Evil", evil.encode()),
            (b"Proxy-Authorization", b"Basic c2VjcmV0"),
            (b"Content-Length", b"5"),
        ],
        body=evil.encode(),
    )
    command = as_curl(flow)
    assert "c2VjcmV0" not in command
    argv = shlex.split(command)
    assert argv[:4] == ["curl", "-X", "POST", "http://example.com/a?b=c&d=$HOME"]
    assert argv[argv.index("-H") + 1] == "Host: other.test"
    assert f"X-Evil: {evil}" in argv
    assert argv[-2:] == ["--data-binary", evil]
