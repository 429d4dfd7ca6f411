"""The engine protocol's framing: length-prefixed msgpack messages, sans-IO.

A frame is a 4-byte big-endian length followed by that many bytes of
msgpack holding one map, the message, whose ``"t"`` names its kind (see
``docs/protocol.md``). ``encode`` makes a frame; ``FrameReader`` takes bytes
as they arrive and returns whole messages. Nothing here touches a socket,
so both ends (the engine's service and the window's client) and the tests
share it.

What comes off the wire is not trusted: a frame longer than
``MAX_FRAME``, bytes that are not msgpack, msgpack extension types (which
could smuggle in objects a decoder builds), a top-level value that is not a
map, or a map without a text ``"t"`` raises ``ProtocolError``, and the
reader is then unusable (the caller closes the channel). Containers and
strings are bounded by the frame's own size.
"""

from __future__ import annotations

import struct
from typing import Any

import msgpack

VERSION = 1
"""Protocol version, exchanged in ``hello``; a mismatch ends the channel."""
MAX_FRAME = 32 * 1024 * 1024
"""Largest message accepted. A body range is at most ``MAX_BODY_RANGE``
and a batch at most a few MiB, so this is room to spare, not a target."""
MAX_BODY_RANGE = 4 * 1024 * 1024
"""Largest body slice one ``body`` request returns."""
_HEADER = struct.Struct(">I")

Message = dict[str, Any]


class ProtocolError(Exception):
    """The peer sent something that is not a valid frame or message."""


def encode(message: Message) -> bytes:
    """One frame holding ``message`` (a map with a text ``"t"``)."""
    payload: bytes = msgpack.packb(message, use_bin_type=True)
    if len(payload) > MAX_FRAME:
        raise ProtocolError(f"message of {len(payload):,} bytes exceeds {MAX_FRAME:,}")
    return _HEADER.pack(len(payload)) + payload


def _refuse_ext(code: int, data: bytes) -> Any:
    # max_ext_len=0 refuses every extension with data; this refuses the
    # empty ones too, which would otherwise come out as ExtType values.
    raise ValueError(f"extension type {code} is not allowed")


def decode(payload: bytes) -> Message:
    """The message in one frame's payload; ProtocolError when it is not one."""
    try:
        message = msgpack.unpackb(
            payload,
            raw=False,
            use_list=False,
            strict_map_key=True,
            max_ext_len=0,
            ext_hook=_refuse_ext,
        )
    except (ValueError, msgpack.UnpackException, TypeError) as exc:
        raise ProtocolError(f"undecodable frame: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError(f"a frame holds a {type(message).__name__}, not a map")
    kind = message.get("t")
    if not isinstance(kind, str):
        raise ProtocolError("a message without a kind ('t')")
    return message


class FrameReader:
    """Turns a byte stream into messages. ``feed`` returns the messages the
    new bytes completed, in order; after a ProtocolError it raises again."""

    __slots__ = ("_broken", "_buffer", "_need")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._need = 0
        """Payload length of the frame being read (0: reading a header)."""
        self._broken: ProtocolError | None = None

    def feed(self, data: bytes) -> list[Message]:
        if self._broken is not None:
            raise self._broken
        self._buffer += data
        messages: list[Message] = []
        buffer = self._buffer
        offset = 0
        try:
            while True:
                if not self._need:
                    if len(buffer) - offset < _HEADER.size:
                        break
                    (length,) = _HEADER.unpack_from(buffer, offset)
                    if length > MAX_FRAME:
                        raise ProtocolError(f"frame of {length:,} bytes exceeds {MAX_FRAME:,}")
                    if length == 0:
                        raise ProtocolError("empty frame")
                    offset += _HEADER.size
                    self._need = length
                if len(buffer) - offset < self._need:
                    break
                payload = bytes(buffer[offset : offset + self._need])
                offset += self._need
                self._need = 0
                messages.append(decode(payload))
        except ProtocolError as exc:
            self._broken = exc
            raise
        finally:
            del buffer[:offset]
        return messages

    @property
    def pending(self) -> int:
        """Bytes received that do not yet make a whole frame."""
        return len(self._buffer)


def field(
    message: Message, name: str, kind: type | tuple[type, ...], what: str | None = None
) -> Any:
    """``message[name]`` checked to be of ``kind``; ProtocolError otherwise,
    naming ``what`` (by default the message's kind). ``bool`` is refused
    where ``int`` is asked, as msgpack keeps them apart."""
    value = message.get(name)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        shown = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise ProtocolError(f"'{what or message.get('t')}' needs '{name}' as {shown}")
    return value
