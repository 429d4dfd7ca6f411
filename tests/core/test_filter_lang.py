"""The filter language as a whole: every term on rows and on whole flows,
precedence, quoting and regex values, error positions, and fuzzing."""

from __future__ import annotations

import gzip
import string

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from inspector.core.filter import FilterError, parse_filter
from inspector.core.flow import Flow, FlowError, FlowState, Request, Response, TunnelInfo
from inspector.core.summary import FlowRow, row_of, summarize
from inspector.core.websocket import WebSocketInfo


def _flow(
    method: str = "GET",
    scheme: str = "https",
    host: str = "api.example.com",
    target: str = "/v1/users?page=2",
    status: int | None = 200,
    content_type: str = "application/json; charset=utf-8",
    body: bytes = b'{"token": "abc"}',
    size: int | None = None,
    duration: float | None = 0.25,
    failed: bool = False,
    imported: bool = False,
    req_headers: list[tuple[bytes, bytes]] | None = None,
    req_body: bytes = b"",
    gzipped: bool = False,
) -> Flow:
    request = Request(
        method=method,
        scheme=scheme,
        host=host,
        port=443 if scheme == "https" else 80,
        target=target,
        headers=req_headers or [(b"User-Agent", b"curl/8.0"), (b"Accept", b"*/*")],
        body=req_body,
        body_size=len(req_body),
    )
    flow = Flow(1, ("127.0.0.1", 1), request, imported=imported, t_start=100.0)
    if status is not None:
        headers = [(b"Content-Type", content_type.encode())] if content_type else []
        if gzipped:
            body = gzip.compress(body)
            headers.append((b"Content-Encoding", b"gzip"))
        flow.response = Response(
            status=status,
            headers=headers,
            body=body,
            body_size=len(body) if size is None else size,
        )
        flow.state = FlowState.COMPLETE
    if duration is not None:
        flow.t_end = 100.0 + duration
        flow.state = FlowState.COMPLETE
    if failed:
        flow.state = FlowState.FAILED
        flow.error = FlowError("dns", "x")
    return flow


def _row(flow: Flow) -> FlowRow:
    return row_of(summarize(flow))


def _both(text: str, flow: Flow) -> tuple[bool, bool]:
    compiled = parse_filter(text)
    return compiled(_row(flow)), compiled.matches_flow(flow)


ROW_CASES = [
    ("users", True),
    ("USERS", True),
    ('"example.com/v1"', True),
    ('"no such"', False),
    ("method:get", True),
    ("method:POST", False),
    ("method:/^g/", True),
    ("status:200", True),
    ("status:2xx", True),
    ("status:404", False),
    ("host:API", True),
    ("host:/^api\\./", True),
    ("host:/^www\\./", False),
    ("path:/v1", True),
    ("path:page", False),
    ("url:page=2", True),
    ("url:/page=\\d/", True),
    ("scheme:https", True),
    ("scheme:http", False),
    ("type:json", True),
    ("type:html", False),
    ("type:charset", False),
    ("type:application", True),
    ("size>10", True),
    ("size>=16", True),
    ("size>16", False),
    ("size<1k", True),
    ("size=16", True),
    ("duration>200ms", True),
    ("duration<0.2s", False),
    ("duration<=1s", True),
    ("is:tls", True),
    ("is:error", False),
    ("is:ws", False),
    ("is:imported", False),
    ("-host:example", False),
    ("not host:example", False),
    ("--host:example", True),
]


@pytest.mark.parametrize(("text", "expected"), ROW_CASES)
def test_row_terms_on_rows_and_flows(text: str, expected: bool) -> None:
    assert _both(text, _flow()) == (expected, expected)


@pytest.mark.parametrize(
    ("content_type", "kind"),
    [
        ("text/html", "html"),
        ("application/xhtml+xml", "html"),
        ("application/problem+json", "json"),
        ("text/javascript", "js"),
        ("application/x-javascript", "js"),
        ("text/css", "css"),
        ("image/svg+xml", "image"),
        ("font/woff2", "font"),
        ("application/font-woff", "font"),
        ("video/mp4", "media"),
        ("audio/ogg", "media"),
        ("application/xml", "xml"),
        ("application/atom+xml", "xml"),
        ("application/x-www-form-urlencoded", "form"),
        ("multipart/form-data", "form"),
        ("application/octet-stream", "other"),
        ("", "other"),
    ],
)
def test_types(content_type: str, kind: str) -> None:
    flow = _flow(content_type=content_type)
    for name in ("json", "html", "js", "css", "image", "font", "media", "xml", "form", "other"):
        assert _both(f"type:{name}", flow) == (name == kind,) * 2, name


