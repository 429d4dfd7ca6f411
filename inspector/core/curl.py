"""A flow's request as a ``curl`` command line, and back.

``as_curl`` exports: every field is shell-quoted (``shlex.quote``), so a
header or body holding quotes, ``$`` or newlines cannot break out of its
argument when pasted into a shell. Proxy credentials are never exported.
A body that is not printable UTF-8 text (a NUL, which no argument can
carry, other control bytes, invalid UTF-8) goes through standard input:
``printf '<octal escapes>' | curl ... --data-binary @-``, byte for byte.
``--compressed`` is added when the request's Accept-Encoding asks for an
encoding curl can decode (the header itself is kept, so curl sends it as
captured).

``parse_curl`` imports what a user pastes (a browser's "Copy as cURL", a
command from documentation, ``as_curl``'s own output): the request curl
would send, with the headers curl's options imply (``-u``, ``-b``,
``--json`` and so on) but not the ones curl adds by itself (Accept,
User-Agent). ``printf 'FORMAT' | curl ...`` with ``--data-binary @-``
(``as_curl``'s form for binary bodies) reads the body from the printf's
format. What cannot be known from the text alone (``@file`` data, an
option this reader does not know, which may take a value) is refused in
one line rather than guessed.
"""

from __future__ import annotations

import base64
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote_plus

from inspector.core.curl_options import (
    ACCEPT_ENCODING,
    DATA,
    FLAGS,
    FORM,
    IGNORED_FLAGS,
    REFUSED,
    VALUED,
    WITH_VALUE,
)
from inspector.core.flow import Flow, Request
from inspector.core.http_rules import HOP_BY_HOP
from inspector.core.shell_words import ShellSyntaxError, split_words

# curl computes these itself from the URL and the body.
_SKIPPED = HOP_BY_HOP | {b"host", b"content-length", b"transfer-encoding"}


_DECODABLE = frozenset({"gzip", "x-gzip", "deflate", "br", "zstd"})
_PIPE = re.compile(r"\s*printf\s+'([^']*)'\s*\|\s*(curl\b.*)", re.DOTALL)


def printable_text(body: bytes) -> str | None:
    """The body as text a shell argument (or a string literal) can carry:
    UTF-8 without NUL or control bytes but tabs and line breaks; else None."""
    if b"\x00" in body:
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any((ord(c) < 32 and c not in "\t\r\n") or ord(c) == 127 for c in text):
        return None
    return text


def printf_format(data: bytes) -> str:
    """``data`` as a printf format in single quotes: printable ASCII as is
    (``%`` doubled, backslash escaped), every other byte an octal escape."""
    out = []
    for byte in data:
        char = chr(byte)
        if char == "%":
            out.append("%%")
        elif char == "\\":
            out.append("\\\\")
        elif 32 <= byte < 127 and char != "'":
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return "'" + "".join(out) + "'"


def _asks_compression(value: bytes | None) -> bool:
    if value is None:
        return False
    codings = {part.split(b";")[0].strip().lower().decode("latin-1") for part in value.split(b",")}
    return bool(codings & _DECODABLE)


def headers_to_send(request: Request) -> list[tuple[str, str]]:
    """The request's headers as a tool should send them: the computed ones
    left out, Host kept only when it is not the URL's."""
    result: list[tuple[str, str]] = []
    host = request.header(b"host")
    url_host = request.url.split("/")[2] if "://" in request.url else ""
    if host is not None and host.decode("latin-1") != url_host:
        result.append(("Host", host.decode("latin-1")))
    for name, value in request.headers:
        if name.lower() not in _SKIPPED:
            result.append((name.decode("latin-1"), value.decode("latin-1")))
    return result


def as_curl(flow: Flow) -> str:
    request = flow.request
    parts = ["curl"]
    if request.method != "GET" or request.body:
        parts += ["-X", shlex.quote(request.method)]
    parts.append(shlex.quote(request.url))
    for name, value in headers_to_send(request):
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if _asks_compression(request.header(b"accept-encoding")):
        parts.append("--compressed")
    prefix = ""
    if request.body:
        text = printable_text(request.body)
        if text is not None:
            parts += ["--data-binary", shlex.quote(text)]
        else:
            prefix = f"printf {printf_format(request.body)} | "
            parts += ["--data-binary", "@-"]
    command = prefix + " ".join(parts)
    if request.body_truncated:
        # On a line of its own: a comment inside the command would end it.
        command = "# the body was cut at the capture limit\n" + command
    return command


