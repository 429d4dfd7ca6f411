"""A request's or response's parts read into table rows: query parameters,
cookies (a request's ``Cookie`` pairs, a response's ``Set-Cookie`` with its
attributes), urlencoded form fields and multipart parts.

The detail pane shows each as a table beside the headers. Reading is as
lenient as ``cookies.py`` and ``forms.py`` (which do the parsing): what a
header or body holds is shown, never a traceback. Bodies are read after
their Content-Encoding is undone; a body that does not decode has no form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from inspector.core import forms
from inspector.core.cookies import cookie_pairs, parse_set_cookie
from inspector.core.decode import DecodeError, decode_body
from inspector.core.flow import Message, Request, Response

FORM_LIMIT = 16 * 1024 * 1024
"""Bodies longer than this (decoded) are not read as forms."""
PREVIEW_CHARS = 200
"""How much of a multipart part's content its row shows."""

Row = tuple[str, ...]


@dataclass(slots=True)
class Table:
    """One table: its column names and rows of strings."""

    title: str
    columns: tuple[str, ...]
    rows: list[Row] = field(default_factory=list)


def query_rows(target: str) -> list[Row]:
    """The query parameters of a request target (``/p?a=1&b`` ->
    ``[("a", "1"), ("b", "")]``), the fragment left out."""
    _, mark, query = target.partition("?")
    if not mark:
        return []
    return list(forms.parse_urlencoded(query.partition("#")[0]))


def request_cookie_rows(request: Request) -> list[Row]:
    """The pairs of every ``Cookie`` header, in order."""
    rows: list[Row] = []
    for name, value in request.headers:
        if name.lower() == b"cookie":
            rows.extend(cookie_pairs(value.decode("latin-1")))
    return rows


def set_cookie_rows(response: Response, received: float) -> list[Row]:
    """One row per ``Set-Cookie`` that sets something: name, value, domain,
    path, expiry (UTC), and the HttpOnly, Secure and SameSite attributes."""
    rows: list[Row] = []
    for name, value in response.headers:
        if name.lower() != b"set-cookie":
            continue
        cookie = parse_set_cookie(value.decode("latin-1"), received)
        if cookie is None:
            continue
        rows.append(
            (
                cookie.name,
                cookie.value,
                cookie.domain or "",
                cookie.path or "",
                _expiry(cookie.expires),
                "yes" if cookie.http_only else "",
                "yes" if cookie.secure else "",
                cookie.same_site or "",
            )
        )
    return rows


def form_rows(message: Message) -> list[Row]:
    """The fields of an urlencoded body."""
    data = _decoded(message, forms.URLENCODED)
    if data is None:
        return []
    return list(forms.parse_urlencoded(forms.text(data)))


def multipart_rows(message: Message) -> list[Row]:
    """One row per multipart part: name, file name, content type, size,
    and the start of its content (text as text, else a byte count)."""
    content_type = (message.header(b"content-type") or b"").decode("latin-1")
    boundary = forms.boundary(content_type)
    data = _decoded(message, forms.MULTIPART) if boundary is not None else None
    if data is None or boundary is None:
        return []
    rows: list[Row] = []
    for part in forms.multipart_parts(data, boundary):
        content = data[part.start : part.end]
        rows.append(
            (
                part.name or "",
                part.filename or "",
                part.content_type or "",
                f"{len(content):,} bytes",
                _preview(content),
            )
        )
    return rows


def message_tables(message: Message, received: float = 0.0) -> list[Table]:
    """The tables worth showing for ``message`` (the empty ones left out),
    in the order the pane lists them. ``received`` is when a response
    arrived, for Set-Cookie's Max-Age."""
    tables: list[Table] = []
    if isinstance(message, Request):
        tables.append(Table("Query", ("Name", "Value"), query_rows(message.target)))
        tables.append(Table("Cookies", ("Name", "Value"), request_cookie_rows(message)))
    if isinstance(message, Response):
        tables.append(
            Table(
                "Cookies",
                ("Name", "Value", "Domain", "Path", "Expires", "HttpOnly", "Secure", "SameSite"),
                set_cookie_rows(message, received),
            )
        )
    tables.append(Table("Form", ("Name", "Value"), form_rows(message)))
    tables.append(
        Table("Parts", ("Name", "File name", "Type", "Size", "Content"), multipart_rows(message))
    )
    return [table for table in tables if table.rows]


def _decoded(message: Message, media: str) -> bytes | None:
    content_type = (message.header(b"content-type") or b"").decode("latin-1")
    if forms.media_type(content_type) != media or not message.body:
        return None
    try:
        decoded = decode_body(message.body, message.header(b"content-encoding"), FORM_LIMIT)
    except DecodeError:
        return None
    return decoded.data


def _preview(content: bytes) -> str:
    head = content[: PREVIEW_CHARS * 4]
    if b"\0" in head:
        return f"(binary, {len(content):,} bytes)"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:
            return f"(binary, {len(content):,} bytes)"
        text = head[: exc.start].decode("utf-8")
    text = " ".join(text.split())
    return text[:PREVIEW_CHARS] + ("…" if len(text) > PREVIEW_CHARS else "")


def _expiry(moment: datetime | None) -> str:
    if moment is None:
        return "session"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
