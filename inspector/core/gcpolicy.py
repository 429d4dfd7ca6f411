"""Keeping garbage-collection pauses short while millions of flows live.

CPython's cyclic collector periodically scans every tracked object; with a
large flow store a full collection stalled the process (engine and GUI
alike, both hold the GIL) for 100-250 ms at 30-70k flows and more beyond.
Flows hold no reference cycles, so reference counting frees them whenever
the store lets go; the collector has nothing to find among them.

After each full collection, ``gc.freeze()`` moves every surviving object
into the permanent generation, which later collections skip: each full
collection then only scans what was allocated since the last one. The
price: a reference cycle created before a freeze and dropped afterwards is
never reclaimed. Such cycles are rare and short-lived in this program
(they die young, before a full collection sees them), so the leak is
bounded; ``thaw`` (run when the user clears every flow) gives them back.
"""

from __future__ import annotations

import gc
from typing import Any


def _after_collection(phase: str, info: dict[str, Any]) -> None:
    if phase == "stop" and info.get("generation") == 2:
        gc.freeze()


def install() -> None:
    """Freeze survivors after every full collection (idempotent). The
    collector is process-wide, so this is too: composition roots call it."""
    if _after_collection not in gc.callbacks:
        gc.callbacks.append(_after_collection)


def uninstall() -> None:
    if _after_collection in gc.callbacks:
        gc.callbacks.remove(_after_collection)
    gc.unfreeze()


def thaw() -> None:
    """Let the collector see everything again (after a big release)."""
    gc.unfreeze()
