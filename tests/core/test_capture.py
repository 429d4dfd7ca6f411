from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from inspector.core.capture import BodyCapture


def test_keeps_up_to_the_limit_and_counts_the_rest() -> None:
    capture = BodyCapture(5)
    capture.add(b"abc")
    capture.add(bytearray(b"defgh"))
    assert capture.value() == b"abcde"
    assert type(capture.value()) is bytes
    assert capture.size == 8
    assert capture.truncated


def test_exact_limit_is_not_truncated() -> None:
    capture = BodyCapture(3)
    capture.add(b"abc")
    capture.add(b"")
    assert capture.value() == b"abc" and not capture.truncated


@given(st.lists(st.binary(max_size=20)), st.integers(0, 50))
def test_capture_is_a_prefix(chunks: list[bytes], limit: int) -> None:
    capture = BodyCapture(limit)
    for chunk in chunks:
        capture.add(chunk)
    whole = b"".join(chunks)
    assert capture.value() == whole[:limit]
    assert capture.size == len(whole)
    assert capture.truncated == (len(whole) > limit)
