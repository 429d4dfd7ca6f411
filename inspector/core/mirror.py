"""The window's row mirror: every flow's summary row, compact, by flow id.

The engine's store is the truth; the mirror is the window's copy of what
the table shows (``core.summary``), kept up to date from batches, so the
table can paint, filter and sort a million rows without asking the engine.
It is columnar: one typed array per numeric field and one interned table
per repeated text (methods, hosts, content types), so a row costs about 80
bytes plus its path, where a tuple of boxed values cost five times that.

Ids are dense: slot ``id - base - 1`` holds flow ``id``. A flow the engine
never showed (deleted or dropped before it was sent) leaves an empty slot,
as does a row removed here. Dropping the oldest rows moves the front, and
the arrays are copied without their dead front only once it is large, so a
long session costs a copy now and then, not one per drop.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from inspector.core import summary as S
from inspector.core.summary import FlowRow

ABSENT = 255
"""State code of an empty slot."""
COMPACT_AFTER = 65_536


class _Interned:
    """Values stored once, referred to by index."""

    __slots__ = ("index", "values")

    def __init__(self) -> None:
        self.values: list[str] = [""]
        self.index: dict[str, int] = {"": 0}

    def code(self, value: str) -> int:
        code = self.index.get(value)
        if code is None:
            code = len(self.values)
            self.values.append(value)
            self.index[value] = code
        return code


class RowMirror:
    def __init__(self) -> None:
        self._base = 0
        """Id of the flow just before slot 0."""
        self._front = 0
        """Slots before this index are dead (dropped); compacted away later."""
        self._live = 0
        self.methods = _Interned()
        self.schemes = _Interned()
        self.hosts = _Interned()
        self.types = _Interned()
        self.kinds = _Interned()
        self.modes = _Interned()
        self.clients = _Interned()
        self.versions = _Interned()
        self.addresses = _Interned()
        """The host parts of client and server addresses (ports apart)."""
        self._t_start = array("d")
        self._method = array("I")
        self._scheme = array("I")
        self._host = array("I")
        self._port = array("H")
        self._path: list[str] = []
        self._status = array("H")
        self._type = array("I")
        self._req_size = array("q")
        self._size = array("q")
        self._duration = array("d")
        self._state = array("B")
        self._kind = array("I")
        self._flags = array("H")
        self._mode = array("I")
        self._tunnel_id = array("q")
        self._client = array("I")
        self._proxy = array("d")
        """Proxy time in seconds, -1.0 while unknown (``core.timing``)."""
        self._version = array("I")
        self._client_host = array("I")
        self._client_port = array("H")
        self._server_host = array("I")
        self._server_port = array("H")
        self._errors: dict[int, str] = {}
        self._inner: dict[int, int] = {}
        self._websocket: dict[int, tuple[int, ...]] = {}

    # Reading

    @property
    def last_id(self) -> int:
        """The highest id the mirror has slots for (shown or not)."""
        return self._base + len(self._state)

    @property
    def first_id(self) -> int:
        """The lowest id that may still have a row."""
        return self._base + self._front + 1

    def __len__(self) -> int:
        return self._live

    def __contains__(self, flow_id: int) -> bool:
        index = flow_id - self._base - 1
        return self._front <= index < len(self._state) and self._state[index] != ABSENT

    def get(self, flow_id: int) -> FlowRow | None:
        index = flow_id - self._base - 1
        if not self._front <= index < len(self._state):
            return None
        state = self._state[index]
        if state == ABSENT:
            return None
        duration = self._duration[index]
        return FlowRow(
            flow_id,
            self._t_start[index],
            self.methods.values[self._method[index]],
            self.schemes.values[self._scheme[index]],
            self.hosts.values[self._host[index]],
            self._port[index],
            self._path[index],
            self._status[index],
            self.types.values[self._type[index]],
            self._req_size[index],
            self._size[index],
            duration if duration >= 0 else None,
            S.STATES[state],
            self.kinds.values[self._kind[index]],
            self._errors.get(flow_id, ""),
            self._flags[index],
            self.modes.values[self._mode[index]],
            self._inner.get(flow_id, 0),
            self._tunnel_id[index],
            self._websocket.get(flow_id, ()),
            self.clients.values[self._client[index]],
            self._proxy[index] if self._proxy[index] >= 0 else None,
            self.versions.values[self._version[index]],
            self._address(self._client_host, self._client_port, index),
            self._address(self._server_host, self._server_port, index),
        )

    def _address(self, hosts: array[int], ports: array[int], index: int) -> str:
        host = self.addresses.values[hosts[index]]
        return f"{host}:{ports[index]}" if host else ""

    def ids(self, first: int = 1, last: int | None = None) -> Iterator[int]:
        """Ids with a row, ``first <= id <= last``, in order."""
        base, state = self._base, self._state
        stop = len(state) if last is None else min(last - base, len(state))
        for index in range(max(first - base - 1, self._front), stop):
            if state[index] != ABSENT:
                yield base + index + 1

    def rows(self, first: int = 1, last: int | None = None) -> Iterator[FlowRow]:
        for flow_id in self.ids(first, last):
            row = self.get(flow_id)
            if row is not None:
                yield row

    def recent_proxy_times(self, count: int) -> list[float]:
        """The known proxy times of the newest ``count`` finished flows,
        looking at no more than ``4 * count`` slots (the status bar's
        aggregate: a bounded look, however many rows there are)."""
        found: list[float] = []
        proxy, state = self._proxy, self._state
        index = len(state) - 1
        stop = max(self._front, index - 4 * count)
        while index >= stop and len(found) < count:
            if state[index] in (2, 3) and proxy[index] >= 0:
                found.append(proxy[index])
            index -= 1
        return found

    def finished(self, flow_id: int) -> bool:
        index = flow_id - self._base - 1
        if not self._front <= index < len(self._state):
            return False
        return self._state[index] in (2, 3)

    def sort_key(self, field: int) -> Callable[[int], Any]:
        """A key for sorting ids by summary ``field``: a plain number or
        text, missing values (no response, unfinished) first."""
        base = self._base
        if field == S.ID:
            return lambda i: i
        numbers: dict[int, array[Any]] = {
            S.T_START: self._t_start,
            S.SIZE: self._size,
            S.DURATION: self._duration,
            S.PORT: self._port,
            S.REQ_SIZE: self._req_size,
            S.PROXY_TIME: self._proxy,
        }
        if field == S.STATUS:
            status, flags = self._status, self._flags

            def by_status(i: int) -> int:
                index = i - base - 1
                return status[index] if flags[index] & S.FLAG_HAS_RESPONSE else -1

            return by_status
        column = numbers.get(field)
        if column is not None:
            return lambda i: column[i - base - 1]
        if field == S.PATH:
            paths = self._path
            return lambda i: paths[i - base - 1]
        if field == S.ERROR:
            errors = self._errors
            return lambda i: errors.get(i, "")
        if field == S.INNER:
            inner = self._inner
            return lambda i: inner.get(i, 0)
        if field in (S.CLIENT_ADDR, S.SERVER_ADDR):
            hosts, ports = (
                (self._client_host, self._client_port)
                if field == S.CLIENT_ADDR
                else (self._server_host, self._server_port)
            )
            values = self.addresses.values
            return lambda i: (values[hosts[i - base - 1]], ports[i - base - 1])
        if field == S.FLAGS:
            # The flags sort as the Rules column shows them: whether a rule acted.
            flags = self._flags
            return lambda i: flags[i - base - 1] & S.FLAG_RULES
        texts: dict[int, tuple[array[int], _Interned]] = {
            S.METHOD: (self._method, self.methods),
            S.SCHEME: (self._scheme, self.schemes),
            S.HOST: (self._host, self.hosts),
            S.CONTENT_TYPE: (self._type, self.types),
            S.ERROR_KIND: (self._kind, self.kinds),
            S.TUNNEL_MODE: (self._mode, self.modes),
            S.CLIENT: (self._client, self.clients),
            S.VERSION: (self._version, self.versions),
        }
        if field in texts:
            codes, table = texts[field]
            values = table.values
            return lambda i: values[codes[i - base - 1]]
        raise ValueError(f"no sort key for field {field}")

    # Writing

    def apply(self, rows: Iterable[tuple[Any, ...]], through: int = 0) -> list[int]:
        """Take summary rows (checked with ``summary.check_row``) and extend
        the slots to ``through``; return the ids that got their first row.
        Rows for ids already forgotten are ignored."""
        fresh: list[int] = []
        if through > self.last_id:
            self._grow(through)
        for row in rows:
            flow_id = row[S.ID]
            index = flow_id - self._base - 1
            if index < self._front:
                continue
            if index >= len(self._state):
                self._grow(flow_id)
            if self._state[index] == ABSENT:
                self._live += 1
                fresh.append(flow_id)
            self._set(index, flow_id, row)
        if len(fresh) > 1:
            fresh.sort()
        return fresh

    def _grow(self, last_id: int) -> None:
        count = last_id - self.last_id
        if count <= 0:
            return
        zeros_d = array("d", bytes(8 * count))
        self._t_start.extend(zeros_d)
        self._duration.extend(zeros_d)
        self._proxy.extend(zeros_d)
        zeros_i = array("I", bytes(4 * count))
        for column in (
            self._method,
            self._scheme,
            self._host,
            self._type,
            self._kind,
            self._mode,
            self._client,
            self._version,
            self._client_host,
            self._server_host,
        ):
            column.extend(zeros_i)
        zeros_h = array("H", bytes(2 * count))
        for column_h in (self._port, self._status, self._client_port, self._server_port):
            column_h.extend(zeros_h)
        zeros_q = array("q", bytes(8 * count))
        self._req_size.extend(zeros_q)
        self._size.extend(zeros_q)
        self._tunnel_id.extend(zeros_q)
        self._flags.extend(array("H", bytes(2 * count)))
        self._state.extend(array("B", [ABSENT]) * count)
        self._path.extend([""] * count)

    def _set(self, index: int, flow_id: int, row: tuple[Any, ...]) -> None:
        self._t_start[index] = row[S.T_START]
        self._method[index] = self.methods.code(row[S.METHOD])
        self._scheme[index] = self.schemes.code(row[S.SCHEME])
        self._host[index] = self.hosts.code(row[S.HOST])
        self._port[index] = row[S.PORT] & 0xFFFF
        self._path[index] = row[S.PATH]
        self._status[index] = min(max(row[S.STATUS], 0), 0xFFFF)
        self._type[index] = self.types.code(row[S.CONTENT_TYPE])
        self._req_size[index] = row[S.REQ_SIZE]
        self._size[index] = row[S.SIZE]
        self._duration[index] = row[S.DURATION]
        self._state[index] = row[S.STATE]
        self._kind[index] = self.kinds.code(row[S.ERROR_KIND])
        self._flags[index] = row[S.FLAGS] & 0xFFFF
        self._mode[index] = self.modes.code(row[S.TUNNEL_MODE])
        self._tunnel_id[index] = row[S.TUNNEL_ID]
        self._client[index] = self.clients.code(S.client_of(row))
        self._proxy[index] = row[S.PROXY_TIME] if len(row) > S.PROXY_TIME else -1.0
        self._version[index] = self.versions.code(S.text_at(row, S.VERSION))
        self._client_host[index], self._client_port[index] = self._split(
            S.text_at(row, S.CLIENT_ADDR)
        )
        self._server_host[index], self._server_port[index] = self._split(
            S.text_at(row, S.SERVER_ADDR)
        )
        if row[S.ERROR]:
            self._errors[flow_id] = row[S.ERROR]
        else:
            self._errors.pop(flow_id, None)
        if row[S.INNER]:
            self._inner[flow_id] = row[S.INNER]
        if row[S.WEBSOCKET]:
            self._websocket[flow_id] = tuple(row[S.WEBSOCKET])

    def _split(self, address: str) -> tuple[int, int]:
        """An address as its interned host and its port (0, 0 for none)."""
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            return 0, 0
        return self.addresses.code(host), int(port) & 0xFFFF

    def remove(self, flow_id: int) -> bool:
        index = flow_id - self._base - 1
        if not self._front <= index < len(self._state) or self._state[index] == ABSENT:
            return False
        self._clear_slot(index, flow_id)
        return True

    def _clear_slot(self, index: int, flow_id: int) -> None:
        self._state[index] = ABSENT
        self._path[index] = ""
        self._errors.pop(flow_id, None)
        self._inner.pop(flow_id, None)
        self._websocket.pop(flow_id, None)
        self._live -= 1

    def forget_through(self, flow_id: int) -> None:
        """Drop every row with an id up to ``flow_id`` (the engine dropped
        those flows, or cleared them)."""
        stop = min(flow_id - self._base, len(self._state))
        if stop <= self._front and flow_id <= self.last_id:
            return
        if stop >= len(self._state):
            # Everything goes: start over past it, as the store does.
            self._base = max(flow_id, self.last_id)
            self._front = 0
            self._live = 0
            self._errors.clear()
            self._inner.clear()
            self._websocket.clear()
            for column in self._columns():
                del column[:]
            return
        base = self._base
        for index in range(self._front, stop):
            if self._state[index] != ABSENT:
                self._clear_slot(index, base + index + 1)
        self._front = stop
        if stop >= COMPACT_AFTER and stop * 2 >= len(self._state):
            for column in self._columns():
                del column[:stop]
            self._base += stop
            self._front = 0

    def _columns(self) -> tuple[Any, ...]:
        return (
            self._t_start,
            self._method,
            self._scheme,
            self._host,
            self._port,
            self._path,
            self._status,
            self._type,
            self._req_size,
            self._size,
            self._duration,
            self._state,
            self._kind,
            self._flags,
            self._mode,
            self._tunnel_id,
            self._client,
            self._proxy,
            self._version,
            self._client_host,
            self._client_port,
            self._server_host,
            self._server_port,
        )
