"""The compiled filter against a slow reference: random expression trees,
written out as text, judged on random flows by ``parse_filter`` and by a
direct evaluation of the tree; the two must agree, and the row passes must
bound the verdict (what a row surely accepts matches, what it rejects
does not)."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from inspector.core.filter import parse_filter
from inspector.core.flow import Flow, FlowState, Request, Response
from inspector.core.summary import row_of, summarize


@dataclass(frozen=True)
class Shape:
    method: str
    host: str
    status: int | None
    body: bytes
    gzipped: bool
    header: bool
    size: int
    path: str


def _build(shape: Shape) -> Flow:
    headers = [(b"Host", shape.host.encode())]
    if shape.header:
        headers.append((b"X-Trace", b"trace-123"))
    flow = Flow(
        7,
        ("127.0.0.1", 1),
        Request(
            method=shape.method,
            host=shape.host,
            port=443,
            scheme="https",
            target=shape.path,
            headers=headers,
        ),
        t_start=100.0,
    )
    if shape.status is not None:
        body = gzip.compress(shape.body) if shape.gzipped else shape.body
        response_headers = [(b"Content-Type", b"application/json")]
        if shape.gzipped:
            response_headers.append((b"Content-Encoding", b"gzip"))
        flow.response = Response(
            status=shape.status, headers=response_headers, body=body, body_size=shape.size
        )
        flow.t_end = 100.5
        flow.state = FlowState.COMPLETE
    return flow


shapes = st.builds(
    Shape,
    method=st.sampled_from(["GET", "POST", "DELETE"]),
    host=st.sampled_from(["api.example.com", "cdn.example.net", "login.example.com"]),
    status=st.sampled_from([200, 204, 404, 500, None]),
    body=st.sampled_from([b"", b'{"token": "abc"}', b"<p>Needle</p>", b"hay"]),
    gzipped=st.booleans(),
    header=st.booleans(),
    size=st.sampled_from([0, 500, 5000, 50_000]),
    path=st.sampled_from(["/v1/users", "/v2/login", "/static/app.js"]),
)

Reference = Callable[[Shape], bool]

TERMS: list[tuple[str, Reference]] = [
    ("method:POST", lambda s: s.method == "POST"),
    ("host:api", lambda s: "api" in s.host),
    ("host:/\\.net$/", lambda s: s.host.endswith(".net")),
    ("path:/v1", lambda s: "/v1" in s.path),
    ("login", lambda s: "login" in f"https://{s.host}{s.path}"),
    ("status:4xx", lambda s: s.status is not None and 400 <= s.status < 500),
    ("status:200", lambda s: s.status == 200),
    ("size>1k", lambda s: s.status is not None and s.size > 1024),
    ("size<=500", lambda s: s.status is not None and s.size <= 500),
    ("header:x-trace", lambda s: s.header),
    ("reqheader:x-trace=123", lambda s: s.header),
    ("resheader:content-encoding", lambda s: s.status is not None and s.gzipped),
    ("body:token", lambda s: s.status is not None and b"token" in s.body),
    ("resbody:needle", lambda s: s.status is not None and b"needle" in s.body.lower()),
    ("body:/to+ken/", lambda s: s.status is not None and b"token" in s.body),
    ("reqbody:hay", lambda s: False),
]


@dataclass(frozen=True)
class Tree:
    kind: str  # term, and, or, not
    term: int = 0
    children: tuple[Tree, ...] = ()


def _trees() -> st.SearchStrategy[Tree]:
    leaf = st.integers(0, len(TERMS) - 1).map(lambda i: Tree("term", i))
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.lists(inner, min_size=2, max_size=3).map(lambda c: Tree("and", children=tuple(c))),
            st.lists(inner, min_size=2, max_size=3).map(lambda c: Tree("or", children=tuple(c))),
            inner.map(lambda c: Tree("not", children=(c,))),
        ),
        max_leaves=8,
    )


def _text(tree: Tree) -> str:
    if tree.kind == "term":
        return TERMS[tree.term][0]
    if tree.kind == "not":
        child = tree.children[0]
        inner = _text(child)
        return f"-{inner}" if child.kind == "term" else f"not ({inner})"
    glue = " " if tree.kind == "and" else " or "
    return glue.join(f"({_text(c)})" if c.kind != "term" else _text(c) for c in tree.children)


def _reference(tree: Tree, shape: Shape) -> bool:
    if tree.kind == "term":
        return TERMS[tree.term][1](shape)
    if tree.kind == "not":
        return not _reference(tree.children[0], shape)
    verdicts = [_reference(c, shape) for c in tree.children]
    return all(verdicts) if tree.kind == "and" else any(verdicts)


@given(_trees(), shapes)
def test_the_compiled_filter_agrees_with_the_reference(tree: Tree, shape: Shape) -> None:
    text = _text(tree)
    compiled = parse_filter(text)
    flow = _build(shape)
    expected = _reference(tree, shape)
    assert compiled.matches_flow(flow) == expected, text
    row = row_of(summarize(flow))
    if not compiled(row):
        assert not expected, f"the row pass dropped a match: {text}"
    if compiled.surely(row):
        assert expected, f"the row pass was sure of a miss: {text}"
    if not compiled.needs_flow:
        assert compiled(row) == expected, text


def test_precedence_against_the_reference() -> None:
    # a b or c is (a b) or c; not binds tightest.
    shape = Shape("POST", "cdn.example.net", 404, b"hay", False, False, 0, "/v1/users")
    flow = _build(shape)
    assert parse_filter("method:GET host:cdn or status:404").matches_flow(flow)
    assert not parse_filter("method:GET (host:cdn or status:404)").matches_flow(flow)
    assert parse_filter("-method:GET host:cdn").matches_flow(flow)
    assert not parse_filter("not (method:POST host:cdn)").matches_flow(flow)
