"""Passive WebSocket decoding: messages out of the bytes one side sent.

Frames are built by wsproto's sending side, by the ``websockets``
library's own frame code (an encoder independent of the decoder's), or by
hand where no library would write them (bad bits, bad masking). Whatever
the split of the bytes into reads, the decoder finds the same messages."""

from __future__ import annotations

import os
import struct
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.extensions.permessage_deflate import PerMessageDeflate as WsDeflate
from websockets.frames import Frame as WsFrame
from websockets.frames import Opcode as WsOpcode
from wsproto.extensions import Extension, PerMessageDeflate
from wsproto.frame_protocol import CloseReason, FrameProtocol

from inspector.core.websocket import BINARY, CLOSE, DOWN, MESSAGE_CAPTURE, PING, PONG, TEXT, UP
from inspector.core.ws_decode import (
    INFLATE_CAP,
    Decoded,
    DirectionDecoder,
    negotiated_extensions,
)

DEFLATE = "permessage-deflate"


def frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    rsv1: bool = False,
    mask: bytes | None = None,
    length: int | None = None,
) -> bytes:
    """One frame, byte by byte as RFC 6455 section 5.2 draws it; ``length``
    overrides the payload length written in the header."""
    size = len(payload) if length is None else length
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    masked = 0x80 if mask is not None else 0
    if size < 126:
        head = bytes([first, masked | size])
    elif size < 1 << 16:
        head = bytes([first, masked | 126]) + struct.pack("!H", size)
    else:
        head = bytes([first, masked | 127]) + struct.pack("!Q", size)
    if mask is None:
        return head + payload
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + body


def client_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """A frame as a client sends it: masked."""
    return frame(opcode, payload, fin=fin, mask=b"\x01\x02\x03\x04")


def sender(direction: int, accepted: str = "") -> FrameProtocol:
    """wsproto's sending side of ``direction`` (a client masks its frames),
    with permessage-deflate as the server accepted it."""
    extensions: list[Extension] = []
    if accepted:
        deflate = PerMessageDeflate()
        deflate.finalize(accepted)
        extensions.append(deflate)
    return FrameProtocol(client=direction == UP, extensions=extensions)


def decode(direction: int, data: bytes, accepted: str = "") -> tuple[list[Decoded], str]:
    decoder = DirectionDecoder(direction, accepted)
    messages = decoder.feed(data)
    return messages, decoder.failed


# Plain messages


@pytest.mark.parametrize("direction", [UP, DOWN], ids=["client", "server"])
def test_text_and_binary_messages(direction: int) -> None:
    proto = sender(direction)
    data = proto.send_data("héllo", fin=True) + proto.send_data(b"\x00\xff", fin=True)
    messages, failed = decode(direction, data)
    assert failed == ""
    assert messages == [
        Decoded(TEXT, 6, "héllo".encode()),
        Decoded(BINARY, 2, b"\x00\xff"),
    ]


def test_an_empty_message() -> None:
    assert decode(DOWN, frame(TEXT, b"")) == ([Decoded(TEXT, 0, b"")], "")


def test_a_fragmented_message_is_one_message() -> None:
    data = (
        client_frame(TEXT, b"one ", fin=False)
        + client_frame(0, b"two ", fin=False)
        + client_frame(0, b"three")
    )
    assert decode(UP, data) == ([Decoded(TEXT, 13, b"one two three")], "")


def test_control_frames_between_fragments_come_out_first() -> None:
    data = (
        frame(BINARY, b"ab", fin=False)
        + frame(PING, b"are you there")
        + frame(0, b"cd", fin=False)
        + frame(PONG, b"")
        + frame(0, b"ef")
    )
    messages, failed = decode(DOWN, data)
    assert failed == ""
    assert messages == [
        Decoded(PING, 13, b"are you there"),
        Decoded(PONG, 0, b""),
        Decoded(BINARY, 6, b"abcdef"),
    ]


def test_utf8_split_between_fragments_is_valid() -> None:
    e_acute = "é".encode()
    data = frame(TEXT, b"caf" + e_acute[:1], fin=False) + frame(0, e_acute[1:])
    assert decode(DOWN, data) == ([Decoded(TEXT, 5, "café".encode())], "")


# Close frames


def test_close_with_code_and_reason() -> None:
    proto = sender(UP)
    data = proto.close(CloseReason.GOING_AWAY, "bye now")
    assert decode(UP, data) == ([Decoded(CLOSE, 9, b"bye now", close_code=1001)], "")


def test_an_empty_close_is_1005() -> None:
    assert decode(DOWN, frame(CLOSE, b"")) == ([Decoded(CLOSE, 0, b"", close_code=1005)], "")


