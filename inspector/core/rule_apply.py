"""What a rule's action does to a message, worked out without I/O.

Each function takes the message's parts (headers, body, target) and
returns the new parts and a note for the flow's record ("X-Env: test
(was absent)"), so the engine applies an action in one line and the
detail pane can show before and after.
"""

from __future__ import annotations

import re
from functools import lru_cache

from inspector.core.decode import DecodeError, decode_body
from inspector.core.edits import EditError, target_authority, with_body, with_host
from inspector.core.flow import Headers
from inspector.core.http_rules import Target, find_header
from inspector.core.rule_actions import MapRemote, RemoveHeader, ReplaceBody, SetHeader

SHOWN = 60
"""Longest header value quoted in a note."""


def _shown(value: bytes) -> str:
    text = value.decode("latin-1")
    return text if len(text) <= SHOWN else text[: SHOWN - 1] + "…"


def set_header(action: SetHeader, headers: Headers) -> tuple[Headers, str]:
    name = action.name.encode("latin-1")
    lower = name.lower()
    old = [v for n, v in headers if n.lower() == lower]
    kept = [(n, v) for n, v in headers if n.lower() != lower]
    value = action.value.encode("latin-1")
    was = ", ".join(_shown(v) for v in old) if old else None
    note = f"{action.name}: {action.value} (was {'absent' if was is None else was})"
    return [*kept, (name, value)], note


def remove_header(action: RemoveHeader, headers: Headers) -> tuple[Headers, str]:
    lower = action.name.encode("latin-1").lower()
    old = [v for n, v in headers if n.lower() == lower]
    if not old:
        return headers, f"{action.name}: absent, nothing removed"
    kept = [(n, v) for n, v in headers if n.lower() != lower]
    return kept, f"{action.name} removed (was {', '.join(_shown(v) for v in old)})"


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def replace_body(
    action: ReplaceBody, headers: Headers, body: bytes, whole: bool
) -> tuple[Headers, bytes | None, str]:
    """The body with ``action``'s pattern replaced (decoded, replaced,
    encoded again); None when it stays as it was, with the note saying
    why (over the capture limit, not text, no match)."""
    if not whole:
        return headers, None, "body over the capture limit or streamed: not rewritten"
    encoding = find_header(headers, b"content-encoding")
    try:
        decoded = decode_body(body, encoding)
    except DecodeError as exc:
        return headers, None, f"body not rewritten: {exc}"
    if decoded.truncated:
        return headers, None, "body too large once decoded: not rewritten"
    charset = _charset(find_header(headers, b"content-type"))
    try:
        text = decoded.data.decode(charset)
    except (UnicodeDecodeError, LookupError):
        return headers, None, f"body is not {charset} text: not rewritten"
    try:
        new, count = _compiled(action.pattern).subn(action.replacement, text)
    except (re.error, IndexError) as exc:
        return headers, None, f"body not rewritten: {exc}"
    if not count:
        return headers, None, f"/{action.pattern}/ not found in the body"
    try:
        framed, encoded = with_body(headers, new.encode(charset))
    except (EditError, UnicodeEncodeError) as exc:
        return headers, None, f"body not rewritten: {exc}"
    times = "1 time" if count == 1 else f"{count} times"
    return framed, encoded, f"/{action.pattern}/ replaced {times}"


def _charset(content_type: bytes | None) -> str:
    if content_type:
        for part in content_type.decode("latin-1").split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                return value.strip("\"' ")
    return "utf-8"


def map_remote(action: MapRemote, target: Target, headers: Headers) -> tuple[Target, Headers, str]:
    """The request sent to ``action``'s scheme, host and port (its path
    under the prefix), with Host rewritten."""
    path = action.prefix + target.path if action.prefix else target.path
    new = Target(action.scheme, action.host, action.port, path)
    before = f"{target.scheme}://{target_authority(target)}{target.path}"
    after = f"{new.scheme}://{target_authority(new)}{new.path}"
    return new, with_host(headers, new), f"{before} -> {after}"
