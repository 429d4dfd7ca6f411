"""A patch for ``gui_target.py --patch tests.bench.nice_window:N``: the
window lowers its own scheduling priority by N (``os.nice``) right after
it has started its engine process, which keeps the priority it was born
with. On a machine with fewer cores than busy threads, this lets the
engine have the CPU first while the window is busy in Python; measured
beside the app as it is.

Patches are applied in both processes (``engine_wrapper.py`` applies the
same list), so this one acts only in the window's, not under the wrapper.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from inspector import engine


def apply(arg: str = "") -> None:
    if "engine_wrapper" in sys.argv[0]:
        return
    spawn = engine.spawn_engine
    steps = int(arg or 10)

    def spawn_then_yield(*args: Any, **kwargs: Any) -> Any:
        started = spawn(*args, **kwargs)
        if os.getpriority(os.PRIO_PROCESS, 0) == 0:
            os.nice(steps)
        return started

    engine.spawn_engine = spawn_then_yield
