"""Packed headers read back as the pairs they were made from."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from inspector.core.flow import Response
from inspector.core.headers import PackedHeaders

PAIRS = [(b"Host", b"example.com"), (b"Accept", b""), (b"X-Empty-Name-Is-Odd", b"a: b\r\nc")]


def test_a_packed_list_reads_as_the_list() -> None:
    packed = PackedHeaders(PAIRS)
    assert list(packed) == PAIRS
    assert len(packed) == 3
    assert packed[1] == (b"Accept", b"")
    assert packed[-1] == PAIRS[-1]
    assert packed[:2] == PAIRS[:2]
    assert packed == PAIRS and packed == tuple(PAIRS) and packed != PAIRS[:2]
    assert packed == PackedHeaders(PAIRS) and hash(packed) == hash(PackedHeaders(PAIRS))
    assert (b"Host", b"example.com") in packed
    assert PackedHeaders() == [] and len(PackedHeaders()) == 0


def test_packing_twice_is_the_same_object() -> None:
    packed = PackedHeaders.of(PAIRS)
    assert PackedHeaders.of(packed) is packed


def test_a_message_reads_a_header_from_packed_headers() -> None:
    response = Response(status=200, headers=PackedHeaders([(b"Content-Type", b"text/html")]))
    assert response.header(b"content-type") == b"text/html"
    assert response.header(b"x-missing") is None


def test_packed_takes_less_memory_than_the_list() -> None:
    import sys

    pairs = [(f"Name-{i}".encode(), f"value {i}".encode() * 3) for i in range(15)]
    listed = sys.getsizeof(pairs) + sum(
        sys.getsizeof(p) + sys.getsizeof(p[0]) + sys.getsizeof(p[1]) for p in pairs
    )
    packed = PackedHeaders(pairs)
    assert sys.getsizeof(packed) + sys.getsizeof(packed._data) < listed / 2


@given(st.lists(st.tuples(st.binary(max_size=70_000), st.binary(max_size=70_000)), max_size=20))
def test_any_pairs_round_trip(pairs: list[tuple[bytes, bytes]]) -> None:
    assert list(PackedHeaders(pairs)) == pairs
