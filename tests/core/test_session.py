"""The session file: flows written and read back whole, bad files refused
with one line, private modes, schema versions, deletes and pruning."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from inspector.core import session as S
from inspector.core.flow import Flow, FlowError, FlowState, Request, Response
from inspector.core.session import Session, SessionError
from inspector.core.websocket import BINARY, DOWN, TEXT, UP, WebSocketInfo, WsMessage


def _flow(flow_id: int, body: bytes = b"hello" * 100) -> Flow:
    flow = Flow(flow_id, ("127.0.0.1", 40000 + flow_id))
    flow.request = Request(
        method="POST",
        host="example.com",
        port=8080,
        target=f"/items/{flow_id}?q=1",
        headers=[(b"Host", b"example.com:8080"), (b"X-Latin", b"caf\xe9")],
        body=b"a=1&b=2",
        body_size=7,
    )
    flow.response = Response(
        status=201,
        reason="Created",
        headers=[(b"Content-Type", b"application/octet-stream")],
        body=body,
        body_size=len(body),
    )
    flow.t_start = 1_700_000_000.0 + flow_id
    flow.t_dns, flow.t_connected = flow.t_start + 0.001, flow.t_start + 0.002
    flow.t_upstream_connected = flow.t_start + 0.003
    flow.t_end = flow.t_start + 0.5
    flow.state = FlowState.COMPLETE
    return flow


def _websocket_flow(flow_id: int) -> Flow:
    flow = _flow(flow_id, b"")
    assert flow.response is not None
    flow.response.status = 101
    info = WebSocketInfo(tls=True, protocol="chat")
    for i, (direction, opcode, payload) in enumerate(
        [(UP, TEXT, b"hi"), (DOWN, BINARY, bytes(range(256))), (DOWN, TEXT, b"\xc3\xa9")]
    ):
        info.add(WsMessage(0, direction, 10.0 + i, opcode, len(payload), payload), 100, 1 << 20)
    info.close_code, info.end = 1000, "closed"
    flow.websocket = info
    return flow


def test_flows_come_back_whole(tmp_path: Path) -> None:
    path = tmp_path / "a.inspector"
    flows = [_flow(1), _flow(2, os.urandom(300_000)), _websocket_flow(3)]
    flows[1].replay_of = 1
    failed = _flow(4)
    failed.response, failed.state = None, FlowState.FAILED
    failed.error = FlowError("dns", "DNS lookup for example.com failed")
    flows.append(failed)
    with Session.create(path) as session:
        assert session.write(flows) == 4
    with Session.open(path) as session:
        back = list(session.flows())
        assert [f.id for f in back] == [1, 2, 3, 4]
        for original, copy in zip(flows, back, strict=True):
            assert copy.request.url == original.request.url
            assert list(copy.request.headers) == list(original.request.headers)
            assert copy.request.body == original.request.body
            assert (copy.t_dns, copy.t_connected) == (original.t_dns, original.t_connected)
            assert copy.state is original.state
            if original.response is not None:
                assert copy.response is not None
                assert copy.response.body == original.response.body
                assert copy.response.status == original.response.status
        assert back[3].error == FlowError("dns", "DNS lookup for example.com failed")
        assert [f.replay_of for f in back] == [None, 1, None, None]
        ws = back[2].websocket
        assert ws is not None and ws.protocol == "chat" and ws.close_code == 1000
        assert [(m.direction, m.opcode, m.payload) for m in ws.messages] == [
            (UP, TEXT, b"hi"),
            (DOWN, BINARY, bytes(range(256))),
            (DOWN, TEXT, b"\xc3\xa9"),
        ]
        assert session.flow(2) is not None and session.flow(99) is None
        rows = session.rows()
        assert [r[0] for r in rows] == [1, 2, 3, 4]
        info = session.info()
        assert info.flows == 4 and info.first_start == flows[0].t_start
        assert info.last_end == flows[3].t_end


def test_the_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "new-dir" / "a.inspector"
    Session.create(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_an_existing_directory_keeps_its_mode(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    Session.create(shared / "a.inspector").close()
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755


def test_create_refuses_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "a.inspector"
    path.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        Session.create(path)
    assert path.read_bytes() == b"precious"


def test_delete_and_delete_through_remove_everything_of_a_flow(tmp_path: Path) -> None:
    with Session.create(tmp_path / "a.inspector") as session:
        session.write([_flow(i) for i in range(1, 6)] + [_websocket_flow(6)])
        session.delete([2, 6, 42])
        assert session.ids() == [1, 3, 4, 5]
        session.delete_through(4)
        assert session.ids() == [5]
        assert session.body(2, S.RESPONSE) == b""
        counts = [
            session._conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("bodies", "messages")
        ]
        assert counts == [2, 0]


def test_a_reader_sees_what_a_writer_committed(tmp_path: Path) -> None:
    path = tmp_path / "a.inspector"
    with Session.create(path) as writer:
        writer.write([_flow(1)])
        with Session.open(path) as reader:
            assert reader.info().flows == 1
            writer.write([_flow(2)])
            assert reader.info().flows == 2
            assert writer.last_id() == 2


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"", "not an Inspector session"),
        (b"just text\n", "not an Inspector session"),
        (b"SQLite format 3\x00" + b"\x00" * 100, "not an Inspector session"),
    ],
    ids=["empty", "text", "truncated-header"],
)
def test_what_is_not_a_session_is_refused_in_one_line(
    tmp_path: Path, content: bytes, why: str
) -> None:
    path = tmp_path / "x.inspector"
    path.write_bytes(content)
    with pytest.raises(SessionError) as caught:
        Session.open(path).close()
    assert why in str(caught.value) and "\n" not in str(caught.value)
    assert path.read_bytes() == content


def test_another_sqlite_database_is_not_a_session(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(SessionError, match="not an Inspector session"):
        Session.open(path)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SessionError, match="no such session file"):
        Session.open(tmp_path / "nope.inspector")


def test_a_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "a.inspector"
    with Session.create(path) as session:
        session.write([_flow(1)])
        session._conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    before = path.read_bytes()
    for writable in (False, True):
        with pytest.raises(SessionError, match="newer Inspector"):
            Session.open(path, writable=writable)
    assert path.read_bytes() == before


def test_an_older_schema_is_migrated_when_opened_for_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.inspector"
    Session.create(path).close()
    monkeypatch.setattr(S, "SCHEMA", 2)
    monkeypatch.setattr(S, "MIGRATIONS", {2: ("CREATE TABLE notes (flow_id INTEGER, text TEXT)",)})
    with pytest.raises(SessionError, match="older session"):
        Session.open(path)
    with Session.open(path, writable=True) as session:
        assert session._schema() == 2
        session._conn.execute("INSERT INTO notes VALUES (1, 'x')")


def test_a_damaged_record_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "a.inspector"
    with Session.create(path) as session:
        session.write([_flow(1)])
        session._conn.execute("UPDATE flows SET head = x'00010203' WHERE id = 1")
    with Session.open(path) as session, pytest.raises(SessionError, match="damaged record"):
        list(session.flows())


def test_save_as_copies_a_session_being_written(tmp_path: Path) -> None:
    path = tmp_path / "live.inspector"
    with Session.create(path) as writer:
        writer.write([_flow(1), _websocket_flow(2)])
        with Session.open(path) as reader:
            reader.save_as(tmp_path / "copy.inspector")
        writer.write([_flow(3)])
    copy = tmp_path / "copy.inspector"
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    with Session.open(copy) as saved:
        assert saved.ids() == [1, 2]
        flow = saved.flow(2)
        assert flow is not None and flow.websocket is not None
    with Session.open(path) as reader, pytest.raises(FileExistsError):
        reader.save_as(copy)


def test_a_closed_session_is_read_without_leaving_companions(tmp_path: Path) -> None:
    path = tmp_path / "a.inspector"
    with Session.create(path) as session:
        session.write([_flow(1)])
    with Session.open(path) as reader:
        assert reader.info().flows == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.inspector"]
    with Session.open(path, writable=True) as writer:  # continued: WAL again
        writer.write([_flow(2)])
        mode = writer._conn.execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"
    with Session.open(path) as reader:
        assert reader.ids() == [1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.inspector"]


def test_a_truncated_session_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "a.inspector"
    with Session.create(path) as session:
        session.write([_flow(i, os.urandom(20_000)) for i in range(1, 20)])
    with path.open("r+b") as cut:
        cut.truncate(path.stat().st_size // 2)
    with (
        pytest.raises(SessionError, match="damaged or truncated") as caught,
        Session.open(path) as opened,
    ):
        list(opened.flows())
    assert "\n" not in str(caught.value)
