"""The engine protocol's framing: what a frame is, what the reader makes of
bytes however they arrive, and that anything else is a ProtocolError that
leaves the reader broken for good."""

from __future__ import annotations

import itertools
import struct
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.core import protocol
from inspector.core.protocol import FrameReader, ProtocolError, decode, encode, field


def _frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def _plain(value: Any) -> Any:
    """``value`` as the reader returns it: arrays come back as tuples."""
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


leaves = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.binary(max_size=20)
)
values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
messages = st.builds(
    lambda kind, rest: {**rest, "t": kind},
    st.text(min_size=1, max_size=8),
    st.dictionaries(st.text(max_size=8), values, max_size=5),
)


# Encoding and decoding


@pytest.mark.parametrize(
    "message",
    [
        {"t": "ping"},
        {"t": "req", "id": 1, "op": "detail", "args": {"id": 7}},
        {"t": "reply", "id": 2, "ok": True, "result": {"data": b"\x00\xff" * 10}},
        {"t": "batch", "seq": 3, "rows": [[1, 2.5, "GET"]], "resync": False},
        {"t": "é", "text": "ünïcode ☃", "big": 2**64 - 1, "small": -(2**63)},
    ],
)
def test_a_message_survives_encode_and_decode(message: dict[str, Any]) -> None:
    frame = encode(message)
    assert struct.unpack(">I", frame[:4])[0] == len(frame) - 4
    assert decode(frame[4:]) == _plain(message)


@given(messages)
@settings(max_examples=100)
def test_any_message_of_plain_values_round_trips(message: dict[str, Any]) -> None:
    assert FrameReader().feed(encode(message)) == [_plain(message)]


def test_encode_refuses_a_message_over_the_frame_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(protocol, "MAX_FRAME", 64)
    encode({"t": "x", "data": b"a" * 40})
    with pytest.raises(ProtocolError, match="exceeds"):
        encode({"t": "x", "data": b"a" * 64})


# Bad frames

BAD_PAYLOADS = [
    ("not msgpack", b"\xc1", "undecodable"),
    ("truncated map", b"\x82\xa1t", "undecodable"),
    ("trailing bytes", msgpack.packb({"t": "x"}) + b"\x00", "undecodable"),
    ("invalid utf-8 text", b"\x81\xa1t\xa2\xff\xfe", "undecodable"),
    ("timestamp ext", msgpack.packb({"t": "x", "at": msgpack.Timestamp(1, 0)}), "undecodable"),
    ("empty timestamp ext", b"\x82\xa1t\xa1x\xa2at\xc7\x00\xff", "undecodable"),
    ("ext type", msgpack.packb({"t": "x", "e": msgpack.ExtType(5, b"abcd")}), "undecodable"),
    ("empty ext type", b"\x82\xa1t\xa1x\xa1e\xc7\x00\x05", "undecodable"),
    ("top-level ext", b"\xd4\x05\x00", "undecodable"),
    ("nil map key", b"\x82\xa1t\xa1x\xc0\x02", "undecodable"),
    ("nested float map key", b"\x82\xa1t\xa1x\xa1m\x81\xca\x00\x00\x00\x00\x02", "undecodable"),
    ("array map key", b"\x82\xa1t\xa1x\x91\x01\x02", "undecodable"),
    ("array declared longer than the frame", b"\xdd\xff\xff\xff\xff", "undecodable"),
    ("text declared longer than the frame", b"\xdb\xff\xff\xff\xff", "undecodable"),
    ("nesting past the decoder's stack", b"\x91" * 5000 + b"\xc0", "undecodable"),
    ("top-level array", msgpack.packb(["t", "x"]), "not a map"),
    ("top-level integer", msgpack.packb(7), "not a map"),
    ("top-level text", msgpack.packb("t"), "not a map"),
    ("top-level nil", msgpack.packb(None), "not a map"),
    ("no kind", msgpack.packb({"id": 1}), "without a kind"),
    ("empty map", msgpack.packb({}), "without a kind"),
    ("binary kind", msgpack.packb({"t": b"req"}), "without a kind"),
    ("integer kind", msgpack.packb({"t": 1}), "without a kind"),
    ("nil kind", msgpack.packb({"t": None}), "without a kind"),
    ("binary key for the kind", msgpack.packb({b"t": "req"}), "without a kind"),
]


@pytest.mark.parametrize(
    ("payload", "reason"), [p[1:] for p in BAD_PAYLOADS], ids=[p[0] for p in BAD_PAYLOADS]
)
def test_a_bad_payload_is_a_protocol_error(payload: bytes, reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason):
        decode(payload)
    with pytest.raises(ProtocolError, match=reason):
        FrameReader().feed(_frame(payload))


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (struct.pack(">I", protocol.MAX_FRAME + 1), "exceeds"),
        (b"\xff\xff\xff\xff", "exceeds"),
        (struct.pack(">I", 0), "empty frame"),
    ],
    ids=["one byte over", "largest prefix", "zero length"],
)
def test_a_bad_length_prefix_fails_before_any_payload(header: bytes, reason: str) -> None:
    """The reader refuses the frame on its header alone: it never waits for,
    or buffers, a payload it would refuse."""
    with pytest.raises(ProtocolError, match=reason):
        FrameReader().feed(header)


