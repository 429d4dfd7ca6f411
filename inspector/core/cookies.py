"""Cookies as headers carry them: the pairs a ``Cookie`` header sends and
what one ``Set-Cookie`` header sets (RFC 6265 sections 4.2 and 5.2).

Read leniently, as a browser would: unknown attributes are ignored, a date
that does not parse is dropped, and a ``Set-Cookie`` with no ``=`` in its
first pair sets nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_DELTA_SECONDS = re.compile(r"-?[0-9]+")
"""A Max-Age value (section 5.2.2: an optional minus, then digits)."""


def cookie_pairs(value: str) -> list[tuple[str, str]]:
    """The ``(name, value)`` pairs of a ``Cookie`` header value; a piece
    without ``=`` is a name with an empty value."""
    pairs = []
    for piece in value.split(";"):
        name, equals, val = piece.partition("=")
        if equals or name.strip():
            pairs.append((name.strip(), val.strip()))
    return pairs


@dataclass(slots=True, frozen=True)
class SetCookie:
    name: str
    value: str
    path: str | None = None
    domain: str | None = None
    expires: datetime | None = None
    """From ``Max-Age`` when given (it wins, section 5.3 step 3), else
    from ``Expires``."""
    http_only: bool = False
    secure: bool = False
    same_site: str | None = None


def parse_set_cookie(value: str, received: float) -> SetCookie | None:
    """What a ``Set-Cookie`` value sets, ``Max-Age`` counted from
    ``received`` (a ``time.time()`` stamp); None when it sets nothing."""
    pair, *attributes = value.split(";")
    name, equals, val = pair.partition("=")
    if not equals:
        return None
    found: dict[str, str] = {}
    flags: set[str] = set()
    for attribute in attributes:
        key, has_value, arg = attribute.partition("=")
        key = key.strip().lower()
        if has_value:
            found[key] = arg.strip()
        else:
            flags.add(key)
    expires = _http_date(found["expires"]) if "expires" in found else None
    max_age = found.get("max-age", "")
    if _DELTA_SECONDS.fullmatch(max_age):
        try:
            expires = datetime.fromtimestamp(received + int(max_age), UTC)
        except (OverflowError, OSError, ValueError):
            expires = None
    return SetCookie(
        name.strip(),
        val.strip(),
        path=found.get("path"),
        domain=found.get("domain"),
        expires=expires,
        http_only="httponly" in flags,
        secure="secure" in flags,
        same_site=found.get("samesite"),
    )


def _http_date(value: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
