"""A flow's request as a ``curl`` command line, and back.

``as_curl`` exports: every field is shell-quoted (``shlex.quote``), so a
header or body holding quotes, ``$`` or newlines cannot break out of its
argument when pasted into a shell. Proxy credentials are never exported.

``parse_curl`` imports what a user pastes (a browser's "Copy as cURL", a
command from documentation, ``as_curl``'s own output): the request curl
would send, with the headers curl's options imply (``-u``, ``-b``,
``--json`` and so on) but not the ones curl adds by itself (Accept,
User-Agent). What cannot be known from the text alone (``@file`` data, an
option this reader does not know, which may take a value) is refused in
one line rather than guessed.
"""

from __future__ import annotations

import base64
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
from inspector.core.flow import Flow
from inspector.core.http_rules import HOP_BY_HOP
from inspector.core.shell_words import ShellSyntaxError, split_words

# curl computes these itself from the URL and the body.
_SKIPPED = HOP_BY_HOP | {b"host", b"content-length", b"transfer-encoding"}


def as_curl(flow: Flow) -> str:
    request = flow.request
    parts = ["curl"]
    if request.method != "GET" or request.body:
        parts += ["-X", shlex.quote(request.method)]
    parts.append(shlex.quote(request.url))
    host = request.header(b"host")
    default_host = request.url.split("/")[2] if "://" in request.url else ""
    if host is not None and host.decode("latin-1") != default_host:
        parts += ["-H", shlex.quote("Host: " + host.decode("latin-1"))]
    for name, value in request.headers:
        if name.lower() in _SKIPPED:
            continue
        header = name.decode("latin-1") + ": " + value.decode("latin-1")
        parts += ["-H", shlex.quote(header)]
    if request.body:
        body = request.body.decode("utf-8", "replace")
        parts += ["--data-binary", shlex.quote(body)]
        if request.body_truncated:
            parts.insert(1, "# body truncated at the capture limit;")
    return " ".join(parts)


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
    try:
        words = split_words(text)
    except ShellSyntaxError as exc:
        raise CurlError(str(exc)) from None
    if not words or words[0] != "curl":
        raise CurlError("the command does not start with curl")
    return _Reader(words[1:]).request()


class _Reader:
    def __init__(self, args: list[str]) -> None:
        self.args = args
        self.urls: list[str] = []
        self.method: str | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.removed: set[bytes] = set()
        self.derived: list[tuple[bytes, bytes]] = []
        self.data: list[str] = []
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
        if kind is not None:
            self.data.append(_data(kind, value))
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
        body = ("" if self.json else "&").join(self.data).encode()
        if self.get and self.data:
            url += ("&" if "?" in url else "?") + body.decode()
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
