"""The session file: every flow of a capture on disk, as it happens.

A session is one SQLite database in WAL mode, so readers (``session
info``, a HAR export, opening it in the app) read beside the engine that
writes it, and a writer killed mid-way leaves a file that opens: SQLite
rolls back what was not committed, and the writer commits about every
quarter second. The schema:

- ``meta``: ``schema`` (the version, migrated forward on open for
  writing; a newer one is refused), ``app``, ``created``, and ``rules``
  (the rules in effect, a rules file's JSON, once any were set).
- ``flows``: one row a flow: its id, start and end times, its summary row
  (``core.summary``, msgpack) for listing without decoding anything else,
  and its head: the flow as the engine protocol describes it
  (``core.wire.flow_to_wire`` without bodies), msgpack, zstd-compressed.
- ``bodies``: each captured body, zstd-compressed, by flow and side.
- ``messages``: a WebSocket flow's kept messages, one compressed list.

Session files hold decrypted traffic, credentials included: they are
created mode 0600 in a 0700 directory, and deleted data is overwritten
(``secure_delete``). This module is synchronous; the engine drives it from
a thread of its own (``proxy.session_writer``).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack
import zstandard

from inspector.core import ws_wire
from inspector.core.files import make_private_dir
from inspector.core.flow import Flow
from inspector.core.headers import PackedHeaders
from inspector.core.protocol import ProtocolError
from inspector.core.session_files import remove
from inspector.core.summary import summarize
from inspector.core.websocket import WebSocketInfo
from inspector.core.wire import flow_from_wire, flow_to_wire

SCHEMA = 1
APP = "inspector"
MAX_BLOB = 256 * 1024 * 1024
"""The most one record decompresses to: a damaged or hostile file cannot
make a reader allocate without bound."""

_CREATE = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE flows (id INTEGER PRIMARY KEY, t_start REAL NOT NULL, t_end REAL,"
    " row BLOB NOT NULL, head BLOB NOT NULL)",
    "CREATE TABLE bodies (flow_id INTEGER NOT NULL, side INTEGER NOT NULL,"
    " data BLOB NOT NULL, PRIMARY KEY (flow_id, side)) WITHOUT ROWID",
    "CREATE TABLE messages (flow_id INTEGER PRIMARY KEY, data BLOB NOT NULL)",
    "CREATE INDEX flows_by_start ON flows (t_start)",
)
MIGRATIONS: dict[int, tuple[str, ...]] = {}
"""Statements taking schema N-1 to N, for every N after the first."""

REQUEST, RESPONSE = 0, 1


Record = tuple[int, float, float | None, bytes, bytes, bytes, bytes, bytes]
"""A flow ready to store: id, start, end, its summary row and its head
(msgpack), its request and response bodies, its WebSocket messages
(msgpack, or empty). Cheap to make; the compressing is left to the writer."""


def record(flow: Flow) -> Record:
    """``flow`` as a ``Record`` (it must be over: nothing may change it)."""
    response = flow.response
    info = flow.websocket
    messages = b""
    if info is not None and info.messages:
        messages = _pack([ws_wire.message_to_wire(m, len(m.payload)) for m in list(info.messages)])
    return (
        flow.id,
        flow.t_start,
        flow.t_end,
        _pack(summarize(flow)),
        _pack(flow_to_wire(flow, inline=0)),
        flow.request.body,
        response.body if response is not None else b"",
        messages,
    )


class SessionError(Exception):
    """The file is not a session this version can use; one line why."""


@dataclass(slots=True, frozen=True)
class SessionInfo:
    flows: int
    first_start: float | None
    last_end: float | None
    schema: int


RAW, ZSTD = b"\x00", b"\x01"
"""The first byte of every stored blob: what follows is as it is, or a
zstd frame. Small blobs are kept raw: compressing them costs more time
than it saves room."""
SMALL = 128

_compressors = threading.local()


def _compress(data: bytes) -> bytes:
    if len(data) < SMALL:
        return RAW + data
    # One compressor a thread, kept: making one costs as much as using it.
    cctx = getattr(_compressors, "cctx", None)
    if cctx is None:
        cctx = _compressors.cctx = zstandard.ZstdCompressor(level=3)
    packed: bytes = cctx.compress(data)
    return ZSTD + packed


def _decompress(data: bytes) -> bytes:
    kind, rest = data[:1], data[1:]
    if kind == RAW:
        return bytes(rest)
    if kind != ZSTD:
        raise SessionError("a damaged record in the session: unknown encoding")
    dctx = getattr(_compressors, "dctx", None)
    if dctx is None:
        dctx = _compressors.dctx = zstandard.ZstdDecompressor()
    try:
        out: bytes = dctx.decompress(rest, max_output_size=MAX_BLOB)
    except zstandard.ZstdError as exc:
        raise SessionError(f"a damaged record in the session: {exc}") from None
    return out


def _pack(value: Any) -> bytes:
    packed: bytes = msgpack.packb(value, use_bin_type=True)
    return packed


def _unpack(data: bytes) -> Any:
    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=False)
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
        raise SessionError(f"a damaged record in the session: {exc}") from None


def _row(flow_id: int, packed: bytes) -> tuple[Any, ...]:
    """A stored summary row, its id the table's (``renumber_by_start``
    changes ids, not rows)."""
    return (int(flow_id), *_unpack(packed)[1:])


def _unreadable(exc: sqlite3.DatabaseError) -> str:
    if "malformed" in str(exc):
        return f"a damaged or truncated session file ({exc})"
    return f"not an Inspector session ({exc})"


class Session:
    """One open session file (for writing, or read-only)."""

    def __init__(self, conn: sqlite3.Connection, path: Path, writable: bool) -> None:
        self._conn = conn
        self.path = path
        self.writable = writable

    # Opening

    @classmethod
    def create(cls, path: Path) -> Session:
        """A new, empty session at ``path`` (which must not exist); a
        missing directory is created private (an existing one is left as
        it is: it may be anybody's, ``/tmp`` say)."""
        make_private_dir(path.parent)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        conn = cls._connect(path, writable=True)
        conn.execute("PRAGMA secure_delete = ON")
        with conn:
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
            conn.execute("VACUUM")  # auto_vacuum takes effect on an empty file this way
            for statement in _CREATE:
                conn.execute(statement)
            conn.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [("schema", str(SCHEMA)), ("app", APP), ("created", repr(time.time()))],
            )
        session = cls(conn, path, True)
        session._start_writing()
        return session

    @classmethod
    def open(cls, path: Path, writable: bool = False) -> Session:
        """An existing session; read-only unless ``writable`` (then an
        older schema is migrated). Raises SessionError."""
        if not path.is_file():
            raise SessionError(f"{path}: no such session file")
        conn = cls._connect(path, writable)
        session = cls(conn, path, writable)
        try:
            schema = session._schema()
            if schema > SCHEMA:
                raise SessionError(
                    f"{path}: written by a newer Inspector (session schema {schema}, "
                    f"this one reads up to {SCHEMA})"
                )
            if schema < SCHEMA and not writable:
                raise SessionError(f"{path}: an older session; open it in the app to upgrade")
            if writable:
                session._start_writing()
            if schema < SCHEMA:
                session._migrate(schema)
        except BaseException:
            conn.close()
            raise
        return session

    @staticmethod
    def _connect(path: Path, writable: bool) -> sqlite3.Connection:
        try:
            if writable:
                conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            else:
                conn = sqlite3.connect(
                    f"{path.resolve().as_uri()}?mode=ro",
                    uri=True,
                    check_same_thread=False,
                    isolation_level=None,
                )
            conn.execute("PRAGMA busy_timeout = 5000")
        except sqlite3.OperationalError as exc:  # permissions, a locked file
            raise SessionError(f"{path}: cannot open the session: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise SessionError(f"{path}: {_unreadable(exc)}") from None
        return conn

    def _start_writing(self) -> None:
        """Write-ahead logging (readers beside the writer), committed
        transactions durable against a crash of the process (not of the
        machine: ``NORMAL``), and deleted data overwritten."""
        conn = self._conn
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA secure_delete = ON")

    def _schema(self) -> int:
        try:
            row = self._conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            app = self._conn.execute("SELECT value FROM meta WHERE key = 'app'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise SessionError(f"{self.path}: {_unreadable(exc)}") from None
        if row is None or app is None or app[0] != APP or not str(row[0]).isdigit():
            raise SessionError(f"{self.path}: not an Inspector session")
        return int(row[0])

    def _migrate(self, schema: int) -> None:
        with self._transaction():
            for version in range(schema + 1, SCHEMA + 1):
                for statement in MIGRATIONS[version]:
                    self._conn.execute(statement)
            self._conn.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA),))

    def close(self) -> None:
        if self.writable:
            # Closed, the file leaves WAL mode: a reader of a WAL file needs
            # -wal and -shm companions it creates and, read-only, cannot
            # remove; a file in rollback mode is read as it is.
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA journal_mode = DELETE")
        self._conn.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # Writing

    def write(self, flows: Iterable[Flow]) -> int:
        """Insert or replace ``flows`` in one transaction; return how many."""
        return self.write_records(record(flow) for flow in flows)

    def write_records(self, records: Iterable[Record]) -> int:
        """Insert or replace flows given as ``record``s (encoded, not yet
        compressed: the compressing happens here) in one transaction."""
        count = 0
        flows: list[tuple[Any, ...]] = []
        bodies: list[tuple[int, int, bytes]] = []
        messages: list[tuple[int, bytes]] = []
        ids: list[tuple[int]] = []
        for flow_id, t_start, t_end, row, head, request, response, ws in records:
            flows.append((flow_id, t_start, t_end, row, _compress(head)))
            ids.append((flow_id,))
            if request:
                bodies.append((flow_id, REQUEST, _compress(request)))
            if response:
                bodies.append((flow_id, RESPONSE, _compress(response)))
            if ws:
                messages.append((flow_id, _compress(ws)))
            count += 1
        conn = self._conn
        with self._transaction():
            conn.executemany(
                "INSERT OR REPLACE INTO flows (id, t_start, t_end, row, head)"
                " VALUES (?, ?, ?, ?, ?)",
                flows,
            )
            conn.executemany("DELETE FROM bodies WHERE flow_id = ?", ids)
            conn.executemany("INSERT INTO bodies (flow_id, side, data) VALUES (?, ?, ?)", bodies)
            conn.executemany(
                "INSERT OR REPLACE INTO messages (flow_id, data) VALUES (?, ?)", messages
            )
        return count

    def delete(self, ids: Iterable[int]) -> None:
        """Remove flows, bodies and messages (overwritten on disk)."""
        rows = [(i,) for i in ids]
        with self._transaction():
            for table, column in (("flows", "id"), ("bodies", "flow_id"), ("messages", "flow_id")):
                self._conn.executemany(f"DELETE FROM {table} WHERE {column} = ?", rows)
        self.reclaim()

    def delete_through(self, last_id: int) -> None:
        """Remove every flow with an id up to ``last_id``."""
        with self._transaction():
            for table, column in (("flows", "id"), ("bodies", "flow_id"), ("messages", "flow_id")):
                self._conn.execute(f"DELETE FROM {table} WHERE {column} <= ?", (last_id,))
        self.reclaim()

    def save_as(self, target: Path) -> None:
        """A consistent copy of this session at ``target`` (which must not
        exist; mode 0600), even while it is being written."""
        fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        try:
            copy = sqlite3.connect(target)
            try:
                self._conn.backup(copy)
                copy.execute("PRAGMA journal_mode = WAL")
            finally:
                copy.close()
        except BaseException:
            remove(target)
            raise

    def renumber_by_start(self) -> None:
        """Give the flows ids 1..N in the order they started (an import
        writes them as the file lists them, which need not be that)."""
        conn = self._conn
        with self._transaction():
            conn.execute("DROP TABLE IF EXISTS temp.remap")
            conn.execute("CREATE TEMP TABLE remap (old INTEGER PRIMARY KEY, new INTEGER NOT NULL)")
            conn.execute(
                "INSERT INTO remap (old, new)"
                " SELECT id, row_number() OVER (ORDER BY t_start, id) FROM flows"
            )
            # Through negative ids, so no two rows ever share one.
            for table, column in (("flows", "id"), ("bodies", "flow_id"), ("messages", "flow_id")):
                conn.execute(
                    f"UPDATE {table} SET {column} = -(SELECT new FROM remap WHERE old = {column})"
                )
                conn.execute(f"UPDATE {table} SET {column} = -{column}")
            conn.execute("DROP TABLE temp.remap")

    def reclaim(self) -> None:
        """Give freed pages back to the file system."""
        self._conn.execute("PRAGMA incremental_vacuum")

    def size(self) -> int:
        """Bytes in use by the database (pages, not counting free ones)."""
        page_size = self._conn.execute("PRAGMA page_size").fetchone()[0]
        pages = self._conn.execute("PRAGMA page_count").fetchone()[0]
        free = self._conn.execute("PRAGMA freelist_count").fetchone()[0]
        return int(page_size) * (int(pages) - int(free))

    def last_id(self) -> int:
        row = self._conn.execute("SELECT max(id) FROM flows").fetchone()
        return int(row[0]) if row is not None and row[0] is not None else 0

    def oldest_ids(self, count: int) -> list[int]:
        rows = self._conn.execute("SELECT id FROM flows ORDER BY id LIMIT ?", (count,))
        return [int(r[0]) for r in rows]

    def set_meta(self, key: str, value: str) -> None:
        """Keep ``value`` under ``key`` in the ``meta`` table."""
        with self._conn:
            self._conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # Reading

    def meta(self, key: str) -> str | None:
        """The ``meta`` value under ``key``, or None."""
        try:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.DatabaseError as exc:
            raise SessionError(f"{self.path}: a damaged session ({exc})") from None
        return None if row is None else str(row[0])

    def info(self) -> SessionInfo:
        try:
            count, first, last = self._conn.execute(
                "SELECT count(*), min(t_start), max(coalesce(t_end, t_start)) FROM flows"
            ).fetchone()
        except sqlite3.DatabaseError as exc:
            raise SessionError(f"{self.path}: a damaged session ({exc})") from None
        return SessionInfo(int(count), first, last, SCHEMA)

    def ids(self) -> list[int]:
        return [int(r[0]) for r in self._conn.execute("SELECT id FROM flows ORDER BY id")]

    def rows(self, after: int = 0, limit: int = 5000) -> list[tuple[Any, ...]]:
        """Summary rows of flows with ids after ``after``, in id order."""
        cursor = self._conn.execute(
            "SELECT id, row FROM flows WHERE id > ? ORDER BY id LIMIT ?", (after, limit)
        )
        return [_row(i, row) for i, row in cursor]

    def heads(self, after: int = 0, limit: int = 500) -> list[tuple[int, tuple[Any, ...], bytes]]:
        """Flows with ids after ``after``, in id order: id, summary row and
        the packed head (``load`` makes it a flow), without their bodies."""
        cursor = self._conn.execute(
            "SELECT id, row, head FROM flows WHERE id > ? ORDER BY id LIMIT ?", (after, limit)
        )
        return [(int(i), _row(i, row), head) for i, row, head in cursor]

    def heads_of(self, ids: Iterable[int]) -> list[tuple[int, tuple[Any, ...], bytes]]:
        """``heads`` for these ids (those in the file)."""
        wanted = sorted(set(ids))
        found: list[tuple[int, tuple[Any, ...], bytes]] = []
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            cursor = self._conn.execute(
                f"SELECT id, row, head FROM flows WHERE id IN ({marks}) ORDER BY id", chunk
            )
            found.extend((int(i), _row(i, row), head) for i, row, head in cursor)
        return found

    def count_after(self, after: int) -> int:
        row = self._conn.execute("SELECT count(*) FROM flows WHERE id > ?", (after,)).fetchone()
        return int(row[0])

    def load(self, flow_id: int, head: bytes, bodies: bool = True) -> Flow:
        """The flow of a ``heads`` entry (raises SessionError if damaged)."""
        return self._load(flow_id, head, bodies)

    def flow(self, flow_id: int) -> Flow | None:
        """One flow, bodies and messages included."""
        row = self._conn.execute("SELECT head FROM flows WHERE id = ?", (flow_id,)).fetchone()
        if row is None:
            return None
        return self._load(flow_id, row[0])

    def flows(self, by_start: bool = False, bodies: bool = True) -> Iterator[Flow]:
        """Every flow, in id order (or by start time), one at a time.
        Without ``bodies`` a flow that had some is marked ``bodies_on_disk``
        instead (read them with ``body``)."""
        order = "t_start, id" if by_start else "id"
        cursor = self._conn.execute(f"SELECT id, head FROM flows ORDER BY {order}")
        for flow_id, head in cursor:
            yield self._load(int(flow_id), head, bodies)

    def first_id(self) -> int:
        row = self._conn.execute("SELECT min(id) FROM flows").fetchone()
        return int(row[0]) if row is not None and row[0] is not None else 0

    def body(self, flow_id: int, side: int) -> bytes:
        row = self._conn.execute(
            "SELECT data FROM bodies WHERE flow_id = ? AND side = ?", (flow_id, side)
        ).fetchone()
        return _decompress(row[0]) if row is not None else b""

    def _load(self, flow_id: int, head: bytes, bodies: bool = True) -> Flow:
        try:
            detail = flow_from_wire(_unpack(_decompress(head)))
        except ProtocolError as exc:
            raise SessionError(f"a damaged record in the session (flow {flow_id}): {exc}") from None
        flow = detail.flow
        flow.id = flow_id  # the row's id rules (``renumber_by_start``)
        flow.recorded = True
        # Packed as a live flow's are once it is over: a fraction of the memory.
        flow.request.headers = PackedHeaders.of(flow.request.headers)
        if flow.response is not None:
            flow.response.headers = PackedHeaders.of(flow.response.headers)
        if not bodies:
            flow.bodies_on_disk = bool(detail.request_captured or detail.response_captured)
        else:
            flow.request.body = self.body(flow_id, REQUEST)
            if flow.response is not None:
                flow.response.body = self.body(flow_id, RESPONSE)
        if flow.websocket is not None:
            self._load_messages(flow_id, flow.websocket)
        return flow

    def _load_messages(self, flow_id: int, info: WebSocketInfo) -> None:
        row = self._conn.execute(
            "SELECT data FROM messages WHERE flow_id = ?", (flow_id,)
        ).fetchone()
        if row is None:
            return
        try:
            messages = [ws_wire.message_from_wire(m) for m in _unpack(_decompress(row[0]))]
        except ProtocolError as exc:
            raise SessionError(f"damaged messages in the session (flow {flow_id}): {exc}") from None
        info.messages.extend(messages)
        info.kept_bytes = sum(len(m.payload) for m in messages)
