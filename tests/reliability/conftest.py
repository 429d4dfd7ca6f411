"""The reliability battery's shared fixtures: the session CAs of the proxy
tests, and a guard that fails any test during which the engine (or asyncio
on its behalf) logged an error: bad input and faults must end as answers
and flow errors, never as tracebacks in the log."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.proxy.conftest import proxy_certs, upstream_ca_file, upstream_certs

__all__ = ["proxy_certs", "upstream_ca_file", "upstream_certs"]

WATCHED = ("inspector", "asyncio")


class ErrorLog(logging.Handler):
    """Collects ERROR records from the engine's and asyncio's loggers."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in WATCHED:
            self.records.append(record)

    def describe(self) -> str:
        formatter = logging.Formatter("%(name)s: %(message)s")
        return "\n".join(formatter.format(record) for record in self.records)


@pytest.fixture(autouse=True)
def engine_errors() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
    assert not handler.records, f"errors were logged:\n{handler.describe()}"