def test_type_ws_tunnel_and_imported() -> None:
    ws = _flow(status=101, content_type="")
    ws.websocket = WebSocketInfo(tls=True)
    assert _both("type:ws", ws) == (True, True)
    assert _both("type:websocket is:ws is:tls scheme:wss", ws) == (True, True)
    tunnel = _flow(method="CONNECT", target="api.example.com:443", status=200)
    tunnel.tunnel = TunnelInfo(mode="passthrough")
    assert _both("type:tunnel", tunnel) == (True, True)
    assert _both("type:tunnel", _flow()) == (False, False)
    assert _row(_flow(imported=True)).is_imported
    assert _both("is:imported", _flow(imported=True)) == (True, True)


def test_is_replay() -> None:
    replay = _flow()
    replay.replay_of = 3
    assert _row(replay).is_replay and not _row(_flow()).is_replay
    assert _both("is:replay", replay) == (True, True)
    assert _both("is:replay", _flow()) == (False, False)
    assert _both("-is:replay", _flow()) == (True, True)


def test_status_error_pending_and_unfinished() -> None:
    failed = _flow(status=None, failed=True)
    assert _both("status:error is:error", failed) == (True, True)
    pending = _flow(status=None, duration=None)
    assert _both("status:pending", pending) == (True, True)
    # No size without a response; no duration before the end.
    for text in ("size<1m", "size>=0", "duration<1s", "duration>0ms", "status:2xx"):
        assert _both(text, pending) == (False, False), text


def test_size_units() -> None:
    flow = _flow(size=10 * 1024 + 1)
    assert _both("size>10k", flow) == (True, True)
    assert _both("size>10K size<=1m", flow) == (True, True)
    assert _both("size>1.5m", _flow(size=1024 * 1024)) == (False, False)


FLOW_CASES = [
    ("header:user-agent", True),
    ("header:USER-AGENT=CURL", True),
    ("header:user-agent=wget", False),
    ("header:content-type=json", True),
    ("reqheader:content-type", False),
    ("resheader:content-type=/^application\\/json;/", True),
    ("resheader:accept", False),
    ('reqheader:"accept=*/*"', True),
    ("header:/^x-/", False),
    ("body:TOKEN", True),
    ('body:"\\"token\\""', True),
    ('resbody:/token.: "\\w{3}"/', True),
    ("reqbody:token", False),
    ("reqbody:q=1", True),
    ("-body:token", False),
    ("body:nothing or host:api", True),
]


@pytest.mark.parametrize(("text", "expected"), FLOW_CASES)
def test_flow_terms(text: str, expected: bool) -> None:
    flow = _flow(req_body=b"q=1")
    compiled = parse_filter(text)
    assert compiled.needs_flow
    assert compiled.matches_flow(flow) is expected
    assert compiled.matches_flow(_flow(gzipped=True, req_body=b"q=1")) is expected
    # A row cannot say, so the row pass lets the flow through.
    assert compiled(_row(flow)) or not expected


@pytest.mark.parametrize(
    ("text", "row_verdict"),
    [
        ("body:x", True),
        ("-body:x", True),
        ("body:x host:api", True),
        ("body:x host:other", False),
        ("body:x or host:other", True),
        ("-(body:x or host:api)", False),
        ("-(body:x host:other)", True),
    ],
)
def test_row_pass_on_flow_terms(text: str, row_verdict: bool) -> None:
    assert parse_filter(text)(_row(_flow())) is row_verdict


def test_body_decoding_failure_searches_raw() -> None:
    flow = _flow(body=b"plain token")
    assert flow.response is not None
    flow.response.headers = [(b"Content-Encoding", b"gzip")]
    assert parse_filter("body:token").matches_flow(flow)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("host:other users or method:GET", True),  # (host users) or method
        ("host:other (users or method:GET)", False),
        ("method:POST or users host:other", False),
        ("method:POST | users", True),
        ("not host:other users", True),
        ("not (host:api users)", False),
        ("-(host:other or method:POST)", True),
        ("((users))", True),
        ("users OR nothing", True),
        ("NOT users", False),
    ],
)
def test_precedence_and_grouping(text: str, expected: bool) -> None:
    assert _both(text, _flow()) == (expected, expected)


