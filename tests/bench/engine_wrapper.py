"""An engine process with patches applied first, for the benchmarks and
the soak: ``python -m tests.bench.engine_wrapper [--patch MODULE[:ARG]]...
-- ENGINE_ARGS`` imports each MODULE and calls its ``apply(ARG)`` (or
``apply()`` without ``:ARG``), then runs ``inspector``'s hidden engine
subcommand with ENGINE_ARGS, as the window would have started it.

``use(patches)``, called in a window's process before its engine starts,
makes ``inspector.link.spawn`` start engine processes through this module
instead of ``python -m inspector __engine__``: nothing else changes (the
same socketpair, the same secret on standard input).
"""

from __future__ import annotations

import importlib
import logging
import sys

from inspector.link import spawn


def apply_patches(specs: list[str]) -> None:
    for spec in specs:
        name, sep, arg = spec.partition(":")
        module = importlib.import_module(name)
        if sep:
            module.apply(arg)
        else:
            module.apply()


def use(patches: list[str]) -> None:
    """Start this process's engine processes through the wrapper."""
    options = [arg for spec in patches for arg in ("--patch", spec)]

    def engine_command(args: list[str]) -> list[str]:
        return [sys.executable, "-m", "tests.bench.engine_wrapper", *options, "--", *args]

    spawn.engine_command = engine_command


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index("--") if "--" in argv else len(argv)
    ours, theirs = argv[:split], argv[split + 1 :]
    specs = [ours[i + 1] for i, arg in enumerate(ours[:-1]) if arg == "--patch"]
    logging.basicConfig(
        level=logging.WARNING, format="inspector: %(levelname)s %(name)s: %(message)s"
    )
    apply_patches(specs)
    from inspector import engine

    return engine.main(theirs)


if __name__ == "__main__":
    sys.exit(main())
