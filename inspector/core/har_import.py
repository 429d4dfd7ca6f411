"""HAR import: an HTTP Archive read as flows, one entry at a time.

``read_har`` streams the file with ijson (its C backend), so an archive of
hundreds of MB is never held whole: memory follows the largest entry (its
text, then its bytes), and the test reads 50 MiB within about 1 MiB. Before
any flow it checks the shape (JSON, a ``log`` object, a ``log.entries``
array) and raises ``NotHar`` if the input is not HAR, so a caller that
creates its output after the call leaves nothing behind. Each entry then
becomes one flow (``core.har_entry``); an entry that is not usable in
part keeps what could be read and carries an ``import`` error
(``IMPORT_ERROR``: count those), never dropped. A file that breaks off, or
stops being JSON, inside the entries yields the flows before the break
and one for the entry it broke in, then raises ``TruncatedHar``.

Flows come in file order with ids 1..N (the entry's position); the caller
(the session writer) gives them real ids. Tools write entries in the order
they finished, not started; every flow has ``t_start`` set (an entry
without a readable date takes the one before it), so ``sorted_by_start``,
or a sort on ``t_start``, puts them in start order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

import ijson  # type: ignore[import-untyped]

from inspector.core.flow import Flow
from inspector.core.har_entry import FAILED, IMPORT_ERROR, MAX_BODY, convert, entry_to_flow

__all__ = [
    "FAILED",
    "IMPORT_ERROR",
    "MAX_BODY",
    "HarError",
    "NotHar",
    "TruncatedHar",
    "entry_to_flow",
    "read_har",
    "sorted_by_start",
]

_BOM = b"\xef\xbb\xbf"
_OPEN = frozenset({"start_map", "start_array"})
_CLOSE = frozenset({"end_map", "end_array"})
_NOTHING = object()


class HarError(ValueError):
    """The file could not be read as a whole HAR file."""


class NotHar(HarError):
    """The input is not HAR (not JSON, no ``log`` object, no ``log.entries``
    array). Raised by ``read_har`` itself, before any flow exists."""


class TruncatedHar(HarError):
    """The file broke off, or stopped being valid JSON, inside the entries.
    Raised after the flows before the break (and one for an entry cut
    short); ``flows`` is how many were yielded."""

    def __init__(self, message: str, flows: int) -> None:
        super().__init__(message)
        self.flows = flows


def read_har(source: BinaryIO, *, max_body: int = MAX_BODY) -> Iterator[Flow]:
    """The flows of the HAR file ``source``, in file order.

    Raises ``NotHar`` here, before returning, when the input is not HAR;
    the iterator raises ``TruncatedHar`` where a damaged file breaks off,
    and passes on the source's own ``OSError``. Bodies past ``max_body``
    bytes are cut there (their size is kept).
    """
    events = ijson.basic_parse(_WithoutBom(source))
    _find_entries(events)
    return _flows(events, max(max_body, 0))


def sorted_by_start(flows: Iterable[Flow]) -> list[Flow]:
    """``flows`` in start order (file order among equal starts). Holds them
    all: for a large import, sort the written rows by ``t_start`` instead."""
    return sorted(flows, key=lambda flow: flow.t_start)


class _WithoutBom:
    """``source`` read with a leading UTF-8 byte order mark left out (the
    JSON parser rejects it, and Windows tools write one)."""

    def __init__(self, source: BinaryIO) -> None:
        self._source = source
        head = b""
        while len(head) < len(_BOM):
            chunk = source.read(len(_BOM) - len(head))
            if not chunk:
                break
            head += chunk
        self._head = head[len(_BOM) :] if head == _BOM else head

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""  # the parser's probe for bytes or text
        if self._head:
            head, self._head = self._head, b""
            return head
        return self._source.read(size)


def _detail(exc: Exception) -> str:
    """The first line of a parser error (the rest quotes the file)."""
    text = str(exc)
    if text.startswith(("b'", 'b"')):
        text = text[2:]
    return text.replace("\\n", "\n").split("\n", 1)[0].strip() or type(exc).__name__


def _find_entries(events: Iterator[tuple[str, Any]]) -> None:
    """Read ``events`` up to the start of the ``log.entries`` array, or
    raise ``NotHar``. Keys count at their depth only: a top-level key
    spelled ``"log.entries"``, or an ``entries`` key deeper in, is not it."""
    try:
        first = next(events, None)
    except ijson.JSONError as exc:
        message = _detail(exc)
        if "premature EOF" in message:
            raise NotHar("not a HAR file: the file is empty") from None
        raise NotHar(f"not a HAR file: not JSON ({message})") from None
    if first is None:
        raise NotHar("not a HAR file: the file is empty")
    if first[0] != "start_map":
        raise NotHar(f"not a HAR file: the top level is {_json_kind(first[0])}, not an object")
    depth = 1
    key = log_key = None
    in_log = False
    try:
        for event, value in events:
            if event == "map_key":
                if depth == 1:
                    key = value
                elif depth == 2 and in_log:
                    log_key = value
            elif depth == 1 and key == "log" and not in_log:
                if event != "start_map":
                    raise NotHar(f"not a HAR file: log is {_json_kind(event)}, not an object")
                in_log = True
                depth = 2
            elif depth == 2 and in_log and log_key == "entries":
                if event == "start_array":
                    return
                raise NotHar(f"not a HAR file: log.entries is {_json_kind(event)}, not an array")
            elif event in _OPEN:
                depth += 1
            elif event in _CLOSE:
                depth -= 1
                if in_log and depth == 1:
                    raise NotHar("not a HAR file: log has no entries array")
    except ijson.JSONError as exc:
        detail = _detail(exc)
        raise NotHar(f"not a HAR file: not valid JSON before the entries ({detail})") from None
    raise NotHar("not a HAR file: there is no log object")


def _json_kind(event: str) -> str:
    return {
        "start_map": "an object",
        "start_array": "an array",
        "string": "a string",
        "number": "a number",
        "boolean": "a boolean",
        "null": "null",
    }.get(event, event)


def _flows(events: Iterator[tuple[str, Any]], max_body: int) -> Iterator[Flow]:
    position = 0
    start = 0.0
    try:
        for entry in _entries(events):
            position += 1
            flow = convert(entry, position, max_body, start, [])
            start = flow.t_start
            yield flow
    except _Broken as broken:
        cut = broken.partial is not _NOTHING
        if cut:
            where = f"in entry {position + 1}"
        else:
            where = f"after entry {position}" if position else "before the first entry"
        if "premature EOF" in broken.detail:
            message = f"the file ends early, {where}"
        else:
            message = f"the file is not valid JSON {where} ({broken.detail})"
        if cut:
            position += 1
            yield convert(broken.partial, position, max_body, start, [message])
        raise TruncatedHar(message, position) from None


class _Broken(Exception):
    """The parser failed inside the entries; ``partial`` is what was built
    of the entry it failed in (``_NOTHING`` between entries)."""

    def __init__(self, detail: str, partial: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.partial = partial


def _entries(events: Iterator[tuple[str, Any]]) -> Iterator[object]:
    """The values of the ``log.entries`` array, one at a time, from just
    after its start; what follows the array is not read. The values are
    built here rather than by ijson's ``ObjectBuilder``: one loop without
    a call per event reads a file in about 60% of the time."""
    open_: list[Any] = []
    """The containers of the entry being built, outermost first."""
    key: Any = None
    try:
        for event, value in events:
            if event == "map_key":
                key = value
                continue
            if event == "end_map" or event == "end_array":
                if not open_:
                    return  # the end of log.entries
                done = open_.pop()
                if not open_:
                    yield done
                continue
            if event == "start_map":
                value = {}
            elif event == "start_array":
                value = []
            if open_:
                top = open_[-1]
                if type(top) is list:
                    top.append(value)
                else:
                    top[key] = value
            if event == "start_map" or event == "start_array":
                open_.append(value)
            elif not open_:
                yield value
    except ijson.JSONError as exc:
        raise _Broken(_detail(exc), open_[0] if open_ else _NOTHING) from None
    raise _Broken("premature EOF", open_[0] if open_ else _NOTHING)
