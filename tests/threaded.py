"""Servers for tests that run synchronous code (a subprocess, a blocking
client): an async context manager entered on a loop of its own, in a
background thread, for as long as the block runs."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from typing import TypeVar

T = TypeVar("T")
START_TIMEOUT = 10.0


@contextmanager
def served(make: Callable[[], AbstractAsyncContextManager[T]]) -> Iterator[T]:
    """Enter ``make()`` on a background thread's loop; yield what it gives
    until the block ends, then leave it there."""
    ready: list[T] = []
    failed: list[BaseException] = []
    entered = threading.Event()
    stop = threading.Event()

    def serve() -> None:
        async def main() -> None:
            try:
                async with make() as value:
                    ready.append(value)
                    entered.set()
                    while not stop.is_set():
                        await asyncio.sleep(0.02)
            except BaseException as exc:  # reported to the test below
                failed.append(exc)
                entered.set()

        asyncio.run(main())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    entered.wait(START_TIMEOUT)
    if failed:
        raise failed[0]
    assert ready, f"nothing served within {START_TIMEOUT:g} s"
    try:
        yield ready[0]
    finally:
        stop.set()
        thread.join(5)
