"""Where the filter's body terms match in a displayed body: spans by table,
the cap, the UTF-16 positions a Qt document counts, and the time a 1 MiB
body takes."""

from __future__ import annotations

import re
import time

import pytest

from inspector.core.filter import parse_filter
from inspector.core.filter_terms import Value
from inspector.gui.body_find import (
    MAX_MATCHES,
    Span,
    document_matches,
    find_matches,
    utf16_spans,
)


def plain(text: str) -> Value:
    return Value(text, 0)


def regex(pattern: str) -> Value:
    return Value(pattern, 0, re.compile(pattern, re.IGNORECASE))


@pytest.mark.parametrize(
    ("text", "values", "spans"),
    [
        ("no terms", [], []),
        ("Token token TOKEN", [plain("token")], [(0, 5), (6, 11), (12, 17)]),
        ("aaaa", [plain("aa")], [(0, 2), (2, 4)]),  # not overlapping, as find counts
        ("abc", [plain("")], []),
        ("abc", [plain("x")], []),
        ('{"id=12", "id=x", "ID=7"}', [regex(r"id=\d+")], [(2, 7), (19, 23)]),
        ("abc", [regex("x*")], []),  # empty matches skipped
        ("a1b22", [regex(r"\d*")], [(1, 2), (3, 5)]),
        # Overlapping spans of two terms are one match; touching ones stay two.
        ("session_token", [plain("session"), plain("sion_tok")], [(0, 11)]),
        ("abcd", [plain("ab"), plain("cd")], [(0, 2), (2, 4)]),
        ("x token y id=3", [regex(r"id=\d"), plain("token")], [(2, 7), (10, 14)]),
        # "İ" lowers to two characters; the spans still index the text.
        ("İstanbul token", [plain("token")], [(9, 14)]),
        ("İİ token TOKEN", [plain("token")], [(3, 8), (9, 14)]),
    ],
)
def test_spans(text: str, values: list[Value], spans: list[Span]) -> None:
    found = find_matches(text, values)
    assert found.spans == spans
    assert not found.capped
    for start, end in spans:
        assert text[start:end]


def test_the_filters_own_body_values_find_what_they_say() -> None:
    values = [
        value for _, value in parse_filter(r"host:api body:token resbody:/id=\d+/").body_values
    ]
    text = '{"token": "abc", "id=42": true, "Token2": 1}'
    assert [text[s:e] for s, e in find_matches(text, values).spans] == [
        "token",
        "id=42",
        "Token",
    ]


def test_matches_stop_at_the_cap() -> None:
    text = "ab" * (MAX_MATCHES + 5)
    found = find_matches(text, [plain("a")])
    assert found.capped
    assert len(found.spans) == MAX_MATCHES
    assert found.spans[-1] == (2 * (MAX_MATCHES - 1), 2 * MAX_MATCHES - 1)
    exact = find_matches("ab" * MAX_MATCHES, [plain("a")])
    assert len(exact.spans) == MAX_MATCHES and not exact.capped


def test_a_capped_term_keeps_the_others_in_order() -> None:
    # "a" stops looking at its 4th match (the limit and one more): the
    # first z comes in order, and the matches shown stop at the limit.
    text = "a z a a a a z z"
    found = find_matches(text, [plain("z"), plain("a")], limit=3)
    assert found.capped
    assert found.spans == [(0, 1), (2, 3), (4, 5)]


@pytest.mark.parametrize(
    ("text", "spans", "expected"),
    [
        ("plain", [(1, 3)], [(1, 3)]),
        ("😀ab", [(1, 3)], [(2, 4)]),
        ("a😀b😀c", [(0, 1), (2, 3), (4, 5)], [(0, 1), (3, 4), (6, 7)]),
        ("😀😀", [(0, 2)], [(0, 4)]),
        ("é中b", [(2, 3)], [(2, 3)]),  # BMP characters are one unit each
    ],
)
def test_utf16_positions(text: str, spans: list[Span], expected: list[Span]) -> None:
    assert utf16_spans(text, spans) == expected
    encoded = text.encode("utf-16-le")
    for (start, end), (u_start, u_end) in zip(spans, expected, strict=True):
        assert encoded[2 * u_start : 2 * u_end].decode("utf-16-le") == text[start:end]


def test_document_matches_count_utf16() -> None:
    found = document_matches('{"face": "😀", "token": 1}', [plain("token")])
    assert found.spans == [(16, 21)]


def test_a_1_mib_body_is_searched_quickly() -> None:
    line = '  "user": {"id": 123456, "name": "Ada Lovelace", "session_token": "x"},\n'
    text = line * (1024 * 1024 // len(line) + 1)
    values = [plain("TOKEN"), regex(r'"id": \d+')]
    started = time.perf_counter()
    found = document_matches(text, values)
    elapsed = time.perf_counter() - started
    assert found.capped and len(found.spans) == MAX_MATCHES
    assert text[found.spans[0][0] : found.spans[0][1]] == '"id": 123456'
    assert text[found.spans[1][0] : found.spans[1][1]] == "token"
    assert elapsed < 0.5, f"{elapsed:.3f} s for 1 MiB"
    rare = document_matches(text + "needle", [plain("NEEDLE")])
    assert rare.spans == [(len(text), len(text) + 6)]
