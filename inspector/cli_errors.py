"""How the command line says it cannot do something: one line on standard
error, ``inspector: ...``, and exit status 2 (scripts test for it)."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

EXIT_FAILURE = 2


def fail(message: str, prog: str = "inspector") -> int:
    """Print ``PROG: MESSAGE`` on standard error; returns the exit status."""
    print(f"{prog}: {message}", file=sys.stderr)
    return EXIT_FAILURE


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line on standard error and exit 2, not a usage
    dump (its subcommands' parsers are of this class too)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_FAILURE, f"{self.prog}: {message} (see {self.prog} --help)\n")
