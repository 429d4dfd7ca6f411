"""A WebSocket flow as the engine keeps and shows it: which requests ask
for the upgrade, the messages kept within a flow's limits and the store's
budget, and the row, filter term and headless line of a WebSocket flow."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspector.core import summary as S
from inspector.core.filter import parse_filter
from inspector.core.flow import Flow, FlowState, Request, Response, TunnelInfo
from inspector.core.format import flow_line, websocket_line
from inspector.core.mirror import RowMirror
from inspector.core.protocol import FrameReader, encode
from inspector.core.store import FlowStore
from inspector.core.summary import check_row, row_of, summarize
from inspector.core.websocket import (
    BINARY,
    CLOSE,
    DOWN,
    PING,
    TEXT,
    UP,
    WebSocketInfo,
    WsMessage,
    is_websocket_upgrade,
)

# The upgrade request


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([(b"Upgrade", b"websocket"), (b"Connection", b"Upgrade")], True),
        ([(b"UPGRADE", b"WebSocket"), (b"connection", b"keep-alive, Upgrade")], True),
        ([(b"Connection", b"upgrade"), (b"Upgrade", b"h2c, websocket")], True),
        ([(b"Upgrade", b"websocket/13"), (b"Connection", b"Upgrade")], True),
        ([(b"Upgrade", b"websocket"), (b"Connection", b"up"), (b"Connection", b"upgrade")], True),
        ([(b"Upgrade", b"websocket")], False),
        ([(b"Connection", b"Upgrade")], False),
        ([(b"Upgrade", b"h2c"), (b"Connection", b"Upgrade, HTTP2-Settings")], False),
        ([(b"Upgrade", b"websockets"), (b"Connection", b"Upgrade")], False),
        ([(b"Upgrade", b"websocket"), (b"Connection", b"upgraded")], False),
        ([(b"X-Upgrade", b"websocket"), (b"Connection", b"Upgrade")], False),
        ([], False),
    ],
)
def test_is_websocket_upgrade(headers: list[tuple[bytes, bytes]], expected: bool) -> None:
    assert is_websocket_upgrade(headers) is expected


# Messages kept by a flow


def _message(direction: int = UP, payload: bytes = b"", opcode: int = TEXT) -> WsMessage:
    return WsMessage(0, direction, 1.0, opcode, len(payload), payload)


def test_add_numbers_messages_and_counts_data_messages_only() -> None:
    info = WebSocketInfo()
    added = [
        _message(UP, b"hello"),
        _message(DOWN, b"\x00\x01\x02", BINARY),
        _message(UP, b"p", PING),
        _message(DOWN, b"bye", CLOSE),
    ]
    deltas = [info.add(m, 100, 1000) for m in added]
    assert [m.seq for m in info.messages] == [0, 1, 2, 3]
    assert deltas == [5, 3, 1, 3] and info.kept_bytes == 12
    assert (info.msgs_up, info.bytes_up, info.msgs_down, info.bytes_down) == (1, 5, 1, 3)
    assert info.next_seq == 4 and info.first_seq() == 0 and info.dropped == 0


def test_past_the_count_the_oldest_go() -> None:
    info = WebSocketInfo()
    for i in range(5):
        info.add(_message(UP, bytes([i]) * 10), 3, 1000)
    assert [m.seq for m in info.messages] == [2, 3, 4]
    assert info.dropped == 2 and info.first_seq() == 2 and info.next_seq == 5
    assert info.kept_bytes == 30
    # The counters cover every message, kept or not.
    assert (info.msgs_up, info.bytes_up) == (5, 50)


def test_past_the_bytes_the_oldest_go() -> None:
    info = WebSocketInfo()
    assert info.add(_message(UP, b"a" * 40), 100, 100) == 40
    assert info.add(_message(DOWN, b"b" * 40), 100, 100) == 40
    assert info.add(_message(UP, b"c" * 40), 100, 100) == 0  # 40 in, 40 out
    assert [m.payload[:1] for m in info.messages] == [b"b", b"c"]
    assert info.kept_bytes == 80 and info.dropped == 1


def test_one_message_over_the_flow_budget_keeps_its_size_only() -> None:
    info = WebSocketInfo()
    info.add(_message(UP, b"a" * 10), 100, 100)
    big = _message(DOWN, b"x" * 101, BINARY)
    assert info.add(big, 100, 100) == -10
    assert list(info.messages) == [big]
    assert big.payload == b"" and big.payload_dropped and big.size == 101
    assert not big.truncated  # dropped, not cut at the capture cap
    assert info.kept_bytes == 0 and info.dropped == 1
    assert info.bytes_down == 101


def test_truncated_is_a_payload_cut_at_capture() -> None:
    assert WsMessage(0, UP, 0.0, TEXT, 10, b"12345").truncated
    assert not WsMessage(0, UP, 0.0, TEXT, 5, b"12345").truncated
    assert not WsMessage(0, UP, 0.0, TEXT, 5, b"", payload_dropped=True).truncated


def test_drop_payloads_frees_the_oldest_first() -> None:
    info = WebSocketInfo()
    for payload in (b"a" * 10, b"", b"b" * 10, b"c" * 10):
        info.add(_message(UP, payload), 100, 1000)
    assert info.drop_payloads(15) == 20
    kept = list(info.messages)
    assert [m.payload for m in kept] == [b"", b"", b"", b"c" * 10]
    assert [m.payload_dropped for m in kept] == [True, False, True, False]
    assert [m.size for m in kept] == [10, 0, 10, 10]
    assert info.kept_bytes == 10
    assert info.drop_payloads(1000) == 10 and info.kept_bytes == 0
    assert info.drop_payloads(1) == 0


def test_since_and_get_after_drops() -> None:
    info = WebSocketInfo()
    assert info.since(-1) == [] and info.get(0) is None and info.first_seq() == 0
    for i in range(6):
        info.add(_message(UP, bytes([i])), 4, 1000)
    assert [m.seq for m in info.since(-1)] == [2, 3, 4, 5]
    assert [m.seq for m in info.since(3)] == [4, 5]
    assert info.since(5) == [] and info.since(100) == []
    assert info.get(1) is None and info.get(6) is None and info.get(-1) is None
    message = info.get(4)
    assert message is not None and message.payload == b"\x04"


def test_open_until_an_end() -> None:
    info = WebSocketInfo()
    assert info.open
    info.end = "closed"
    assert not info.open


@given(
    st.lists(
        st.tuples(st.sampled_from([UP, DOWN]), st.integers(0, 40), st.sampled_from([TEXT, PING])),
        max_size=60,
    ),
    st.integers(1, 8),
    st.integers(1, 100),
)
def test_add_keeps_within_both_limits(
    adds: list[tuple[int, int, int]], max_messages: int, max_bytes: int
) -> None:
    info = WebSocketInfo()
    held = 0
    for direction, size, opcode in adds:
        held += info.add(_message(direction, b"x" * size, opcode), max_messages, max_bytes)
        kept = list(info.messages)
        assert held == info.kept_bytes == sum(len(m.payload) for m in kept)
        assert len(kept) <= max_messages and info.kept_bytes <= max_bytes
        assert [m.seq for m in kept] == list(range(info.first_seq(), info.next_seq))
        assert info.dropped + len(kept) == info.next_seq
    data = [(d, n) for d, n, opcode in adds if opcode == TEXT]
    assert info.bytes_up == sum(n for d, n in data if d == UP)
    assert info.msgs_down == sum(1 for d, _ in data if d == DOWN)


# The store's budget across flows


def _payload_store(max_flows: int = 1000) -> FlowStore:
    """A store counting payloads only, so the figures below are easy."""
    store = FlowStore(max_flows=max_flows)
    store.ws_message_cost = 0
    return store


def _ws_flow(store: FlowStore) -> Flow:
    flow = store.new_flow(("127.0.0.1", 1))
    flow.websocket = WebSocketInfo()
    return flow


def _receive(store: FlowStore, flow: Flow, size: int, max_bytes: int = 1 << 20) -> None:
    """As the recorder keeps a message: the flow's limits, then the store's."""
    assert flow.websocket is not None
    flow.websocket.add(_message(DOWN, b"m" * size), 1000, max_bytes)
    store.account_ws(flow)


def _kept(flow: Flow) -> list[int]:
    assert flow.websocket is not None
    return [len(m.payload) for m in flow.websocket.messages]


def test_over_the_budget_older_flows_lose_payloads_first() -> None:
    store = _payload_store()
    store.ws_memory_limit = 100
    old, new = _ws_flow(store), _ws_flow(store)
    _receive(store, old, 40)
    _receive(store, old, 40)
    _receive(store, new, 30)
    assert store.ws_bytes == 110 - 40 and store.ws_payloads_dropped == 40
    assert _kept(old) == [0, 40] and _kept(new) == [30]
    _receive(store, new, 50)
    assert _kept(old) == [0, 0] and _kept(new) == [30, 50]
    assert store.ws_bytes == 80 and store.ws_payloads_dropped == 80
    assert old.websocket is not None and old.websocket.messages[0].payload_dropped
    # Sizes and counters stay.
    assert old.websocket.bytes_down == 80 and old.websocket.msgs_down == 2


def test_the_flow_that_grew_least_recently_loses_payloads_first() -> None:
    store = _payload_store()
    store.ws_memory_limit = 100
    first, second, third = _ws_flow(store), _ws_flow(store), _ws_flow(store)
    _receive(store, first, 30)
    _receive(store, second, 30)
    _receive(store, first, 30)  # first grew since second did
    _receive(store, third, 20)
    assert _kept(first) == [30, 30] and _kept(second) == [0] and _kept(third) == [20]
    assert store.ws_bytes == 80


def test_delete_and_clear_release_the_budget() -> None:
    store = _payload_store()
    a, b = _ws_flow(store), _ws_flow(store)
    _receive(store, a, 40)
    _receive(store, b, 25)
    assert store.ws_bytes == 65
    assert store.delete(a.id)
    assert store.ws_bytes == 25
    _receive(store, a, 10)  # a deleted flow still live on its socket
    assert store.ws_bytes == 25
    store.clear()
    assert store.ws_bytes == 0
    _receive(store, b, 10)
    assert store.ws_bytes == 0
    c = _ws_flow(store)
    _receive(store, c, 7)
    assert store.ws_bytes == 7


def test_flows_dropped_at_the_cap_release_the_budget() -> None:
    store = _payload_store(max_flows=2)
    a = _ws_flow(store)
    _receive(store, a, 40)
    _ws_flow(store)
    _ws_flow(store)  # drops a
    assert store.get(a.id) is None and store.ws_bytes == 0


def test_a_flow_over_its_own_limit_returns_its_bytes() -> None:
    store = _payload_store()
    flow = _ws_flow(store)
    _receive(store, flow, 60, max_bytes=100)
    _receive(store, flow, 60, max_bytes=100)
    assert store.ws_bytes == 60 == _kept(flow)[-1]


@given(
    st.lists(
        st.tuples(st.sampled_from(["recv", "delete"]), st.integers(0, 3), st.integers(0, 60)),
        max_size=40,
    ),
    st.integers(1, 150),
)
def test_the_budget_counts_what_live_flows_hold(
    steps: list[tuple[str, int, int]], limit: int
) -> None:
    store = _payload_store()
    store.ws_memory_limit = limit
    flows = [_ws_flow(store) for _ in range(4)]
    for action, which, size in steps:
        if action == "recv":
            _receive(store, flows[which], size, max_bytes=80)
        else:
            store.delete(flows[which].id)
        held = [f.websocket.kept_bytes for f in store if f.websocket is not None]
        assert store.ws_bytes == sum(held)
        assert store.ws_bytes <= limit


def test_message_records_count_and_go_whole_once_payloads_are_gone() -> None:
    store = FlowStore()
    cost = store.ws_message_cost
    assert cost > 0
    store.ws_memory_limit = 3 * cost + 20
    old, new = _ws_flow(store), _ws_flow(store)
    _receive(store, old, 10)
    _receive(store, old, 10)
    assert store.ws_bytes == 2 * cost + 20
    _receive(store, new, 10)
    # Over by 10: the oldest payload goes first, the messages stay.
    assert _kept(old) == [0, 10] and store.ws_payloads_dropped == 10
    assert store.ws_bytes == 3 * cost + 20 and store.ws_messages_dropped == 0
    _receive(store, new, 5)
    # Over by a record's worth and more: the oldest message goes whole.
    assert old.websocket is not None and old.websocket.dropped >= 1
    assert store.ws_messages_dropped >= 1 and store.ws_bytes <= store.ws_memory_limit
    assert _kept(new) == [10, 5]
    # Counters still cover every message.
    assert old.websocket.msgs_down == 2 and old.websocket.bytes_down == 20


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 50)), max_size=60))
def test_many_sockets_stay_within_the_budget(steps: list[tuple[int, int]]) -> None:
    store = FlowStore()
    store.ws_memory_limit = 4 * store.ws_message_cost
    flows = [_ws_flow(store) for _ in range(4)]
    for which, size in steps:
        _receive(store, flows[which], size)
        held = sum(
            f.websocket.kept_bytes + store.ws_message_cost * len(f.websocket.messages)
            for f in store
            if f.websocket is not None
        )
        assert store.ws_bytes == held <= store.ws_memory_limit


# How a WebSocket flow shows: row, filter, line


def _shown(tls: bool = False, port: int = 80, close: int | None = 1000) -> Flow:
    flow = Flow(id=9, client_addr=("127.0.0.1", 5000))
    scheme = "https" if tls else "http"
    flow.request = Request(method="GET", scheme=scheme, host="h.test", port=port, target="/chat")
    flow.response = Response(
        status=101, headers=[(b"Upgrade", b"websocket"), (b"Connection", b"Upgrade")]
    )
    flow.t_start, flow.t_end = 100.0, 160.0
    flow.state = FlowState.COMPLETE
    flow.websocket = WebSocketInfo(
        tls=tls,
        msgs_up=42,
        bytes_up=10445,
        msgs_down=40,
        bytes_down=10138,
        close_code=close,
        end="closed",
    )
    return flow


def _wire(row: tuple[Any, ...]) -> Any:
    [message] = FrameReader().feed(encode({"t": "batch", "rows": [row]}))
    return message["rows"][0]


def test_a_websocket_row() -> None:
    row = summarize(_shown())
    assert row[S.SCHEME] == "ws" and row[S.CONTENT_TYPE] == "websocket"
    assert row[S.STATUS] == 101 and row[S.PATH] == "/chat"
    assert row[S.FLAGS] == S.FLAG_WEBSOCKET | S.FLAG_HAS_RESPONSE
    assert row[S.SIZE] == 10445 + 10138
    assert row[S.WEBSOCKET] == (42, 40, 10445, 10138, 1000)
    assert check_row(row) and check_row(_wire(row))
    shown = row_of(_wire(row))
    assert shown.is_websocket and not shown.is_tunnel and shown.has_response
    assert shown.websocket == (42, 40, 10445, 10138, 1000)
    assert shown.websocket[S.WS_CLOSE_CODE] == 1000
    assert shown.url == "ws://h.test/chat"
    assert summarize(_shown(tls=True, port=443))[S.SCHEME] == "wss"
    assert row_of(summarize(_shown(tls=True, port=8443))).url == "wss://h.test:8443/chat"


def test_a_websocket_without_a_close_frame_has_close_code_minus_one() -> None:
    assert summarize(_shown(close=None))[S.WEBSOCKET][S.WS_CLOSE_CODE] == -1


def test_other_rows_have_no_websocket_field() -> None:
    flow = _shown()
    flow.websocket = None
    row = summarize(flow)
    assert row[S.WEBSOCKET] == () and row[S.SCHEME] == "http"
    assert not row[S.FLAGS] & S.FLAG_WEBSOCKET
    assert not row_of(row).is_websocket and row_of(row).websocket == ()


def _with_websocket(value: Any) -> list[Any]:
    row = list(summarize(_shown()))
    row[S.WEBSOCKET] = value
    return row


@pytest.mark.parametrize(
    "value",
    [
        None,
        5,
        [1, 2, 3, 4],
        [1, 2, 3, 4, 5, 6],
        [1, 2, 3, 4, 1.0],
        [True, 0, 0, 0, 0],
        [2**63, 0, 0, 0, 0],
        "abcde",
        [0, 0, 0, 0, None],
    ],
    ids=["none", "int", "short", "long", "float", "bool", "past int64", "text", "none inside"],
)
def test_check_row_refuses_a_malformed_websocket_field(value: Any) -> None:
    assert not check_row(_with_websocket(value))


@pytest.mark.parametrize("value", [[], (), [0, 0, 0, 0, -1], [2**63 - 1, 0, 0, 0, 0]])
def test_check_row_accepts_websocket_fields(value: Any) -> None:
    assert check_row(_with_websocket(value))


def test_the_mirror_keeps_and_forgets_the_websocket_field() -> None:
    ws = summarize(_shown())
    plain = list(summarize(_shown()))
    plain[S.ID], plain[S.WEBSOCKET], plain[S.FLAGS] = 10, (), S.FLAG_HAS_RESPONSE
    mirror = RowMirror()
    mirror.apply([_wire(ws), _wire(tuple(plain))], 10)
    assert mirror.get(9) == row_of(ws)
    assert mirror.get(10) == row_of(tuple(plain))
    assert mirror.remove(9)
    mirror.apply([_wire(ws)], 10)
    assert mirror.get(9) == row_of(ws)
    mirror.forget_through(9)
    assert mirror.get(9) is None
    mirror.apply([_wire(ws)], 10)  # forgotten ids do not come back
    assert mirror.get(9) is None


def test_filter_type_ws() -> None:
    ws = row_of(summarize(_shown()))
    plain_flow = _shown()
    plain_flow.websocket = None
    plain_flow.response = Response(status=200, headers=[(b"Content-Type", b"application/json")])
    plain = row_of(summarize(plain_flow))
    tunnel_flow = Flow(id=3, client_addr=("127.0.0.1", 1))
    tunnel_flow.request = Request(method="CONNECT", host="h.test", port=443, target="h.test:443")
    tunnel_flow.tunnel = TunnelInfo(mode="raw")
    tunnel = row_of(summarize(tunnel_flow))
    verdicts = {
        text: [parse_filter(text)(row) for row in (ws, plain, tunnel)]
        for text in ("type:ws", "type:WebSocket", "-type:ws", "type:json", "type:tunnel")
    }
    assert verdicts == {
        "type:ws": [True, False, False],
        "type:WebSocket": [True, False, False],
        "-type:ws": [False, True, True],
        "type:json": [False, True, False],
        "type:tunnel": [False, False, True],
    }
    assert parse_filter("type:ws").uses_response


def test_websocket_line() -> None:
    flow = _shown()
    expected = "WS ws://h.test/chat -> 101 closed 1000, 42 msgs up 10.2 KiB, 40 down 9.9 KiB"
    assert websocket_line(flow) == expected
    assert flow_line(flow) == expected


def test_websocket_line_without_a_close_frame_and_over_tls() -> None:
    assert websocket_line(_shown(close=None)) == (
        "WS ws://h.test/chat -> 101 closed -, 42 msgs up 10.2 KiB, 40 down 9.9 KiB"
    )
    assert websocket_line(_shown(tls=True, port=443, close=1001)) == (
        "WS wss://h.test/chat -> 101 closed 1001, 42 msgs up 10.2 KiB, 40 down 9.9 KiB"
    )
    flow = _shown(port=8080)
    flow.request.host = "::1"
    assert websocket_line(flow).startswith("WS ws://[::1]:8080/chat -> 101 ")


def test_websocket_line_of_a_quiet_socket() -> None:
    flow = _shown(close=None)
    flow.websocket = WebSocketInfo(end="closed without a close frame")
    assert websocket_line(flow) == "WS ws://h.test/chat -> 101 closed -, 0 msgs up 0 B, 0 down 0 B"