# Import: a pasted curl command line back into a request.


class CurlError(ValueError):
    """A command line that cannot be read as one request; one line why."""


@dataclass(slots=True)
class CurlRequest:
    method: str
    url: str
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""


def parse_curl(text: str) -> CurlRequest:
    """The request a curl command line would send. Raises CurlError."""
    stdin: bytes | None = None
    piped = _PIPE.fullmatch(_without_comments(text))
    if piped is not None:
        stdin = _printf_bytes(piped.group(1))
        text = piped.group(2)
    try:
        words = split_words(text)
    except ShellSyntaxError as exc:
        raise CurlError(str(exc)) from None
    if not words or words[0] != "curl":
        raise CurlError("the command does not start with curl")
    return _Reader(words[1:], stdin).request()


def _without_comments(text: str) -> str:
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    return "\n".join(lines).strip()


_PRINTF_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}


def _printf_bytes(form: str) -> bytes:
    """What ``printf 'form'`` writes: its escapes and ``%%``; any other
    conversion is refused (it would need arguments this reader ignores)."""
    out = bytearray()
    i, end = 0, len(form)
    while i < end:
        char = form[i]
        if char == "\\" and i + 1 < end:
            code = form[i + 1]
            if code in "01234567":
                j = i + 1
                while j < end and j < i + 4 and form[j] in "01234567":
                    j += 1
                out.append(int(form[i + 1 : j], 8) & 0xFF)
                i = j
                continue
            if code in _PRINTF_ESCAPES:
                out.append(_PRINTF_ESCAPES[code])
                i += 2
                continue
            out += b"\\"
            i += 1
        elif char == "%":
            if form.startswith("%%", i):
                out += b"%"
                i += 2
                continue
            raise CurlError("printf with conversions (%s, %b) is not supported; paste the data")
        else:
            out += char.encode("utf-8")
            i += 1
    return bytes(out)


