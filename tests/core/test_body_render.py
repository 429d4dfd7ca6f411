"""Rendering a body in parts (text, highlighting runs, JSON tree), the
lexer chosen per media type, the tree's breadth-first arrays, the raw wire
form, and the helper's framing."""

from __future__ import annotations

import gzip
import json

import pytest

from inspector.core.body_render import (
    job_from_wire,
    job_to_wire,
    render_parts,
    runs_part,
    text_part,
    tree_part,
)
from inspector.core.bodyview import PREVIEW_LIMIT, BodyKind
from inspector.core.flow import Request, Response
from inspector.core.highlight import Stopped, Style, highlight, language_for
from inspector.core.json_tree import ARRAY, OBJECT, STRING, build_tree
from inspector.core.raw_message import as_text, raw_bytes, raw_view
from inspector.core.render_wire import FrameBuffer, encode_frame


def _response(body: bytes, content_type: bytes, *more: tuple[bytes, bytes]) -> Response:
    return Response(
        status=200,
        headers=[(b"Content-Type", content_type), *more],
        body=body,
        body_size=len(body),
    )


@pytest.mark.parametrize(
    ("media", "head", "language"),
    [
        ("application/json", "", "json"),
        ("application/problem+json", "", "json"),
        ("text/html", "", "html"),
        ("application/xhtml+xml", "", "html"),
        ("application/xml", "", "xml"),
        ("image/svg+xml", "", "xml"),
        ("application/atom+xml", "", "xml"),
        ("text/javascript", "", "javascript"),
        ("application/javascript", "", "javascript"),
        ("text/css", "", "css"),
        ("text/plain", "hello", None),
        ("text/plain", "  <!DOCTYPE html><html>", "html"),
        ("", '<?xml version="1.0"?><a/>', "xml"),
        ("image/png", "<html>", None),
    ],
)
def test_language_for(media: str, head: str, language: str | None) -> None:
    assert language_for(media, head) == language


def _styled(text: str, language: str) -> dict[str, set[Style]]:
    """The style of each token text (positions in ``text``)."""
    runs = highlight(text, language)
    found: dict[str, set[Style]] = {}
    for start, stop, style in runs.spans(len(text)):
        found.setdefault(text[start:stop], set()).add(Style(style))
    return found


def test_json_tokens_get_their_styles() -> None:
    styled = _styled('{"key": "value", "n": 12, "t": true, "z": null}', "json")
    assert styled['"key"'] == {Style.TAG}
    assert styled['"value"'] == {Style.STRING}
    assert styled["12"] == {Style.NUMBER}
    assert styled["true"] == {Style.CONSTANT} and styled["null"] == {Style.CONSTANT}


@pytest.mark.parametrize(
    ("language", "text", "token", "style"),
    [
        ("html", '<a href="x">hi</a>', "a", Style.TAG),
        ("html", '<a href="x">hi</a>', "href", Style.ATTRIBUTE),
        ("xml", "<!-- note --><r/>", "<!-- note -->", Style.COMMENT),
        ("javascript", "function f() { return 'q'; }", "function", Style.KEYWORD),
        ("javascript", "function f() { return 'q'; }", "'q'", Style.STRING),
        ("css", "a { color: #fff; }", "#fff", Style.NUMBER),
    ],
)
def test_other_languages(language: str, text: str, token: str, style: Style) -> None:
    assert style in _styled(text, language)[token]


def test_positions_count_utf16_units() -> None:
    text = '{"e": "😀", "n": 1}'
    runs = highlight(text, "json")
    # The emoji is one character but two UTF-16 units: "1" starts one later.
    one = text.index("1") + 1
    spans = list(runs.spans(len(text) + 1))
    assert (one, one + 1, Style.NUMBER) in spans


def test_highlight_stops_when_asked() -> None:
    text = json.dumps(list(range(200_000)))
    with pytest.raises(Stopped):
        highlight(text, "json", stop=lambda: True)


def test_json_renders_text_runs_and_tree() -> None:
    body = b'{"a": [1, 2], "b": "x"}'
    parts = dict(render_parts(_response(body, b"application/json"), False))
    text = text_part(parts["text"])
    assert text.kind is BodyKind.JSON and text.language == "json"
    assert text.text == json.dumps(json.loads(body), indent=2)
    runs = runs_part(parts["runs"])
    assert len(runs.starts) == len(runs.styles) > 5
    tree = tree_part(parts["tree"])
    assert (tree.key(1), tree.value(1)) == ("a", "[2 items]")


