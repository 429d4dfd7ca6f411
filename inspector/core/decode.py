"""Content-Encoding decoding for display: gzip, deflate, br and zstd.

Decoding is for showing a body, never for forwarding it, so it is capped:
a small compressed body can expand without limit (a "zip bomb"), and the
viewer only needs the first ``limit`` bytes. Stacked encodings
(``Content-Encoding: gzip, br``) are undone in reverse order.

zstd is decoded with a streaming reader: ``zstandard.decompress()`` fails on
frames written in streaming mode, which carry no content size.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass

import brotli
import zstandard

DEFAULT_LIMIT = 64 * 1024 * 1024


class DecodeError(Exception):
    """The body does not decode with the encoding its header names."""


@dataclass(slots=True, frozen=True)
class Decoded:
    data: bytes
    encodings: tuple[str, ...]
    """The encodings undone, in the order they were applied."""
    truncated: bool
    """Output stopped at the limit."""


def parse_encodings(header: bytes | None) -> tuple[str, ...]:
    if not header:
        return ()
    names = (part.strip().lower() for part in header.decode("latin-1").split(","))
    return tuple(name for name in names if name and name != "identity")


def decode_body(body: bytes, content_encoding: bytes | None, limit: int = DEFAULT_LIMIT) -> Decoded:
    """Undo ``content_encoding``; raises DecodeError naming the encoding
    that failed or is unknown."""
    encodings = parse_encodings(content_encoding)
    data = body
    truncated = False
    for name in reversed(encodings):
        decoder = _DECODERS.get(name)
        if decoder is None:
            raise DecodeError(f"unsupported Content-Encoding {name!r}")
        try:
            data, cut = decoder(data, limit)
        except (zlib.error, brotli.error, zstandard.ZstdError, EOFError, OSError) as exc:
            raise DecodeError(f"body is not valid {name}: {exc}") from None
        truncated = truncated or cut
    return Decoded(data, encodings, truncated)


def _zlib(data: bytes, limit: int, wbits: int) -> tuple[bytes, bool]:
    decompressor = zlib.decompressobj(wbits)
    out = decompressor.decompress(data, limit + 1)
    if len(out) > limit:
        return out[:limit], True
    if not decompressor.eof and not decompressor.unconsumed_tail:
        # Input ended mid-stream: show what there is (a captured body may be
        # cut at the capture limit) but say so.
        out += decompressor.flush()
        return out[:limit], True
    return out, False


def _gzip(data: bytes, limit: int) -> tuple[bytes, bool]:
    return _zlib(data, limit, 16 + zlib.MAX_WBITS)


def _deflate(data: bytes, limit: int) -> tuple[bytes, bool]:
    # "deflate" is meant to be zlib-wrapped (RFC 9110 section 8.4.1.2), but
    # some servers send raw deflate; accept both.
    try:
        return _zlib(data, limit, zlib.MAX_WBITS)
    except zlib.error:
        return _zlib(data, limit, -zlib.MAX_WBITS)


def _brotli(data: bytes, limit: int) -> tuple[bytes, bool]:
    decompressor = brotli.Decompressor()
    out = decompressor.process(data, output_buffer_limit=limit + 1)
    if len(out) > limit:
        return out[:limit], True
    return out, not decompressor.is_finished()


def _zstd(data: bytes, limit: int) -> tuple[bytes, bool]:
    reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True)
    out = reader.read(limit + 1)
    if len(out) > limit:
        return out[:limit], True
    return out, False


_DECODERS = {
    "gzip": _gzip,
    "x-gzip": _gzip,
    "deflate": _deflate,
    "br": _brotli,
    "zstd": _zstd,
}
