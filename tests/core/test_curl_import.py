"""parse_curl: pasted curl command lines (a browser's copy, documentation
examples, as_curl's own output) read back into the request curl would
send; what cannot be read is refused in one line."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspector.core.curl import CurlError, CurlRequest, as_curl, parse_curl
from inspector.core.flow import Flow, Request
from inspector.core.shell_words import split_words

FORM = (b"Content-Type", b"application/x-www-form-urlencoded")

CHROME = r"""curl 'https://api.example.com/v1/items?page=2&sort=-date' \
  -H 'accept: application/json, text/plain, */*' \
  -H 'accept-language: en-GB,en;q=0.9' \
  -b 'session=abc123; theme=dark' \
  -H 'content-type: application/json' \
  -H 'origin: https://example.com' \
  -H 'sec-ch-ua: "Chromium";v="124", "Not-A.Brand";v="99"' \
  -H 'user-agent: Mozilla/5.0 (X11; Linux x86_64)' \
  --data-raw $'{"name":"O\'Brien","note":"line1\\nline2","city":"Z\u00fcrich"}'"""


def test_a_chrome_copy() -> None:
    request = parse_curl(CHROME)
    assert request.method == "POST"
    assert request.url == "https://api.example.com/v1/items?page=2&sort=-date"
    assert request.headers == [
        (b"Cookie", b"session=abc123; theme=dark"),
        (b"accept", b"application/json, text/plain, */*"),
        (b"accept-language", b"en-GB,en;q=0.9"),
        (b"content-type", b"application/json"),
        (b"origin", b"https://example.com"),
        (b"sec-ch-ua", b'"Chromium";v="124", "Not-A.Brand";v="99"'),
        (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64)"),
    ]
    assert request.body == '{"name":"O\'Brien","note":"line1\\nline2","city":"Zürich"}'.encode()


EXAMPLES: list[tuple[str, CurlRequest]] = [
    ("curl example.com", CurlRequest("GET", "http://example.com")),
    ("curl -I https://h.test/", CurlRequest("HEAD", "https://h.test/")),
    ("curl --url http://h.test/ -X delete", CurlRequest("delete", "http://h.test/")),
    (
        "curl -sSLk -o /dev/null --max-time 5 -XPATCH http://h.test/p -d 'a=1' -d b=2",
        CurlRequest("PATCH", "http://h.test/p", [FORM], b"a=1&b=2"),
    ),
    (
        "curl http://h.test/ -d $'one\\ntwo' --data-binary $'three\\nfour'",
        CurlRequest("POST", "http://h.test/", [FORM], b"onetwo&three\nfour"),
    ),
    (
        "curl -G http://h.test/s?x=1 -d q=a --data-urlencode 'name=a b&c'",
        CurlRequest("GET", "http://h.test/s?x=1&q=a&name=a+b%26c"),
    ),
    (
        "curl http://h.test/ --json '{\"a\": 1}'",
        CurlRequest(
            "POST",
            "http://h.test/",
            [(b"Accept", b"application/json"), (b"Content-Type", b"application/json")],
            b'{"a": 1}',
        ),
    ),
    (
        "curl -u ann:s3cret -A 'Bot/1' -e http://ref.test/ -H 'X-A: 1' http://h.test/",
        CurlRequest(
            "GET",
            "http://h.test/",
            [
                (b"Authorization", b"Basic " + base64.b64encode(b"ann:s3cret")),
                (b"User-Agent", b"Bot/1"),
                (b"Referer", b"http://ref.test/"),
                (b"X-A", b"1"),
            ],
        ),
    ),
    (
        "curl -A one -H 'User-Agent: two' --compressed -H 'Accept-Encoding:' http://h/",
        CurlRequest("GET", "http://h/", [(b"User-Agent", b"two")]),
    ),
    ("curl -H 'X-Empty;' http://h/", CurlRequest("GET", "http://h/", [(b"X-Empty", b"")])),
    (
        'curl "http://h.test/\\$HOME" -H "X-Q: \\"q\\" \'s\'" # a comment',
        CurlRequest("GET", "http://h.test/$HOME", [(b"X-Q", b"\"q\" 's'")]),
    ),
    (
        'curl ^\r\n  http://h.test/ ^\r\n  -H "A: b"',
        CurlRequest("GET", "http://h.test/", [(b"A", b"b")]),
    ),
    ("curl -- -weird.test", CurlRequest("GET", "http://-weird.test")),
]


@pytest.mark.parametrize(("command", "expected"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_examples(command: str, expected: CurlRequest) -> None:
    assert parse_curl(command) == expected


BAD: list[tuple[str, str]] = [
    ("", "does not start with curl"),
    ("wget http://h/", "does not start with curl"),
    ("curl", "no URL"),
    ("curl -s -H 'A: b'", "no URL"),
    ("curl 'http://h/", "never closed"),
    ('curl "http://h/', "never closed"),
    ("curl $'http://h/", "never closed"),
    ("curl http://a/ http://b/", "2 URLs"),
    ("curl http://h/ --frobnicate x", "unknown option --frobnicate"),
    ("curl -Z http://h/", "unknown option -Z"),
    ("curl http://h/ -d @body.json", "from a file (@body.json) is not supported"),
    ("curl http://h/ --data-binary @-", "not supported"),
    ("curl http://h/ --data-urlencode name@file", "not supported"),
    ("curl http://h/ -F a=b", "multipart"),
    ("curl http://h/ -T up.bin", "uploading a file"),
    ("curl http://h/ -b cookies.txt", "cookie file"),
    ("curl http://h/ -H NoColon", "no 'name: value'"),
    ("curl http://h/ -H", "-H needs a value"),
    ("curl http://h/ ; rm -rf x", "paste one curl command"),
]


@pytest.mark.parametrize(("command", "why"), BAD, ids=[b[0] for b in BAD])
def test_bad_input(command: str, why: str) -> None:
    with pytest.raises(CurlError, match=why.replace("(", r"\(").replace(")", r"\)")) as caught:
        parse_curl(command)
    assert "\n" not in str(caught.value)


def test_ansi_c_escapes() -> None:
    assert split_words(r"$'\x41\101\u00e9\U0001F600\t\e\cA\q'") == ["AAé😀\t\x1b\x01\\q"]


_TOKEN = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=1)
_VALUE = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=30
) | st.builds(lambda a, b: f"{a} {b}", _TOKEN, _TOKEN)
_SKIP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "te"}
_SKIP |= {"proxy-authorization", "proxy-authenticate", "proxy-connection", "trailer", "upgrade"}


@st.composite
def _requests(draw: st.DrawFn) -> Request:
    headers = [
        (name.encode(), value.encode())
        for name, value in draw(st.lists(st.tuples(_TOKEN, _VALUE), max_size=6))
        if name.lower() not in _SKIP
    ]
    body = draw(st.one_of(st.just(""), st.text(max_size=40))).encode()
    path = "/" + draw(st.text("abc/-_.~%=&?", max_size=20))
    return Request(
        method=draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])),
        scheme=draw(st.sampled_from(["http", "https"])),
        host=draw(st.sampled_from(["example.com", "127.0.0.1", "h.test"])),
        port=draw(st.sampled_from([80, 443, 8080])),
        target=path,
        headers=headers,
        body=body,
        body_size=len(body),
    )


@given(_requests())
def test_as_curl_round_trips(request: Request) -> None:
    parsed = parse_curl(as_curl(Flow(1, ("127.0.0.1", 1), request)))
    assert parsed.method == request.method
    assert parsed.url == request.url
    assert parsed.body == request.body
    expected = list(request.headers)
    if request.body and not any(n.lower() == b"content-type" for n, _ in expected):
        expected.append(FORM)  # what curl adds to a body sent without a type
    assert parsed.headers == expected