def test_a_close_code_is_kept_as_sent() -> None:
    """A passive decoder records what passed, whatever an endpoint would
    think of the code."""
    messages, failed = decode(DOWN, frame(CLOSE, struct.pack("!H", 4321)))
    assert failed == ""
    assert messages == [Decoded(CLOSE, 2, b"", close_code=4321)]


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b"\x03", "one-byte payload"),
        (b"\x03\xe8\xff\xfe", "UTF-8"),
    ],
    ids=["one byte", "reason not utf-8"],
)
def test_a_bad_close_frame_stops_decoding(payload: bytes, why: str) -> None:
    messages, failed = decode(DOWN, frame(TEXT, b"ok") + frame(CLOSE, payload))
    assert messages == [Decoded(TEXT, 2, b"ok")]
    assert why in failed


# What stops decoding


BROKEN = [
    ("client frame unmasked", UP, frame(TEXT, b"hi"), "unmasked"),
    ("server frame masked", DOWN, client_frame(TEXT, b"hi"), "masked"),
    ("text not utf-8", DOWN, frame(TEXT, b"\xc3\x28"), "not valid UTF-8"),
    ("utf-8 cut at the end", DOWN, frame(TEXT, b"caf\xc3"), "not valid UTF-8"),
    ("reserved bit, no extension", DOWN, frame(TEXT, b"hi", rsv1=True), "Reserved bit"),
    ("continuation first", DOWN, frame(0, b"hi"), "continuation frame with no message"),
    (
        "new message inside one",
        DOWN,
        frame(TEXT, b"a", fin=False) + frame(BINARY, b"b"),
        "before the last one ended",
    ),
    ("fragmented control", DOWN, frame(PING, b"", fin=False), "fragment control"),
    ("control too long", DOWN, frame(PING, b"x" * 126), "125"),
    ("unknown opcode", DOWN, frame(3, b""), "opcode"),
    (
        "two-byte length for a short payload",
        DOWN,
        b"\x82\x7e\x00\x05hello",
        "2 bytes when 1 would have sufficed",
    ),
]


