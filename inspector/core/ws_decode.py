"""Passive WebSocket decoding: messages out of a copy of the relayed bytes.

One ``DirectionDecoder`` per direction reads the frames one side sent,
with wsproto's frame parser (masking checked: a client masks, a server
does not), and puts fragments back together into messages, each with its
size, its payload up to a cap, and for close frames the code and reason.
permessage-deflate is decoded when the server accepted it, with the
output of each piece capped so a small frame cannot inflate without
bound. Any problem (bad UTF-8, a reserved bit, an unknown extension, a
broken frame) stops decoding for that direction with a note; the bytes
themselves are relayed by the caller untouched whatever happens here.
"""

from __future__ import annotations

import codecs
import zlib
from dataclasses import dataclass

from wsproto.extensions import Extension, PerMessageDeflate
from wsproto.frame_protocol import (
    CloseReason,
    FrameDecoder,
    FrameProtocol,
    Opcode,
    ParseFailed,
    RsvBits,
    XorMaskerSimple,
)

from inspector.core.websocket import BINARY, CLOSE, DOWN, MESSAGE_CAPTURE

INFLATE_CAP = 16 * 1024 * 1024
"""Decompressed bytes one received piece may become; past it the message
is taken for a decompression bomb and decoding stops."""


@dataclass(slots=True)
class Decoded:
    """A complete message (or control frame) as one side sent it."""

    opcode: int
    size: int
    payload: bytes
    compressed: bool = False
    close_code: int | None = None


class UnsupportedExtension(ValueError):
    """The server accepted an extension this decoder does not know."""


class _CappedDeflate(PerMessageDeflate):
    """permessage-deflate whose inflation stops at ``INFLATE_CAP`` a piece,
    and which lets control frames pass between the fragments of a
    compressed message: wsproto's class ends the message's inflation at a
    control frame, so its next fragment would be read as uncompressed."""

    compressed_message = False
    """Whether the last text or binary message begun had RSV1 set."""
    _control = False

    def frame_inbound_header(
        self, proto: FrameDecoder | FrameProtocol, opcode: Opcode, rsv: RsvBits, payload_length: int
    ) -> CloseReason | RsvBits:
        self._control = opcode.iscontrol()
        if self._control:
            # RFC 7692 section 6.1: RSV1 is not set on control frames.
            return CloseReason.PROTOCOL_ERROR if rsv.rsv1 else RsvBits(False, False, False)
        if opcode is not Opcode.CONTINUATION:
            self.compressed_message = rsv.rsv1
        return super().frame_inbound_header(proto, opcode, rsv, payload_length)

    def frame_inbound_complete(
        self, proto: FrameDecoder | FrameProtocol, fin: bool
    ) -> bytes | CloseReason | None:
        if self._control:
            return None
        return super().frame_inbound_complete(proto, fin)

    def frame_inbound_payload_data(self, proto: object, data: bytes) -> bytes | CloseReason:
        if self._control or not self._inbound_compressed or not self._inbound_is_compressible:
            return data
        assert self._decompressor is not None
        try:
            out = self._decompressor.decompress(bytes(data), INFLATE_CAP)
        except zlib.error:
            return CloseReason.INVALID_FRAME_PAYLOAD_DATA
        if self._decompressor.unconsumed_tail:
            return CloseReason.MESSAGE_TOO_BIG
        return out


class _LazyMasker(XorMaskerSimple):
    """Unmasks a client's frame unless its frames say the bytes are not
    wanted (binary data past the capture): unmasking in Python costs a
    millisecond a MiB, the largest part of decoding a client's upload."""

    def __init__(self, key: bytes | bytearray, frames: _Frames) -> None:
        super().__init__(key)
        self._frames = frames

    def process(self, data: bytearray) -> bytearray:
        if not self._frames.skip_unmask:
            return super().process(data)
        turn = len(data) % 4
        if turn:
            key = self._masking_key
            self._masking_key = key[turn:] + key[:turn]
        return data


class _Frames(FrameDecoder):
    skip_unmask = False
    """Set while the bytes of the current message are only counted."""

    def parse_header(self) -> bool:
        parsed = super().parse_header()
        # Control frames (a ping between the fragments) are always read.
        header = self.header
        if (
            parsed
            and header is not None
            and not header.opcode.iscontrol()
            and isinstance(self.masker, XorMaskerSimple)
        ):
            self.masker = _LazyMasker(self.masker._masking_key, self)
        return parsed


def negotiated_extensions(accepted: str) -> list[str]:
    """The extension offers in a server's ``Sec-WebSocket-Extensions``
    (one string per extension, its parameters included)."""
    return [part.strip() for part in accepted.split(",") if part.strip()]


def _extensions(accepted: str) -> list[Extension]:
    extensions: list[Extension] = []
    for offer in negotiated_extensions(accepted):
        name = offer.split(";", 1)[0].strip().lower()
        if name != PerMessageDeflate.name:
            raise UnsupportedExtension(f"unknown extension {name!r}")
        deflate = _CappedDeflate()
        try:
            deflate.finalize(offer)
        except ValueError as exc:
            raise UnsupportedExtension(f"bad permessage-deflate parameters: {exc}") from None
        extensions.append(deflate)
    return extensions


