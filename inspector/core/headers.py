"""Header lists packed into one bytes object, for flows that are over.

A header list as the wire gives it is a list of ``(name, value)`` tuples:
a list, a tuple and two bytes objects a header, about 150 bytes of objects
for 20-odd bytes of text. A finished flow's headers no longer change, so
the recorder packs them: each header's name and value lengths and bytes,
one after the other, in a single bytes object, read back as the same
``(name, value)`` pairs on demand. A million finished flows hold about
half a GiB less this way (``tests/bench/bench_model.py`` measures it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import overload

Pair = tuple[bytes, bytes]


class PackedHeaders(Sequence[Pair]):
    """An immutable sequence of ``(name, value)`` pairs in one bytes object."""

    __slots__ = ("_count", "_data")

    def __init__(self, pairs: Iterable[Pair] = ()) -> None:
        parts: list[bytes] = []
        count = 0
        for name, value in pairs:
            parts.append(len(name).to_bytes(4, "big"))
            parts.append(len(value).to_bytes(4, "big"))
            parts.append(name)
            parts.append(value)
            count += 1
        self._data = b"".join(parts)
        self._count = count

    @classmethod
    def of(cls, headers: Sequence[Pair]) -> PackedHeaders:
        """``headers`` packed (as they are, when already packed)."""
        return headers if isinstance(headers, PackedHeaders) else cls(headers)

    def __iter__(self) -> Iterator[Pair]:
        data = self._data
        at = 0
        end = len(data)
        while at < end:
            name_end = at + 8 + int.from_bytes(data[at : at + 4], "big")
            value_end = name_end + int.from_bytes(data[at + 4 : at + 8], "big")
            yield data[at + 8 : name_end], data[name_end:value_end]
            at = value_end

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> Pair: ...

    @overload
    def __getitem__(self, index: slice) -> list[Pair]: ...

    def __getitem__(self, index: int | slice) -> Pair | list[Pair]:
        return list(self)[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PackedHeaders):
            return self._data == other._data
        if isinstance(other, list | tuple):
            return list(self) == list(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._data)

    def __repr__(self) -> str:
        return f"PackedHeaders({list(self)!r})"

    @property
    def nbytes(self) -> int:
        """The bytes of names and values it holds, with their lengths."""
        return len(self._data)
