"""Redaction: which names are secrets, and that only their values change,
in headers, URLs, queries, forms and whole HAR entries (ours or another
tool's)."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspector.core import forms, redact
from inspector.core.redact import MARKER


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("Authorization", True),
        ("proxy-authorization", True),
        ("Cookie", True),
        ("SET-COOKIE", True),
        ("X-Auth-Token", True),
        ("X-CSRF-Token", True),
        ("X-Api-Key", True),
        ("x-apikey", True),
        ("X-Goog-Api-Key", True),
        ("Client-Secret", True),
        ("WWW-Authenticate", True),
        ("Content-Type", False),
        ("Host", False),
        ("Sec-WebSocket-Key", False),
        ("Referer", False),
        (":authority", False),
    ],
)
def test_is_secret_header(name: str, secret: bool) -> None:
    assert redact.is_secret_header(name) is secret


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("token", True),
        ("access_token", True),
        ("API_KEY", True),
        ("key", True),
        ("client_secret", True),
        ("Password", True),
        ("sessionid", True),
        ("PHPSESSID", True),
        ("auth", True),
        ("X-Amz-Signature", True),
        ("sig", True),
        ("q", False),
        ("page", False),
        ("user", False),
        ("id", False),
    ],
)
def test_is_secret_param(name: str, secret: bool) -> None:
    assert redact.is_secret_param(name) is secret


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ""),
        ("q=1", "q=1"),
        ("token=abc", f"token={MARKER}"),
        ("q=a%20b&access_token=x&page=2", f"q=a%20b&access_token={MARKER}&page=2"),
        ("api%5Fkey=x", f"api%5Fkey={MARKER}"),
        ("Sig=1&sig=2", f"Sig={MARKER}&sig={MARKER}"),
        ("token", "token"),
        ("token=", f"token={MARKER}"),
        ("q=x+y&&key=z", f"q=x+y&&key={MARKER}"),
    ],
)
def test_redact_query_keeps_everything_else(query: str, expected: str) -> None:
    assert redact.redact_query(query) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/", "https://example.com/"),
        ("https://example.com/p?token=abc&q=1", f"https://example.com/p?token={MARKER}&q=1"),
        ("https://u:pw@example.com:8443/x", f"https://u:{MARKER}@example.com:8443/x"),
        ("https://u@example.com/", "https://u@example.com/"),
        ("http://[::1]:8080/?key=v", f"http://[::1]:8080/?key={MARKER}"),
        ("/relative?session=s#top", f"/relative?session={MARKER}#top"),
        ("https://app/cb#access_token=t&state=s", f"https://app/cb#access_token={MARKER}&state=s"),
        ("//cdn.example/a?sig=1", f"//cdn.example/a?sig={MARKER}"),
        ("https://a.example/path@x?q=1", "https://a.example/path@x?q=1"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact.redact_url(url) == expected


def test_redact_headers() -> None:
    headers = [
        ("Authorization", "Bearer abc"),
        ("Accept", "*/*"),
        ("Referer", "https://site/page?token=t&x=1"),
        ("Location", "/next?password=p"),
        ("X-Trace", "token=not-a-query-header"),
    ]
    assert redact.redact_headers(headers) == [
        ("Authorization", MARKER),
        ("Accept", "*/*"),
        ("Referer", f"https://site/page?token={MARKER}&x=1"),
        ("Location", f"/next?password={MARKER}"),
        ("X-Trace", "token=not-a-query-header"),
    ]


def test_redact_params() -> None:
    params = [("user", "bob"), ("password", "hunter2"), ("user", "again")]
    assert redact.redact_params(params) == [
        ("user", "bob"),
        ("password", MARKER),
        ("user", "again"),
    ]


MULTIPART = (
    b"--B\r\n"
    b'Content-Disposition: form-data; name="user"\r\n\r\nbob\r\n'
    b"--B\r\n"
    b'Content-Disposition: form-data; name="api_key"\r\n\r\nk-123\r\n'
    b"--B\r\n"
    b'Content-Disposition: form-data; name="session"; filename="s.bin"\r\n\r\n\x00\xff\r\n'
    b"--B--\r\n"
)
MULTIPART_REDACTED = MULTIPART.replace(b"k-123", MARKER.encode()).replace(
    b"\x00\xff", MARKER.encode()
)


def test_redact_multipart() -> None:
    assert redact.redact_multipart(MULTIPART, b"B") == MULTIPART_REDACTED
    plain = MULTIPART.replace(b"api_key", b"comment").replace(b'"session"', b'"file"')
    assert redact.redact_multipart(plain, b"B") == plain


@pytest.mark.parametrize(
    ("text", "content_type", "expected"),
    [
        ("a=1&password=x", "application/x-www-form-urlencoded", f"a=1&password={MARKER}"),
        (
            "a=1&password=x",
            "application/x-www-form-urlencoded; charset=utf-8",
            f"a=1&password={MARKER}",
        ),
        ('{"password": "x"}', "application/json", '{"password": "x"}'),
        ("password=x", "text/plain", "password=x"),
        (
            '--B\r\nContent-Disposition: form-data; name="token"\r\n\r\ncafé\r\n--B--\r\n',
            "multipart/form-data; boundary=B",
            f'--B\r\nContent-Disposition: form-data; name="token"\r\n\r\n{MARKER}\r\n--B--\r\n',
        ),
    ],
)
def test_redact_form(text: str, content_type: str, expected: str) -> None:
    assert redact.redact_form(text, content_type) == expected


def test_redact_form_bytes() -> None:
    assert (
        redact.redact_form_bytes(MULTIPART, "multipart/form-data; boundary=B") == MULTIPART_REDACTED
    )
    urlencoded = "application/x-www-form-urlencoded"
    assert (
        redact.redact_form_bytes(b"n=caf\xe9&key=\xff", urlencoded)
        == b"n=caf\xe9&key=" + MARKER.encode()
    )
    assert redact.redact_form_bytes(b"key=1", "application/octet-stream") == b"key=1"


def chrome_like_entry() -> dict[str, Any]:
    """An entry as Chrome writes one, fields we never write included."""
    return {
        "_initiator": {"type": "other"},
        "startedDateTime": "2024-01-01T00:00:00.000Z",
        "request": {
            "method": "POST",
            "url": "https://api.example/login?sig=abc&lang=en",
            "httpVersion": "http/2.0",
            "headers": [
                {"name": ":authority", "value": "api.example"},
                {"name": "authorization", "value": "Basic dXNlcjpwYXNz"},
                {"name": "referer", "value": "https://api.example/?session=s1"},
            ],
            "queryString": [{"name": "sig", "value": "abc"}, {"name": "lang", "value": "en"}],
            "cookies": [{"name": "sid", "value": "c1", "path": "/"}],
            "postData": {
                "mimeType": "application/x-www-form-urlencoded",
                "text": "user=bob&password=hunter2",
                "params": [
                    {"name": "user", "value": "bob"},
                    {"name": "password", "value": "hunter2"},
                    {"name": "token", "fileName": "t.txt"},
                ],
            },
        },
        "response": {
            "status": 302,
            "headers": [
                {"name": "set-cookie", "value": "sid=c2"},
                {"name": "location", "value": "/home?auth=a1"},
            ],
            "cookies": [{"name": "sid", "value": "c2", "httpOnly": True}],
            "redirectURL": "/home?auth=a1",
            "content": {"size": 5, "mimeType": "text/plain", "text": "token=in-body"},
        },
        "_webSocketMessages": [{"type": "send", "time": 1.0, "opcode": 1, "data": "token=ws"}],
    }


def test_redact_entry_everywhere() -> None:
    entry = chrome_like_entry()
    before = copy.deepcopy(entry)
    result = redact.redact_entry(entry)
    assert entry == before, "the entry given is not changed"
    request, response = result["request"], result["response"]
    assert request["url"] == f"https://api.example/login?sig={MARKER}&lang=en"
    assert [h["value"] for h in request["headers"]] == [
        "api.example",
        MARKER,
        f"https://api.example/?session={MARKER}",
    ]
    assert request["queryString"] == [
        {"name": "sig", "value": MARKER},
        {"name": "lang", "value": "en"},
    ]
    assert request["cookies"] == [{"name": "sid", "value": MARKER, "path": "/"}]
    assert request["postData"]["text"] == f"user=bob&password={MARKER}"
    assert request["postData"]["params"] == [
        {"name": "user", "value": "bob"},
        {"name": "password", "value": MARKER},
        {"name": "token", "fileName": "t.txt"},
    ]
    assert [h["value"] for h in response["headers"]] == [MARKER, f"/home?auth={MARKER}"]
    assert response["cookies"] == [{"name": "sid", "value": MARKER, "httpOnly": True}]
    assert response["redirectURL"] == f"/home?auth={MARKER}"
    # Bodies received and WebSocket messages are not redacted.
    assert response["content"] == before["response"]["content"]
    assert result["_webSocketMessages"] == before["_webSocketMessages"]
    assert result["_initiator"] == before["_initiator"]


def test_redact_entry_base64_post_data() -> None:
    post = {
        "mimeType": "multipart/form-data; boundary=B",
        "text": base64.b64encode(MULTIPART).decode(),
        "_encoding": "base64",
    }
    result = redact.redact_entry({"request": {"url": "https://x/", "postData": post}})
    assert base64.b64decode(result["request"]["postData"]["text"]) == MULTIPART_REDACTED
    broken = {**post, "text": "not base64!"}
    result = redact.redact_entry({"request": {"url": "https://x/", "postData": broken}})
    assert result["request"]["postData"]["text"] == "not base64!"


def test_redact_entry_tolerates_missing_fields() -> None:
    assert redact.redact_entry({}) == {}
    result = redact.redact_entry({"request": {"url": "/?key=1"}, "response": {}})
    assert result["request"] == {
        "url": f"/?key={MARKER}",
        "headers": [],
        "cookies": [],
        "queryString": [],
    }
    assert result["response"] == {"headers": [], "cookies": [], "redirectURL": ""}


_names = st.sampled_from(["q", "page", "token", "api_key", "x%20y", "Session", "sig", ""])
_values = st.text(alphabet="abc%20+=", max_size=6)


@given(st.lists(st.tuples(_names, _values), max_size=6))
def test_redact_query_changes_only_secret_values(pairs: list[tuple[str, str]]) -> None:
    query = "&".join(f"{name}={value}" for name, value in pairs)
    pieces = redact.redact_query(query).split("&")
    original = query.split("&")
    assert len(pieces) == len(original)
    for before, after in zip(original, pieces, strict=True):
        name = before.partition("=")[0]
        if redact.is_secret_param(forms.unquote(name)):
            assert after == f"{name}={MARKER}"
        else:
            assert after == before
