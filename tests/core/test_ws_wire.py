"""A flow's WebSocket on the engine protocol: its details and its message
pages go through the real framing and back unchanged, and anything
malformed from the wire is a ProtocolError, never another exception."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspector.core import wire
from inspector.core.flow import Flow, Request, Response
from inspector.core.protocol import FrameReader, ProtocolError, encode
from inspector.core.websocket import BINARY, CLOSE, DOWN, TEXT, UP, WebSocketInfo, WsMessage
from inspector.core.ws_wire import (
    F_COMPRESSED,
    F_DROPPED,
    MAX_PAGE,
    info_from_wire,
    info_to_wire,
    message_from_wire,
    message_to_wire,
    page_to_wire,
)


def _over_the_wire(value: Any) -> Any:
    [message] = FrameReader().feed(encode({"t": "x", "v": value}))
    return message["v"]


def _info() -> WebSocketInfo:
    return WebSocketInfo(
        tls=True,
        protocol="chat.v2",
        extensions="permessage-deflate; client_max_window_bits=12",
        next_seq=120,
        kept_bytes=4000,
        dropped=20,
        msgs_up=60,
        msgs_down=55,
        bytes_up=2**40,
        bytes_down=7,
        wire_up=2**40 + 500,
        wire_down=900,
        close_code=1001,
        close_reason="going away ✓",
        closed_by=DOWN,
        closing_handshake=True,
        note="decoding stopped (client side): a text message is not valid UTF-8",
        end="closed",
    )


def test_info_round_trip() -> None:
    back = info_from_wire(_over_the_wire(info_to_wire(_info())))
    assert back == _info()


def test_a_fresh_info_round_trip() -> None:
    assert info_from_wire(_over_the_wire(info_to_wire(WebSocketInfo()))) == WebSocketInfo()


def test_info_carries_no_messages() -> None:
    info = _info()
    info.add(WsMessage(0, UP, 1.0, TEXT, 3, b"abc"), 10, 100)
    encoded = info_to_wire(info)
    assert "messages" not in encoded
    assert info_from_wire(_over_the_wire(encoded)).messages == type(info.messages)()


def test_flow_details_carry_the_websocket() -> None:
    flow = Flow(id=5, client_addr=("127.0.0.1", 1))
    flow.request = Request(method="GET", host="h.test", target="/ws")
    flow.response = Response(status=101)
    flow.websocket = _info()
    detail = wire.flow_from_wire(_over_the_wire(wire.flow_to_wire(flow)))
    assert detail.flow.websocket == _info()
    flow.websocket = None
    assert wire.flow_from_wire(_over_the_wire(wire.flow_to_wire(flow))).flow.websocket is None


def _message(**fields: Any) -> WsMessage:
    values: dict[str, Any] = {
        "seq": 7,
        "direction": DOWN,
        "t": 1700000000.25,
        "opcode": BINARY,
        "size": 5000,
        "payload": bytes(range(256)) * 4,
    }
    values.update(fields)
    return WsMessage(**values)


@pytest.mark.parametrize(
    "message",
    [
        _message(payload=b"short", size=5),
        _message(compressed=True),
        _message(payload=b"", payload_dropped=True),
        _message(opcode=CLOSE, payload=b"bye", size=5, close_code=1000, direction=UP),
        _message(opcode=TEXT, payload=b"", size=0, seq=0),
    ],
    ids=["whole", "compressed", "dropped", "close", "empty"],
)
def test_message_round_trip(message: WsMessage) -> None:
    back = message_from_wire(_over_the_wire(message_to_wire(message, len(message.payload))))
    assert back == message


def test_a_message_on_a_page_carries_a_preview() -> None:
    message = _message(compressed=True)
    encoded = message_to_wire(message, 16)
    assert encoded[5] == message.payload[:16]
    assert encoded[6] == F_COMPRESSED
    back = message_from_wire(_over_the_wire(encoded))
    assert back.payload == message.payload[:16] and back.size == 5000
    assert back.truncated and back.compressed
    dropped = message_to_wire(_message(payload=b"", payload_dropped=True, compressed=True), 16)
    assert dropped[6] == F_COMPRESSED | F_DROPPED


def _numbered(count: int, max_messages: int = 1000) -> WebSocketInfo:
    info = WebSocketInfo()
    for i in range(count):
        info.add(WsMessage(0, i % 2, float(i), TEXT, 3, b"m%02d" % i), max_messages, 1 << 20)
    return info


def test_a_page_after_a_sequence_number() -> None:
    info = _numbered(10, max_messages=6)
    page = _over_the_wire(page_to_wire(info, 5, 2, 2))
    assert page["first_seq"] == 4 and page["next_seq"] == 10 and page["open"] is True
    messages = [message_from_wire(m) for m in page["messages"]]
    assert [m.seq for m in messages] == [6, 7]
    assert [m.payload for m in messages] == [b"m0", b"m0"]
    assert [m.size for m in messages] == [3, 3]


def test_a_page_from_before_the_kept_messages_starts_at_the_first() -> None:
    info = _numbered(10, max_messages=6)
    page = page_to_wire(info, -1, 100, 256)
    assert [m[0] for m in page["messages"]] == [4, 5, 6, 7, 8, 9]
    assert page_to_wire(info, 9, 100, 256)["messages"] == []


def test_a_page_is_at_most_max_page() -> None:
    info = _numbered(MAX_PAGE + 5, max_messages=MAX_PAGE + 5)
    assert len(page_to_wire(info, -1, MAX_PAGE * 2, 0)["messages"]) == MAX_PAGE
    assert page_to_wire(info, -1, -3, 0)["messages"] == []


def test_a_page_of_a_closed_socket_and_of_no_socket() -> None:
    info = _numbered(1)
    info.end = "closed"
    assert page_to_wire(info, -1, 10, 10)["open"] is False
    assert page_to_wire(None, -1, 10, 10) == {
        "messages": [],
        "first_seq": 0,
        "next_seq": 0,
        "open": False,
    }


# Malformed input


def _info_with(name: str, value: Any) -> dict[str, Any]:
    encoded = info_to_wire(_info())
    encoded[name] = value
    return encoded


def _info_without(name: str) -> dict[str, Any]:
    encoded = info_to_wire(_info())
    del encoded[name]
    return encoded


BAD_INFOS = [
    ("None", None),
    ("a list", [1, 2]),
    ("no counters", {}),
    ("no next_seq", _info_without("next_seq")),
    ("no end", _info_without("end")),
    ("negative count", _info_with("msgs_up", -1)),
    ("count a bool", _info_with("dropped", True)),
    ("count a float", _info_with("wire_down", 1.0)),
    ("count as text", _info_with("bytes_up", "10")),
    ("protocol as bytes", _info_with("protocol", b"chat")),
    ("reason None", _info_with("close_reason", None)),
    ("note a number", _info_with("note", 3)),
    ("close code a float", _info_with("close_code", 1000.0)),
    ("close code as text", _info_with("close_code", "1000")),
    ("closed by a third side", _info_with("closed_by", 2)),
    ("closed by as text", _info_with("closed_by", "client")),
]


@pytest.mark.parametrize("value", [b[1] for b in BAD_INFOS], ids=[b[0] for b in BAD_INFOS])
def test_a_malformed_info_is_a_protocol_error(value: Any) -> None:
    with pytest.raises(ProtocolError, match="malformed websocket"):
        info_from_wire(_over_the_wire(value))


def test_a_malformed_websocket_in_flow_details_is_a_protocol_error() -> None:
    flow = Flow(id=5, client_addr=("127.0.0.1", 1))
    flow.websocket = _info()
    encoded = wire.flow_to_wire(flow)
    encoded["websocket"] = _info_with("next_seq", -5)
    with pytest.raises(ProtocolError):
        wire.flow_from_wire(_over_the_wire(encoded))


GOOD_MESSAGE = message_to_wire(_message(), 10)


def _message_with(index: int, value: Any) -> list[Any]:
    encoded = list(GOOD_MESSAGE)
    encoded[index] = value
    return encoded


BAD_MESSAGES = [
    ("None", None),
    ("a map", {"seq": 1}),
    ("too short", GOOD_MESSAGE[:-1]),
    ("too long", [*GOOD_MESSAGE, 0]),
    ("seq negative", _message_with(0, -1)),
    ("seq a float", _message_with(0, 1.0)),
    ("seq a bool", _message_with(0, False)),
    ("direction 2", _message_with(1, 2)),
    ("direction as text", _message_with(1, "up")),
    ("time as text", _message_with(2, "now")),
    ("time None", _message_with(2, None)),
    ("opcode as text", _message_with(3, "text")),
    ("opcode a bool", _message_with(3, True)),
    ("size negative", _message_with(4, -1)),
    ("size a float", _message_with(4, 5.0)),
    ("payload as text", _message_with(5, "abc")),
    ("payload None", _message_with(5, None)),
    ("flags None", _message_with(6, None)),
    ("flags a float", _message_with(6, 1.0)),
    ("close code as text", _message_with(7, "1000")),
]


@pytest.mark.parametrize("value", [b[1] for b in BAD_MESSAGES], ids=[b[0] for b in BAD_MESSAGES])
def test_a_malformed_message_is_a_protocol_error(value: Any) -> None:
    with pytest.raises(ProtocolError, match="malformed message"):
        message_from_wire(_over_the_wire(value))


wild = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats()
    | st.text(max_size=5)
    | st.binary(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=8) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(st.integers(0, 7), wild)
def test_any_value_in_a_message_is_taken_or_refused_cleanly(index: int, value: Any) -> None:
    with contextlib.suppress(ProtocolError):
        message_from_wire(_over_the_wire(_message_with(index, value)))


@given(st.sampled_from(sorted(info_to_wire(_info()))), wild)
def test_any_value_in_an_info_is_taken_or_refused_cleanly(name: str, value: Any) -> None:
    with contextlib.suppress(ProtocolError):
        info_from_wire(_over_the_wire(_info_with(name, value)))


@given(wild)
def test_any_value_at_all_is_taken_or_refused_cleanly(value: Any) -> None:
    with contextlib.suppress(ProtocolError):
        message_from_wire(_over_the_wire(value))
    with contextlib.suppress(ProtocolError):
        info_from_wire(_over_the_wire(value))
