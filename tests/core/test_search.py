from __future__ import annotations

import gzip
from pathlib import Path

import brotli
import pytest

from inspector.core.filter import parse_filter
from inspector.core.flow import Flow, FlowState, Request, Response
from inspector.core.search import check, scan
from inspector.core.session import Session


def _flow(
    flow_id: int,
    body: bytes,
    host: str = "api.example.com",
    encoding: bytes | None = None,
    content_type: bytes = b"application/json",
    request_body: bytes = b"",
) -> Flow:
    flow = Flow(flow_id, ("127.0.0.1", 40000 + flow_id))
    flow.request = Request(
        method="POST" if request_body else "GET",
        host=host,
        port=443,
        target=f"/items/{flow_id}",
        headers=[(b"Host", host.encode()), (b"Authorization", b"Bearer abc")],
        body=request_body,
        body_size=len(request_body),
    )
    headers = [(b"Content-Type", content_type)]
    if encoding is not None:
        headers.append((b"Content-Encoding", encoding))
    flow.response = Response(
        status=200, reason="OK", headers=headers, body=body, body_size=len(body)
    )
    flow.t_start = 1_700_000_000.0 + flow_id
    flow.t_end = flow.t_start + 0.1
    flow.state = FlowState.COMPLETE
    return flow


@pytest.fixture
def session(tmp_path: Path) -> Session:
    s = Session.create(tmp_path / "s.inspector")
    s.write(
        [
            _flow(1, b'{"token": "secret-one"}'),
            _flow(2, gzip.compress(b'{"token": "gz-secret"}'), encoding=b"gzip"),
            _flow(3, brotli.compress(b"<p>nothing here</p>"), encoding=b"br"),
            _flow(4, b"plain", host="cdn.example.com", content_type=b"text/plain"),
            _flow(5, b"", request_body=b"user=secret-two"),
            _flow(6, b"\xff\xfe binary secret-bin", content_type=b"application/octet-stream"),
        ]
    )
    return s


def _all(session: Session, text: str) -> tuple[list[int], list[int]]:
    matches: list[int] = []
    misses: list[int] = []
    for step in scan(session, parse_filter(text), page=2):
        matches += step.matches
        misses += step.misses
    return matches, misses


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("body:secret", [1, 2, 5, 6]),
        ("resbody:secret", [1, 2, 6]),
        ("reqbody:secret", [5]),
        ("body:gz-secret", [2]),  # gzip decoded
        ("body:nothing", [3]),  # brotli decoded
        ("body:/secret-(one|two)/", [1, 5]),
        ("-body:secret", [3, 4]),
        ("body:secret host:cdn", []),
        ("body:plain or status:404", [4]),
        ("header:authorization=bearer", [1, 2, 3, 4, 5, 6]),
        ("resheader:content-encoding=gzip", [2]),
        ("host:cdn", [4]),
    ],
)
def test_scan_judges_every_flow(session: Session, text: str, expected: list[int]) -> None:
    matches, misses = _all(session, text)
    assert matches == expected
    assert sorted(matches + misses) == [1, 2, 3, 4, 5, 6]


def test_scan_reports_progress_and_resumes_after_an_id(session: Session) -> None:
    steps = list(scan(session, parse_filter("body:secret"), after=2, page=2))
    assert [(s.done, s.total) for s in steps] == [(2, 4), (4, 4), (4, 4)]
    assert steps[-1].last == 6
    assert [i for s in steps for i in s.matches] == [5, 6]


def test_scan_of_an_empty_session_is_one_step(tmp_path: Path) -> None:
    with Session.create(tmp_path / "e.inspector") as empty:
        steps = list(scan(empty, parse_filter("body:x")))
    assert len(steps) == 1
    assert (steps[0].done, steps[0].total, steps[0].matches) == (0, 0, [])


def test_scan_sees_flows_written_while_it_runs(session: Session) -> None:
    steps = scan(session, parse_filter("body:secret"), page=2)
    first = next(steps)
    session.write([_flow(7, b"late secret")])
    rest = list(steps)
    assert first.matches == [1, 2]
    assert 7 in [i for s in rest for i in s.matches]


def test_check_judges_given_ids_and_names_the_absent(session: Session) -> None:
    verdicts, absent = check(session, parse_filter("body:secret"), [2, 3, 99])
    assert verdicts.matches == [2]
    assert verdicts.misses == [3]
    assert absent == {99}


def test_a_damaged_record_matches_nothing_and_the_search_goes_on(session: Session) -> None:
    session._conn.execute("UPDATE flows SET head = x'00ff' WHERE id = 2")
    matches, misses = _all(session, "body:secret")
    assert matches == [1, 5, 6]
    assert 2 in misses


def test_a_row_that_decides_alone_is_not_loaded(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded: list[int] = []
    real = session.load

    def spy(flow_id: int, head: bytes, bodies: bool = True) -> Flow:
        loaded.append(flow_id)
        return real(flow_id, head, bodies)

    monkeypatch.setattr(session, "load", spy)
    matches, _ = _all(session, "host:cdn body:plain or method:POST")
    assert matches == [4, 5]
    assert loaded == [4]  # 5 is surely in (POST), the rest surely out
