"""Body capture: keep the first ``limit`` bytes of a streamed body, count the
rest. The engine streams every byte through; the flow keeps only this."""

from __future__ import annotations


class BodyCapture:
    __slots__ = ("_chunks", "_kept", "limit", "size", "truncated")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.truncated = False
        self._chunks: list[bytes] = []
        self._kept = 0

    def add(self, data: bytes) -> None:
        self.size += len(data)
        room = self.limit - self._kept
        if room <= 0:
            self.truncated = self.truncated or bool(data)
            return
        if len(data) > room:
            data = data[:room]
            self.truncated = True
        self._chunks.append(data)
        self._kept += len(data)

    def value(self) -> bytes:
        """The kept bytes, always as an immutable ``bytes``."""
        if len(self._chunks) == 1 and type(self._chunks[0]) is bytes:
            return self._chunks[0]
        body = b"".join(self._chunks)
        self._chunks = [body] if body else []
        return body
