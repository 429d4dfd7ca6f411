"""Reading HAR's JSON values, and naming a bad one.

The plain values of an entry (numbers, strings, dates) as the HAR reader
takes them, each problem appended to a list as one short phrase for the
entry's import error ("timings.wait '5ms' is not a number"), so that a
bad field never costs the rest of the entry. Numbers come from the
streaming parser as ``int`` or, with a fraction, ``Decimal``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

SHOWN = 60
"""Characters of a bad value quoted in an error message."""
LARGEST = float(2**53)
"""The largest number taken: the last integer a double holds exactly, far
past any real size or duration, and small enough for every wire format."""


def date(raw: object, problems: list[str]) -> float | None:
    """Epoch seconds of an ISO 8601 date (UTC when it names no zone)."""
    if not isinstance(raw, str):
        problems.append(
            "the entry has no startedDateTime" if raw is None else not_a("startedDateTime", raw)
        )
        return None
    text = raw.strip()
    if text.endswith("z"):
        text = text[:-1] + "Z"
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    except (ValueError, OverflowError):
        problems.append(f"startedDateTime {shown(raw)} is not a date")
        return None


def number(holder: dict[str, object], key: str, where: str, problems: list[str]) -> float | None:
    """``holder[key]`` as a finite number not below zero; None when missing,
    null or negative (unknown, as -1 says); anything else is a problem."""
    value = holder.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        problems.append(f"{where}.{key} {shown(value)} is not a number")
        return None
    try:
        result = float(value)
    except OverflowError:
        result = math.inf
    if not math.isfinite(result) or result > LARGEST:
        problems.append(f"{where}.{key} {shown(value)} is out of range")
        return None
    return result if result >= 0 else None


def string(holder: dict[str, object], key: str, where: str, problems: list[str]) -> str:
    """``holder[key]``, a string; empty when missing or null."""
    value = holder.get(key)
    if value is None or isinstance(value, str):
        return value or ""
    problems.append(not_a(f"{where}.{key}", value))
    return ""


def missing(what: str, value: object, expected: str) -> str:
    """The problem with a required ``what``: absent, or not ``expected``."""
    return f"the entry has no {what}" if value is None else not_a(what, value, expected)


def not_a(what: str, value: object, expected: str = "a string") -> str:
    return f"{what} is {kind(value)}, not {expected}"


def kind(value: object) -> str:
    """What a JSON value is, as an error message says it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | Decimal):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def shown(value: object) -> str:
    """A bad value, short, for an error message."""
    if isinstance(value, str):
        return clip(repr(value[:SHOWN]))
    if isinstance(value, bool) or value is None:
        return "true" if value else "false" if value is not None else "null"
    if isinstance(value, int):
        return clip(str(value)) if value.bit_length() < 200 else "a very large number"
    if isinstance(value, float | Decimal):
        return clip(str(value))
    return kind(value)


def clip(text: str) -> str:
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."