class DirectionDecoder:
    """The messages of one direction. ``feed`` returns the messages
    completed by the bytes given; after a failure it returns nothing and
    ``failed`` says why."""

    def __init__(self, direction: int, accepted_extensions: str = "") -> None:
        self.direction = direction
        self.failed = ""
        self._frames: _Frames | None = None
        try:
            extensions = _extensions(accepted_extensions)
        except UnsupportedExtension as exc:
            self.failed = str(exc)
            return
        # Frames from the server are read as a client reads them (unmasked),
        # and frames from the client as a server does (masked).
        self._frames = _Frames(client=direction == DOWN, extensions=extensions)
        self._opcode: int | None = None
        self._size = 0
        self._parts: list[bytes] = []
        self._kept = 0
        self._compressed = False
        self._utf8: codecs.IncrementalDecoder | None = None

    @property
    def incomplete(self) -> bool:
        """In the middle of a frame or of a fragmented message."""
        frames = self._frames
        if frames is None or self.failed:
            return False
        return bool(len(frames.buffer)) or frames.header is not None or self._opcode is not None

    def feed(self, data: bytes) -> list[Decoded]:
        frames = self._frames
        if frames is None or self.failed:
            return []
        done: list[Decoded] = []
        try:
            frames.receive_bytes(data)
            while True:
                # Past the capture, a plain binary message's bytes are only
                # counted: a client's need no unmasking.
                frames.skip_unmask = (
                    self._opcode == BINARY
                    and not self._compressed
                    and self._kept >= MESSAGE_CAPTURE
                )
                frame = frames.process_buffer()
                if frame is None:
                    break
                # FrameDecoder (unlike FrameProtocol) leaves payloads as bytes.
                assert isinstance(frame.payload, bytes)
                # FrameDecoder hands a frame over in pieces as its bytes
                # arrive, each piece marked with the frame's FIN bit: the
                # message ends with the last piece of a FIN frame.
                finished = frame.frame_finished and frame.message_finished
                message = self._frame(frame.opcode, frame.payload, finished)
                if message is not None:
                    done.append(message)
        except ParseFailed as exc:
            self.failed = _why(exc)
            self._frames = None
        except UnicodeDecodeError:
            self.failed = "a text message is not valid UTF-8"
            self._frames = None
        return done

    def _frame(self, opcode: Opcode, payload: bytes, finished: bool) -> Decoded | None:
        if opcode.iscontrol():
            # Control frames are whole (at most 125 bytes) and may come
            # between the fragments of a message.
            if not finished:
                return None
            if opcode is Opcode.CLOSE:
                return _close(payload)
            return Decoded(int(opcode), len(payload), bytes(payload))
        if self._opcode is None:
            if opcode is Opcode.CONTINUATION:
                raise ParseFailed("a continuation frame with no message to continue")
            self._opcode = int(opcode)
            self._compressed = self._is_compressed()
            self._utf8 = codecs.getincrementaldecoder("utf-8")() if opcode is Opcode.TEXT else None
        elif opcode is not Opcode.CONTINUATION:
            raise ParseFailed(f"a new {opcode.name} message before the last one ended")
        self._size += len(payload)
        room = MESSAGE_CAPTURE - self._kept
        if room > 0 and payload:
            part = bytes(payload[:room])
            self._parts.append(part)
            self._kept += len(part)
        if self._utf8 is not None:
            self._utf8.decode(payload, finished)
        if not finished:
            return None
        message = Decoded(self._opcode, self._size, b"".join(self._parts), self._compressed)
        self._opcode, self._size, self._parts, self._kept = None, 0, [], 0
        self._utf8 = None
        return message

    def _is_compressed(self) -> bool:
        frames = self._frames
        if frames is None:
            return False
        for extension in frames.extensions:
            if isinstance(extension, _CappedDeflate):
                return extension.compressed_message
        return False


def _close(payload: bytes) -> Decoded:
    if not payload:
        return Decoded(CLOSE, 0, b"", close_code=1005)
    if len(payload) == 1:
        raise ParseFailed("a close frame with a one-byte payload")
    code = int.from_bytes(payload[:2], "big")
    reason = bytes(payload[2:])
    reason.decode("utf-8")  # UnicodeDecodeError stops decoding
    return Decoded(CLOSE, len(payload), reason, close_code=code)


def _why(exc: ParseFailed) -> str:
    text = str(exc) or "invalid frame"
    if exc.code is CloseReason.MESSAGE_TOO_BIG:
        return f"a compressed message inflates past {INFLATE_CAP // (1024 * 1024)} MiB"
    if exc.code is CloseReason.INVALID_FRAME_PAYLOAD_DATA and text == "error in extension":
        return "a compressed message does not inflate"
    return text