def test_large_json_is_pretty_printed_whole() -> None:
    value = [{"i": i, "s": "x" * 50} for i in range(PREVIEW_LIMIT // 40)]
    body = json.dumps(value).encode()
    assert len(body) > PREVIEW_LIMIT
    parts = dict(render_parts(_response(body, b"application/json"), False))
    text = text_part(parts["text"])
    assert text.kind is BodyKind.JSON and not text.truncated
    assert json.loads(text.text) == value
    assert len(tree_part(parts["tree"])) == 1 + len(value) * 3


def test_crlf_text_is_laid_out_as_qt_keeps_it() -> None:
    body = b"<html>\r\n<b>x</b>\r</html>"
    parts = dict(render_parts(_response(body, b"text/html"), False))
    assert text_part(parts["text"]).text == "<html>\n<b>x</b>\n</html>"
    assert "runs" in parts and "tree" not in parts


def test_binary_renders_hex_and_images_keep_their_bytes() -> None:
    parts = dict(render_parts(_response(bytes(range(256)), b"application/octet-stream"), False))
    text = text_part(parts["text"])
    assert text.kind is BodyKind.BINARY and text.text.startswith("00000000  00 01 02")
    assert set(parts) == {"text"}
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 40
    image = text_part(dict(render_parts(_response(png, b"image/png"), False))["text"])
    assert image.kind is BodyKind.IMAGE and image.data == png and image.size == len(png)


def test_job_round_trip_keeps_what_rendering_needs() -> None:
    message = _response(
        gzip.compress(b"{}"), b"application/json", (b"Content-Encoding", b"gzip"), (b"X", b"1")
    )
    frames = FrameBuffer()
    wire = encode_frame({"id": 1, "job": job_to_wire(message, True)})
    [frame] = frames.feed(wire[:7]) + frames.feed(wire[7:])
    back, show_all = job_from_wire(frame["job"])
    assert show_all and back.body == message.body
    assert back.headers == [(b"Content-Type", b"application/json"), (b"Content-Encoding", b"gzip")]


def test_tree_is_breadth_first() -> None:
    tree = build_tree({"a": {"x": 1}, "b": [True, "s"], "c": None})
    assert [tree.key(n) for n in range(len(tree))] == ["", "a", "b", "c", "x", "[0]", "[1]"]
    assert tree.kinds[0] == OBJECT and tree.kinds[2] == ARRAY and tree.kinds[6] == STRING
    assert (tree.first[0], tree.count[0]) == (1, 3)
    assert (tree.first[2], tree.count[2]) == (5, 2)
    assert tree.parent[5] == 2 and tree.value(6) == '"s"'


def test_tree_stops_at_its_limit() -> None:
    tree = build_tree(list(range(100)), limit=10)
    assert len(tree) == 10 and tree.cut and tree.count[0] == 9


def test_raw_request_and_response() -> None:
    request = Request(
        method="POST",
        target="/p?q=1",
        headers=[(b"Host", b"a.test"), (b"content-length", b"3")],
        body=b"a=1",
    )
    assert raw_bytes(request) == (
        b"POST /p?q=1 HTTP/1.1\r\nHost: a.test\r\ncontent-length: 3\r\n\r\na=1"
    )
    response = Response(
        status=200,
        reason="OK",
        headers=[(b"Content-Encoding", b"gzip"), (b"Transfer-Encoding", b"chunked")],
        body=gzip.compress(b"hello"),
    )
    plain = raw_view(response)
    assert plain.data.startswith(b"HTTP/1.1 200 OK\r\n") and plain.data.endswith(response.body)
    assert "Body as sent, gzip-encoded" in plain.notes
    assert "Body shown without its chunked framing" in plain.notes
    decoded = raw_view(response, decoded=True)
    assert decoded.data[decoded.body_start :] == b"hello"
    assert any(n.startswith("Body decoded from gzip") for n in decoded.notes)


def test_raw_text_shows_every_byte() -> None:
    assert as_text(b"GET / HTTP/1.1\r\n") == "GET / HTTP/1.1\r\n"
    assert as_text("café".encode() + b"\0\xff") == "café\u2400\xff"
