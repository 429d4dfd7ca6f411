"""Files and folders that hold secrets: created readable by the user only."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def make_private_dir(directory: Path) -> None:
    """Create ``directory`` (and missing parents) owner-only; an existing
    directory keeps its mode, which the user may have chosen."""
    if directory.is_dir():
        return
    directory.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        directory.mkdir(mode=0o700)
        # mkdir's mode passes through the umask; chmod does not.
        os.chmod(directory, 0o700)
