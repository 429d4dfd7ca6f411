"""The render helper's wire: how the window and ``inspector __render__``
(``render_helper.py``) frame what they send each other.

A frame is a 4-byte big-endian length and a msgpack map. The window sends
``{"id", "slot", "job"}`` (``body_render.job_to_wire``); the helper answers
each id with ``{"id", "part", "data"}`` frames, then ``{"id", "end"}`` or
``{"id", "error"}``. A newer job in the same slot (the same viewer) makes
the helper drop an older one, which then ends with no more parts. Frames
are larger than the engine protocol's (a rendered 8 MiB JSON body is some
40 MB of text, runs and tree), hence a framing of their own.
"""

from __future__ import annotations

import struct
from typing import Any

import msgpack

HELPER_COMMAND = "__render__"
"""The hidden subcommand that runs the helper."""
MAX_FRAME = 1024 * 1024 * 1024
_LENGTH = struct.Struct(">I")


class FrameError(Exception):
    pass


def encode_frame(message: dict[str, Any]) -> bytes:
    payload: bytes = msgpack.packb(message, use_bin_type=True)
    return _LENGTH.pack(len(payload)) + payload


class FrameBuffer:
    """Frames out of a byte stream that comes in pieces."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        self._buffer += data
        frames: list[dict[str, Any]] = []
        at = 0
        buffer = self._buffer
        while len(buffer) - at >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(buffer, at)
            if length > MAX_FRAME:
                raise FrameError(f"frame of {length:,} bytes")
            if len(buffer) - at - _LENGTH.size < length:
                break
            start = at + _LENGTH.size
            message = msgpack.unpackb(
                bytes(buffer[start : start + length]), raw=False, strict_map_key=False
            )
            if not isinstance(message, dict):
                raise FrameError("a frame that is not a map")
            frames.append(message)
            at = start + length
        if at:
            del buffer[:at]
        return frames
