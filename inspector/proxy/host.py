"""Where the engine's event loop lives.

``EngineHost`` runs a stock asyncio loop on a dedicated thread and lets any
thread start coroutines there (``submit``) and stop it (``stop``). The
desktop app's thread layout (``--engine thread``, kept to compare with the
engine's own process in the benchmarks) hosts its engine this way.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class EngineHost:
    def __init__(self, name: str = "inspector-engine") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("the engine host is not started")
        return self._loop

    @property
    def running(self) -> bool:
        return self._loop is not None and self._thread is not None

    def start(self) -> None:
        """Start the loop thread and return once the loop runs."""
        if self._thread is not None:
            return
        ready = threading.Event()
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(_log_loop_exception)

        def main() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            try:
                loop.run_forever()
            finally:
                _cancel_leftovers(loop)
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=main, name=self._name, daemon=True)
        self._thread.start()
        ready.wait()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the engine loop; callable from any thread."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the engine loop and wait for its result. Must not
        be called from the engine loop itself."""
        return self.submit(coro).result(timeout)

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the loop and join its thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if thread.is_alive():
            log.warning("engine thread did not stop within %.1f s", timeout)
        self._thread = None
        self._loop = None


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.wait(tasks, timeout=1.0))


def _log_loop_exception(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    exc = context.get("exception")
    log.error("engine loop: %s", context.get("message", "error"), exc_info=exc)