@pytest.mark.parametrize(
    ("direction", "data", "why"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_a_protocol_error_stops_decoding_with_a_note(direction: int, data: bytes, why: str) -> None:
    decoder = DirectionDecoder(direction)
    assert decoder.feed(data) == []
    assert why.lower() in decoder.failed.lower()
    # Stopped for good: later bytes, however well formed, are not read.
    good = sender(direction).send_data(b"after", fin=True)
    assert decoder.feed(good) == []
    assert not decoder.incomplete


def test_messages_before_the_error_are_kept() -> None:
    messages, failed = decode(DOWN, frame(TEXT, b"one") + frame(TEXT, b"\xff") + frame(TEXT, b"3"))
    assert messages == [Decoded(TEXT, 3, b"one")]
    assert failed


# Extensions


@pytest.mark.parametrize(
    ("accepted", "why"),
    [
        ("x-webkit-deflate-frame", "unknown extension 'x-webkit-deflate-frame'"),
        ("permessage-deflate, x-custom; a=1", "unknown extension 'x-custom'"),
        ("permessage-deflate; server_max_window_bits=99", "bad permessage-deflate parameters"),
    ],
)
def test_an_extension_it_cannot_read_stops_decoding_at_once(accepted: str, why: str) -> None:
    decoder = DirectionDecoder(DOWN, accepted)
    assert decoder.failed.startswith(why)
    assert decoder.feed(frame(TEXT, b"hi")) == []
    assert not decoder.incomplete


def test_negotiated_extensions_splits_the_accepted_header() -> None:
    assert negotiated_extensions("") == []
    assert negotiated_extensions(" permessage-deflate; client_max_window_bits=10 , x ,") == [
        "permessage-deflate; client_max_window_bits=10",
        "x",
    ]


DEFLATE_OFFERS = [
    DEFLATE,
    "permessage-deflate; client_max_window_bits=12; server_max_window_bits=10",
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
]


@pytest.mark.parametrize("accepted", DEFLATE_OFFERS)
@pytest.mark.parametrize("direction", [UP, DOWN], ids=["client", "server"])
def test_permessage_deflate_messages_come_out_uncompressed(direction: int, accepted: str) -> None:
    proto = sender(direction, accepted)
    texts = ["hello " * 50, "hello " * 50, "something else entirely", ""]
    data = b"".join(proto.send_data(text, fin=True) for text in texts)
    assert len(data) < sum(len(t) for t in texts)  # compressed on the wire
    messages, failed = decode(direction, data, accepted)
    assert failed == ""
    assert [(m.opcode, m.payload, m.size, m.compressed) for m in messages] == [
        (TEXT, text.encode(), len(text), True) for text in texts
    ]


def _ws_deflate(direction: int, no_context_takeover: bool = False) -> WsDeflate:
    """The ``websockets`` library's permessage-deflate on the sending side
    of ``direction``."""
    return WsDeflate(
        remote_no_context_takeover=no_context_takeover,
        local_no_context_takeover=no_context_takeover,
        remote_max_window_bits=15,
        local_max_window_bits=15,
    )


@pytest.mark.parametrize("direction", [UP, DOWN], ids=["client", "server"])
def test_permessage_deflate_from_the_websockets_library(direction: int) -> None:
    deflate = _ws_deflate(direction)
    mask = direction == UP
    parts = [
        WsFrame(WsOpcode.TEXT, b"first part, ", fin=False),
        WsFrame(WsOpcode.PING, b"between"),
        WsFrame(WsOpcode.CONT, b"second part, ", fin=False),
        WsFrame(WsOpcode.CONT, b"last part"),
        WsFrame(WsOpcode.BINARY, bytes(range(256)) * 8),
        WsFrame(WsOpcode.CLOSE, struct.pack("!H", 1000) + b"done"),
    ]
    data = b"".join(part.serialize(mask=mask, extensions=[deflate]) for part in parts)
    messages, failed = decode(direction, data, DEFLATE)
    assert failed == ""
    assert messages == [
        Decoded(PING, 7, b"between"),
        Decoded(TEXT, 34, b"first part, second part, last part", compressed=True),
        Decoded(BINARY, 2048, bytes(range(256)) * 8, compressed=True),
        Decoded(CLOSE, 6, b"done", close_code=1000),
    ]


def test_control_frames_inside_a_compressed_message_leave_it_whole() -> None:
    proto = sender(DOWN, DEFLATE)
    data = (
        proto.send_data(b"abc " * 40, fin=False)
        + proto.ping(b"p")
        + proto.send_data(b"def " * 40, fin=True)
        + proto.send_data(b"next", fin=True)
    )
    messages, failed = decode(DOWN, data, DEFLATE)
    assert failed == ""
    assert [(m.opcode, m.payload, m.compressed) for m in messages] == [
        (PING, b"p", False),
        (BINARY, b"abc " * 40 + b"def " * 40, True),
        (BINARY, b"next", True),
    ]


def test_an_uncompressed_message_on_a_deflate_connection() -> None:
    """Compression is per message (RSV1 on its first frame)."""
    messages, failed = decode(DOWN, frame(TEXT, b"plain"), DEFLATE)
    assert (messages, failed) == ([Decoded(TEXT, 5, b"plain")], "")


def test_rsv1_on_a_control_frame_stops_decoding() -> None:
    messages, failed = decode(DOWN, frame(PING, b"", rsv1=True), DEFLATE)
    assert messages == [] and failed


def test_a_message_that_does_not_inflate_stops_decoding() -> None:
    messages, failed = decode(DOWN, frame(BINARY, b"\xff\xff\xff\xff", rsv1=True), DEFLATE)
    assert messages == []
    assert failed == "a compressed message does not inflate"


def test_a_decompression_bomb_stops_decoding_with_a_note() -> None:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = compressor.compress(bytes(INFLATE_CAP + 1024)) + compressor.flush(zlib.Z_SYNC_FLUSH)
    bomb = bomb[:-4]  # RFC 7692 section 7.2.1: the sync flush tail is left off
    assert len(bomb) < 64 * 1024  # a small frame
    decoder = DirectionDecoder(DOWN, DEFLATE)
    assert decoder.feed(frame(BINARY, bomb, rsv1=True) + frame(TEXT, b"after")) == []
    assert decoder.failed == "a compressed message inflates past 16 MiB"


def test_a_large_message_inflated_piece_by_piece_is_not_a_bomb() -> None:
    """The cap bounds what one received piece inflates to, not a message."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = compressor.compress(bytes(INFLATE_CAP * 2)) + compressor.flush(zlib.Z_SYNC_FLUSH)
    data = frame(BINARY, bomb[:-4], rsv1=True)
    decoder = DirectionDecoder(DOWN, DEFLATE)
    messages = []
    for start in range(0, len(data), 1024):
        messages += decoder.feed(data[start : start + 1024])
    assert decoder.failed == ""
    [message] = messages
    assert message.size == INFLATE_CAP * 2
    assert message.payload == bytes(MESSAGE_CAPTURE)


# Capture, and reads split anywhere


def test_a_message_keeps_its_payload_up_to_the_capture_cap() -> None:
    big = os.urandom(MESSAGE_CAPTURE + 1000)
    half = len(big) // 2
    data = (
        frame(BINARY, big[:half], fin=False) + frame(0, big[half:]) + frame(TEXT, b"next is whole")
    )
    decoder = DirectionDecoder(DOWN)
    messages = []
    for start in range(0, len(data), 65536):
        messages += decoder.feed(data[start : start + 65536])
    assert decoder.failed == ""
    first, second = messages
    assert first.size == len(big) and first.payload == big[:MESSAGE_CAPTURE]
    assert second == Decoded(TEXT, 13, b"next is whole")


def test_incomplete_in_a_header_a_payload_or_a_fragmented_message() -> None:
    decoder = DirectionDecoder(DOWN)
    assert not decoder.incomplete
    data = frame(BINARY, b"12345")
    decoder.feed(data[:1])
    assert decoder.incomplete  # half a header
    decoder.feed(data[1:4])
    assert decoder.incomplete  # half a payload
    assert decoder.feed(data[4:]) == [Decoded(BINARY, 5, b"12345")]
    assert not decoder.incomplete
    decoder.feed(frame(TEXT, b"a", fin=False))
    assert decoder.incomplete  # a message waiting for its next fragment
    assert decoder.feed(frame(0, b"b")) == [Decoded(TEXT, 2, b"ab")]
    assert not decoder.incomplete


def test_a_huge_length_header_waits_without_buffering() -> None:
    """A 2^40-byte frame streams through the parser: what arrived is
    consumed, nothing waits for the whole payload."""
    decoder = DirectionDecoder(DOWN)
    assert decoder.feed(frame(BINARY, b"", length=1 << 40)) == []
    for _ in range(16):
        assert decoder.feed(bytes(65536)) == []
    assert decoder.failed == "" and decoder.incomplete


MESSAGE = st.tuples(
    st.sampled_from(["text", "binary", "ping", "pong", "close"]),
    st.binary(max_size=300),
    st.integers(min_value=1, max_value=3),
)


def _encode(direction: int, accepted: str, items: list[tuple[str, bytes, int]]) -> bytes:
    proto = sender(direction, accepted)
    out = []
    for kind, payload, fragments in items:
        if kind == "close":
            out.append(proto.close(CloseReason.NORMAL_CLOSURE, payload[:100].hex()[:60]))
        elif kind == "ping":
            out.append(proto.ping(payload[:125]))
        elif kind == "pong":
            out.append(proto.pong(payload[:125]))
        else:
            message: bytes | str = payload.hex() if kind == "text" else payload
            step = max(1, len(message) // fragments)
            pieces = [message[i : i + step] for i in range(0, len(message), step)] or [message]
            for i, piece in enumerate(pieces):
                out.append(proto.send_data(piece, fin=i == len(pieces) - 1))
    return b"".join(out)


@given(
    st.lists(MESSAGE, max_size=6),
    st.sampled_from([UP, DOWN]),
    st.sampled_from(["", DEFLATE]),
    st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=20),
)
def test_any_split_of_the_bytes_finds_the_same_messages(
    items: list[tuple[str, bytes, int]], direction: int, accepted: str, sizes: list[int]
) -> None:
    data = _encode(direction, accepted, items)
    whole, failed = decode(direction, data, accepted)
    assert failed == ""
    assert len(whole) == len(items)

    decoder = DirectionDecoder(direction, accepted)
    split: list[Decoded] = []
    start = 0
    index = 0
    while start < len(data):
        size = sizes[index % len(sizes)]
        split += decoder.feed(data[start : start + size])
        start += size
        index += 1
    assert split == whole
    assert not decoder.incomplete

    bytewise = DirectionDecoder(direction, accepted)
    one_by_one = [m for i in range(len(data)) for m in bytewise.feed(data[i : i + 1])]
    assert one_by_one == whole


# A client's bytes past the capture are counted, not unmasked


@pytest.mark.parametrize("piece", [1, 7, 4096, 65_537])
def test_masked_binary_past_the_capture_then_more_messages(piece: int) -> None:
    big = os.urandom(MESSAGE_CAPTURE + 1001)  # odd: the mask turns mid-key
    split = MESSAGE_CAPTURE + 333
    data = (
        frame(BINARY, big[:split], fin=False, mask=b"\x9a\x01\xfe\x42")
        + frame(PING, b"ping", mask=b"\x05\x06\x07\x08")
        + frame(0, big[split:], mask=b"\x11\x22\x33\x44")
        + client_frame(TEXT, "après".encode())
        + client_frame(BINARY, b"\x00" * 5)
    )
    decoder = DirectionDecoder(UP)
    messages: list[Decoded] = []
    for start in range(0, len(data), piece):
        messages += decoder.feed(data[start : start + piece])
    assert decoder.failed == ""
    assert messages == [
        Decoded(PING, 4, b"ping"),
        Decoded(BINARY, len(big), big[:MESSAGE_CAPTURE]),
        Decoded(TEXT, 6, "après".encode()),
        Decoded(BINARY, 5, b"\x00" * 5),
    ]
