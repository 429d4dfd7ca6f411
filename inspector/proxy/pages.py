"""Responses the proxy writes itself: error answers and the help page.

Error answers are one line of plain text naming the cause, so ``curl`` shows
something useful. Anything echoed into HTML is escaped.
"""

from __future__ import annotations

import html
from http import HTTPStatus

from inspector import __version__

Headers = list[tuple[bytes, bytes]]


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Loop Detected" if status == 508 else ""


def error_body(message: str) -> bytes:
    return message.encode("utf-8", "replace") + b"\n"


def error_headers(body: bytes, close: bool) -> Headers:
    headers: Headers = [
        (b"Content-Type", b"text/plain; charset=utf-8"),
        (b"Content-Length", str(len(body)).encode()),
        (b"X-Inspector-Error", b"1"),
    ]
    if close:
        headers.append((b"Connection", b"close"))
    return headers


def raw_error_response(status: int, message: str) -> bytes:
    """A complete HTTP/1.1 error response that closes the connection, for
    when the parser state is beyond repair."""
    body = error_body(message)
    lines = [f"HTTP/1.1 {status} {reason(status)}".encode()]
    lines += [name + b": " + value for name, value in error_headers(body, close=True)]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def help_page(listen: str) -> bytes:
    addr = html.escape(listen)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Inspector</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em}}
code{{background:#8882;padding:.1em .3em;border-radius:3px}}</style></head>
<body><h1>Inspector {__version__}</h1>
<p>This is Inspector, an HTTP debugging proxy, listening on <code>{addr}</code>.
It is not a web server: point your client at it as a proxy.</p>
<ul>
<li>curl: <code>curl -x http://{addr} http://example.com/</code></li>
<li>Environment: <code>export http_proxy=http://{addr} https_proxy=http://{addr}</code></li>
<li>Browser: set the HTTP proxy to <code>{addr}</code> in its proxy settings.</li>
</ul></body></html>
""".encode()