@pytest.mark.parametrize(
    ("text", "target", "expected"),
    [
        ('path:"/v1/"', "/v1/users", True),
        ("path:/v1/", "/api/xv1", True),  # a regex: v1 anywhere
        ("path:/api/v1", "/api/v1/x", True),  # second slash mid-word: plain
        ("path:/\\/v1\\//", "/v1/users", True),
        ("path:/a b/", "/a b", True),  # inside /.../ a space is no separator
        ("url:/x\\(/", "/x(", True),
        ('"a \\"b\\" c"', '/a "b" c', True),
        ('"or"', "/or", True),
        ('"not"', "/x", False),
        ("-", "/a-b", True),
        ("q=1", "/?q=1", True),
        ("host=1", "/?host=1", True),
        ("localhost:8080", "/", False),
    ],
)
def test_quoting_and_regex(text: str, target: str, expected: bool) -> None:
    assert _both(text, _flow(target=target)) == (expected, expected)


def test_regex_is_case_insensitive_and_compiled_once() -> None:
    compiled = parse_filter("host:/^API/")
    assert compiled(_row(_flow()))
    assert compiled.predicate is compiled.predicate


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("users foo:bar", 6),
        ("status:", 7),
        ("host: users", 5),
        ("(users", 0),
        ("users (a (b)", 6),
        ("users)", 5),
        ("()", 1),
        ("users or", 6),
        ("or users", 0),
        ("a or or b", 2),
        ("a | )", 2),
        ("not", 0),
        ("a -(", 3),
        ("size:10k", 4),
        ("size>ten", 5),
        ("size>10q", 5),
        ("size>", 5),
        ("duration<2", 9),
        ("duration<2h", 9),
        ("host:/a(/", 7),
        ("body:/[/", 6),
        ('users "abc', 6),
        ('host:"abc', 5),
        ('"abc"def', 5),
        ("status:abc", 7),
        ("is:nope", 3),
        ("type:/x/ host>1", 13),
        ("header:=x", 7),
        ('header:""', 7),
        ("(" * 60 + "a" + ")" * 60, 50),
    ],
)
def test_error_positions(text: str, position: int) -> None:
    with pytest.raises(FilterError) as raised:
        parse_filter(text)
    assert raised.value.position == position, str(raised.value)
    assert raised.value.message in str(raised.value)


def test_response_terms() -> None:
    compiled = parse_filter("host:api status:4xx -resheader:x size>1k or body:y method:GET")
    assert compiled.uses_response
    assert compiled.response_terms == ["status:4xx", "resheader:x", "size>1k", "body:y"]
    quiet = parse_filter("host:api reqheader:x reqbody:y is:tls method:GET path:/a")
    assert not quiet.uses_response
    assert quiet.response_terms == []
    assert parse_filter("type:json").response_terms == ["type:json"]
    assert parse_filter("duration>1s").uses_response


def test_empty_filter_matches_flows() -> None:
    compiled = parse_filter("  ")
    assert compiled.matches_flow(_flow())
    assert not compiled.needs_flow and not compiled.uses_response


_ALPHABET = string.ascii_letters[:8] + string.digits[:3] + ' :-()|/"\\<>=.*[]{}?+^$'
_PIECES = st.sampled_from(
    [
        "host:",
        "status:",
        "size>",
        "duration<=",
        "header:",
        "body:",
        "is:",
        "type:",
        " or ",
        " not ",
        "-",
        "(",
        ")",
        '"',
        "/",
        "\\",
        "10k",
        "2s",
        "4xx",
        "=",
        " ",
        "api",
    ]
)


@given(st.one_of(st.text(_ALPHABET, max_size=40), st.lists(_PIECES, max_size=12).map("".join)))
@example("(" * 1000)
@example("-" * 1000 + "a")
@example("host:/a{99999999999}/")
@example("body:/(?P<x/")
@example("\x00 \u2028 ")
def test_any_text_parses_or_raises_filter_error(text: str) -> None:
    try:
        compiled = parse_filter(text)
    except FilterError as exc:
        error: FilterError | None = exc
    else:
        error = None
    if error is not None:
        assert 0 <= error.position <= len(text)
        return
    row_verdict = compiled(_row(_flow()))
    flow_verdict = compiled.matches_flow(_flow())
    # The row pass never drops a flow the flow pass keeps.
    assert row_verdict or not flow_verdict
    if not compiled.needs_flow:
        assert row_verdict == flow_verdict