class _Reader:
    def __init__(self, args: list[str], stdin: bytes | None = None) -> None:
        self.args = args
        self.stdin = stdin
        self.urls: list[str] = []
        self.method: str | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.removed: set[bytes] = set()
        self.derived: list[tuple[bytes, bytes]] = []
        self.data: list[bytes] = []
        self.json = False
        self.cookies: list[str] = []
        self.head = self.get = self.compressed = False

    def request(self) -> CurlRequest:
        args = iter(self.args)
        for arg in args:
            if arg == "--":
                self.urls.extend(args)
            elif arg.startswith("--"):
                self._long(arg, args)
            elif arg.startswith("-") and len(arg) > 1:
                self._short(arg, args)
            else:
                self.urls.append(arg)
        return self._build()

    def _short(self, arg: str, args: Iterator[str]) -> None:
        for i in range(1, len(arg)):
            option = "-" + arg[i]
            if option in FLAGS:
                self._long(FLAGS[option], args)
            elif option in WITH_VALUE or option in ("-d",):
                rest = arg[i + 1 :]
                value = rest if rest else _next(args, option)
                self._valued(WITH_VALUE.get(option, option), value)
                return
            else:
                raise CurlError(f"unknown option {option} (in {arg})")

    def _long(self, option: str, args: Iterator[str]) -> None:
        if option == "--head":
            self.head = True
        elif option == "--get":
            self.get = True
        elif option == "--compressed":
            self.compressed = True
        elif option in IGNORED_FLAGS:
            pass
        elif option in VALUED:
            self._valued(option, _next(args, option))
        else:
            raise CurlError(f"unknown option {option}")

    def _valued(self, option: str, value: str) -> None:
        if option in REFUSED:
            raise CurlError(REFUSED[option])
        kind = DATA.get(option)
        if kind is not None and value == "@-" and kind != "raw" and self.stdin is not None:
            data = self.stdin
            if kind == "data":
                data = data.replace(b"\r", b"").replace(b"\n", b"")
            self.data.append(data)
            self.json = self.json or kind == "json"
        elif kind is not None:
            self.data.append(_data(kind, value).encode())
            self.json = self.json or kind == "json"
        elif option == "--request":
            self.method = value
        elif option == "--header":
            self._header(value)
        elif option == "--url":
            self.urls.append(value)
        elif option == "--user":
            user = value if ":" in value else value + ":"
            self.derived.append((b"Authorization", b"Basic " + base64.b64encode(user.encode())))
        elif option == "--user-agent":
            self.derived.append((b"User-Agent", value.encode()))
        elif option == "--referer":
            referer = value.removesuffix(";auto")
            if referer:
                self.derived.append((b"Referer", referer.encode()))
        elif option == "--cookie":
            if "=" not in value:
                raise CurlError(f"-b {value!r} names a cookie file, which is not supported")
            self.cookies.append(value.strip().rstrip(";"))
        elif option == "--range":
            self.derived.append((b"Range", b"bytes=" + value.encode()))

    def _header(self, line: str) -> None:
        if line.startswith("@"):
            raise CurlError("reading headers from a file (-H @file) is not supported")
        colon, semicolon = line.find(":"), line.find(";")
        if semicolon != -1 and (colon == -1 or semicolon < colon) and not line[semicolon + 1 :]:
            # "Name;" sends the header with an empty value (curl's manual).
            self.headers.append((line[:semicolon].strip().encode(), b""))
            return
        if colon <= 0:
            raise CurlError(f"the header {line!r} has no 'name: value'")
        name, value = line[:colon].strip().encode(), line[colon + 1 :].strip()
        if not value:
            # "Name:" removes a header curl would add; it sends nothing.
            self.removed.add(name.lower())
            return
        self.headers.append((name, value.encode()))

    def _build(self) -> CurlRequest:
        if not self.urls:
            raise CurlError("no URL in the command")
        if len(self.urls) > 1:
            raise CurlError(f"{len(self.urls)} URLs in the command; paste one request at a time")
        url = self.urls[0]
        if "://" not in url.split("?", 1)[0]:
            url = "http://" + url  # as curl guesses
        given = {name.lower() for name, _ in self.headers} | self.removed
        derived = list(self.derived)
        if self.cookies:
            derived.append((b"Cookie", "; ".join(self.cookies).encode()))
        if self.compressed:
            derived.append((b"Accept-Encoding", ACCEPT_ENCODING))
        body = (b"" if self.json else b"&").join(self.data)
        if self.get and self.data:
            url += ("&" if "?" in url else "?") + body.decode("utf-8", "replace")
            body = b""
        trailing: list[tuple[bytes, bytes]] = []
        if self.json:
            derived.append((b"Accept", b"application/json"))
            trailing.append((b"Content-Type", b"application/json"))
        elif self.data and not self.get:
            trailing.append((b"Content-Type", FORM))
        headers = [h for h in derived if h[0].lower() not in given]
        headers += self.headers
        headers += [h for h in trailing if h[0].lower() not in given]
        if self.method is not None:
            method = self.method
        elif self.head:
            method = "HEAD"
        else:
            method = "POST" if self.data and not self.get else "GET"
        return CurlRequest(method, url, headers, body)


def _next(args: Iterator[str], option: str) -> str:
    value = next(args, None)
    if value is None:
        raise CurlError(f"{option} needs a value")
    return value


def _data(kind: str, value: str) -> str:
    if kind == "raw":
        return value
    if kind == "urlencode":
        name, sep, content = value.partition("=")
        if not sep:
            if "@" in value:
                raise CurlError("--data-urlencode name@file is not supported")
            return quote_plus(value, safe="")
        return (name + "=" if name else "") + quote_plus(content, safe="")
    if value.startswith("@"):
        raise CurlError(f"reading data from a file ({value}) is not supported")
    if kind == "data":
        # curl strips line breaks from -d and --data-ascii, not from --data-binary.
        return value.replace("\r", "").replace("\n", "")
    return value
