"""The session writer's own process: commits flows to the session file.

The engine sends it frames (``core.protocol``) on its standard input, each
with a sequence number: ``write`` (records, ``core.session.record``),
``delete`` (ids), ``clear`` (every id up to one), ``limit`` (the file's new
size cap). It compresses and commits the writes that arrived together in
one transaction, then answers ``ack`` with the last sequence number done
on its standard output, so the engine knows which flows the file holds.

Living in its own process, the compressing and the SQLite work take no
time from the engine's interpreter (as a thread they took its lock at
every statement and fell behind under load). When the engine goes, even
killed, this process reads the end of its input, commits what it had and
exits: what was handed over is not lost with the engine.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

from inspector.core import protocol
from inspector.core.protocol import FrameReader, ProtocolError
from inspector.core.session import Record, Session, SessionError

COMMAND = "__session_writer__"
TRIM_STEP = 0.02
"""The share of the file's flows removed at a time when over its cap."""
READ_SIZE = 1 << 20


WRITABLE_META = frozenset({"rules"})
"""What the engine may keep in the session's meta table (the schema and
the app's name are the session's own)."""


def _records(value: Any) -> list[Record]:
    if not isinstance(value, list | tuple):
        raise ProtocolError("'write' takes a list of records")
    records = []
    for item in value:
        if not isinstance(item, list | tuple) or len(item) != 8:
            raise ProtocolError("a malformed record")
        records.append(tuple(item))
    return records


class _Writer:
    def __init__(self, session: Session, max_bytes: int) -> None:
        self.session = session
        self.max_bytes = max_bytes

    def handle(self, messages: list[dict[str, Any]]) -> int | None:
        """Apply ``messages`` in order; the last one's sequence number."""
        acked = None
        # Writes that arrived together go in one transaction.
        waiting: list[Record] = []
        for message in messages:
            kind = message["t"]
            seq = protocol.field(message, "seq", int)
            if kind == "write":
                waiting += _records(message.get("records"))
                acked = seq
                continue
            if waiting:
                self.session.write_records(waiting)
                waiting = []
            if kind == "delete":
                ids = protocol.field(message, "ids", (list, tuple))
                self.session.delete(int(i) for i in ids)
            elif kind == "clear":
                self.session.delete_through(protocol.field(message, "through", int))
            elif kind == "limit":
                self.max_bytes = protocol.field(message, "bytes", int)
            elif kind == "meta":
                key = protocol.field(message, "key", str)
                if key not in WRITABLE_META:
                    raise ProtocolError(f"meta key {key!r} is not the writer's to set")
                self.session.set_meta(key, protocol.field(message, "value", str))
            else:
                raise ProtocolError(f"unexpected message {kind!r}")
            acked = seq
        if waiting:
            self.session.write_records(waiting)
        if acked is not None and self.session.size() > self.max_bytes:
            self._trim()
        return acked

    def _trim(self) -> None:
        session = self.session
        while session.size() > self.max_bytes:
            count = max(1, int(session.info().flows * TRIM_STEP))
            oldest = session.oldest_ids(count)
            if not oldest:
                return
            session.delete(oldest)


def main(argv: list[str]) -> int:
    """``__session_writer__ PATH MAX_BYTES``: serve the engine until its
    input ends."""
    # Ctrl+C in a terminal reaches the whole process group: the engine
    # ends this process in order by closing its input.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if len(argv) != 2 or not argv[1].isdigit():
        print(f"inspector {COMMAND}: usage: PATH MAX_BYTES", file=sys.stderr)
        return 2
    try:
        session = Session.open(Path(argv[0]), writable=True)
    except SessionError as exc:
        print(f"inspector {COMMAND}: {exc}", file=sys.stderr)
        return 2
    writer = _Writer(session, int(argv[1]))
    reader = FrameReader()
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    try:
        while data := os.read(stdin, READ_SIZE):
            acked = writer.handle(reader.feed(data))
            if acked is not None:
                os.write(stdout, protocol.encode({"t": "ack", "seq": acked}))
    except (ProtocolError, SessionError, OSError) as exc:
        print(f"inspector {COMMAND}: {exc}", file=sys.stderr)
        return 1
    finally:
        session.close()
    return 0