def test_a_frame_of_the_largest_size_is_awaited_not_refused() -> None:
    reader = FrameReader()
    assert reader.feed(struct.pack(">I", protocol.MAX_FRAME)) == []
    assert reader.pending == 0


@pytest.mark.parametrize("bad", [b"\x00\x00\x00\x00", _frame(b"\xc1"), _frame(msgpack.packb([1]))])
def test_the_reader_stays_broken_after_an_error(bad: bytes) -> None:
    reader = FrameReader()
    good = encode({"t": "ping"})
    assert reader.feed(good) == [{"t": "ping"}]
    with pytest.raises(ProtocolError) as first:
        reader.feed(bad)
    for _ in range(2):
        with pytest.raises(ProtocolError) as again:
            reader.feed(good)
        assert again.value is first.value
    with pytest.raises(ProtocolError):
        reader.feed(b"")


def test_a_bad_frame_after_good_ones_in_the_same_read_still_fails() -> None:
    reader = FrameReader()
    with pytest.raises(ProtocolError):
        reader.feed(encode({"t": "a"}) + encode({"t": "b"}) + _frame(b"\xc1"))
    with pytest.raises(ProtocolError):
        reader.feed(encode({"t": "c"}))


# Bytes as they arrive


def test_frames_split_byte_by_byte() -> None:
    sent = [{"t": "a", "n": 1}, {"t": "b", "data": b"x" * 300}, {"t": "c"}]
    stream = b"".join(map(encode, sent))
    reader = FrameReader()
    received = []
    for i in range(len(stream)):
        received += reader.feed(stream[i : i + 1])
        if received != sent[: len(received)]:
            pytest.fail(f"wrong messages after byte {i}: {received}")
    assert received == sent
    assert reader.pending == 0


def test_many_frames_in_one_read() -> None:
    sent = [{"t": "n", "i": i} for i in range(5000)]
    reader = FrameReader()
    assert reader.feed(b"".join(map(encode, sent))) == sent
    assert reader.pending == 0


def test_pending_counts_the_bytes_of_an_unfinished_frame() -> None:
    frame = encode({"t": "x", "data": b"y" * 100})
    reader = FrameReader()
    assert reader.feed(frame[:2]) == []
    assert reader.pending == 2
    assert reader.feed(frame[2:50]) == []
    assert reader.pending == 46  # the header is consumed, the payload's start kept
    assert reader.feed(frame[50:] + frame[:3]) == [{"t": "x", "data": b"y" * 100}]
    assert reader.pending == 3


@given(
    st.lists(messages, min_size=1, max_size=6),
    st.lists(st.integers(0, 10_000), max_size=12),
)
@settings(max_examples=100)
def test_any_split_of_a_stream_gives_the_same_messages(
    sent: list[dict[str, Any]], cuts: list[int]
) -> None:
    stream = b"".join(map(encode, sent))
    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    reader = FrameReader()
    received = []
    for start, stop in itertools.pairwise(points):
        received += reader.feed(stream[start:stop])
    assert received == [_plain(m) for m in sent]
    assert reader.pending == 0


@given(st.binary(max_size=200))
@settings(max_examples=200)
def test_arbitrary_bytes_give_messages_or_a_protocol_error(data: bytes) -> None:
    reader = FrameReader()
    try:
        for message in reader.feed(data):
            assert isinstance(message, dict) and isinstance(message["t"], str)
    except ProtocolError:
        with pytest.raises(ProtocolError):
            reader.feed(encode({"t": "ping"}))


# field()

FIELD_CASES = [
    ({"n": 1}, int, 1),
    ({"n": -(2**63)}, int, -(2**63)),
    ({"n": "x"}, str, "x"),
    ({"n": True}, bool, True),
    ({"n": (1, 2)}, (list, tuple), (1, 2)),
    ({"n": 1.5}, (float, int), 1.5),
    ({"n": True}, (int, str), True),  # bool is refused only where int alone is asked
]


@pytest.mark.parametrize(("message", "kind", "value"), FIELD_CASES)
def test_field_returns_a_value_of_the_kind_asked(
    message: dict[str, Any], kind: type | tuple[type, ...], value: Any
) -> None:
    assert field({"t": "m", **message}, "n", kind) == value


@pytest.mark.parametrize(
    ("message", "kind", "shown"),
    [
        ({}, int, "int"),
        ({"n": None}, int, "int"),
        ({"n": True}, int, "int"),
        ({"n": 1.0}, int, "int"),
        ({"n": "1"}, int, "int"),
        ({"n": b"x"}, str, "str"),
        ({"n": 1}, bool, "bool"),
        ({"n": {}}, (list, tuple), "list/tuple"),
    ],
)
def test_field_refuses_a_missing_or_mistyped_value(
    message: dict[str, Any], kind: type | tuple[type, ...], shown: str
) -> None:
    with pytest.raises(ProtocolError) as raised:
        field({"t": "op", **message}, "n", kind)
    assert str(raised.value) == f"'op' needs 'n' as {shown}"
