"""Finding files in ``resources/`` the same way frozen and unfrozen.

In a source checkout (or an editable install) ``resources/`` sits beside
the package; in a PyInstaller bundle it is unpacked under ``sys._MEIPASS``.
"""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource(name: str) -> Path | None:
    """The path of resource ``name``, or None when it is not there."""
    path = resources_dir() / name
    return path if path.exists() else None
