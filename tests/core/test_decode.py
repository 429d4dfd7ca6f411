from __future__ import annotations

import contextlib
import gzip
import zlib

import brotli
import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from inspector.core.decode import DecodeError, decode_body, parse_encodings

TEXT = b'{"hello": "world"}' * 100


def test_parse_encodings() -> None:
    assert parse_encodings(None) == ()
    assert parse_encodings(b"identity") == ()
    assert parse_encodings(b"GZIP, br") == ("gzip", "br")


@pytest.mark.parametrize(
    ("encoded", "header"),
    [
        (gzip.compress(TEXT), b"gzip"),
        (zlib.compress(TEXT), b"deflate"),
        (TEXT, b"identity"),
        (brotli.compress(TEXT), b"br"),
        (zstandard.ZstdCompressor().compress(TEXT), b"zstd"),
    ],
    ids=["gzip", "deflate", "identity", "br", "zstd"],
)
def test_each_encoding(encoded: bytes, header: bytes) -> None:
    if header == b"identity":
        assert decode_body(TEXT, header).data == TEXT
        return
    decoded = decode_body(encoded, header)
    assert decoded.data == TEXT
    assert not decoded.truncated


def test_raw_deflate_is_accepted() -> None:
    compressor = zlib.compressobj(wbits=-15)
    raw = compressor.compress(TEXT) + compressor.flush()
    assert decode_body(raw, b"deflate").data == TEXT


def test_streamed_zstd_frame_without_content_size() -> None:
    compressor = zstandard.ZstdCompressor()
    chunker = compressor.compressobj()
    streamed = chunker.compress(TEXT) + chunker.flush()
    with pytest.raises(zstandard.ZstdError):
        zstandard.decompress(streamed)  # the trap this module avoids
    assert decode_body(streamed, b"zstd").data == TEXT


def test_stacked_encodings_are_undone_in_reverse() -> None:
    body = brotli.compress(gzip.compress(TEXT))
    decoded = decode_body(body, b"gzip, br")
    assert decoded.data == TEXT
    assert decoded.encodings == ("gzip", "br")


@pytest.mark.parametrize("header", [b"gzip", b"deflate", b"br", b"zstd"])
def test_bombs_stop_at_the_limit(header: bytes) -> None:
    zeros = b"\0" * (20 * 1024 * 1024)
    encoders = {
        b"gzip": gzip.compress,
        b"deflate": zlib.compress,
        b"br": brotli.compress,
        b"zstd": zstandard.ZstdCompressor().compress,
    }
    decoded = decode_body(encoders[header](zeros), header, limit=1024 * 1024)
    assert len(decoded.data) == 1024 * 1024
    assert decoded.truncated


def test_cut_gzip_shows_what_there_is() -> None:
    body = gzip.compress(TEXT * 10)
    decoded = decode_body(body[: len(body) // 2], b"gzip")
    assert decoded.truncated
    assert TEXT[:100] in decoded.data


@pytest.mark.parametrize("header", [b"gzip", b"br", b"zstd", b"compress"])
def test_garbage_is_a_decode_error(header: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_body(b"definitely not compressed", header)


@given(st.binary(max_size=200), st.sampled_from([b"gzip", b"deflate", b"br", b"zstd"]))
def test_random_input_decodes_or_raises_decode_error(data: bytes, header: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_body(data, header, limit=4096)
