"""What the window remembers of its own shape between runs: its geometry,
its docks, where the detail pane sits and how the splitter divides, the
flow table's columns (order, widths, which are hidden), the theme chosen
in the View menu, and the one-time hints already given.

Kept in ``window.json`` in the configuration directory, like
``recent.json``, rather than in QSettings (which would ignore ``--confdir``
and ``INSPECTOR_HOME``, so a test or a second profile would reshape the
user's window) or in the settings file (which holds what the engine is
told and what the settings dialog edits: a dragged splitter must not
rewrite it, and a layout gone wrong can be reset by deleting this file
without losing a single setting). Qt's own state blobs are stored as
base64. A missing or damaged file is the default layout, never an error;
a full disk or a read-only directory only costs the layout.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STATE_FILE = "window.json"
PLACEMENTS = ("below", "beside")
"""Where the detail pane sits: under the flow list, or to its right."""
THEMES = ("system", "light", "dark")


@dataclass
class WindowState:
    geometry: bytes = b""
    """``QWidget.saveGeometry``."""
    docks: bytes = b""
    """``QMainWindow.saveState``: the docks and the toolbar."""
    columns: bytes = b""
    """``QHeaderView.saveState`` of the flow table."""
    placement: str = "below"
    split: dict[str, list[int]] = field(default_factory=dict)
    """The splitter's sizes for each placement, as the user left them."""
    theme: str = "system"
    hints: set[str] = field(default_factory=set)
    """One-time hints already shown."""


class WindowStateFile:
    def __init__(self, confdir: Path | None) -> None:
        """``confdir`` None keeps the state in memory only (the selftest)."""
        self.path = confdir / STATE_FILE if confdir is not None else None

    def load(self) -> WindowState:
        state = WindowState()
        if self.path is None:
            return state
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return state
        if not isinstance(data, dict):
            return state
        state.geometry = _blob(data.get("geometry"))
        state.docks = _blob(data.get("docks"))
        state.columns = _blob(data.get("columns"))
        if data.get("placement") in PLACEMENTS:
            state.placement = data["placement"]
        split = data.get("split")
        if isinstance(split, dict):
            state.split = {
                key: [int(v) for v in value]
                for key, value in split.items()
                if key in PLACEMENTS and _sizes(value)
            }
        if data.get("theme") in THEMES:
            state.theme = data["theme"]
        hints = data.get("hints")
        if isinstance(hints, list):
            state.hints = {h for h in hints if isinstance(h, str)}
        return state

    def save(self, state: WindowState) -> None:
        if self.path is None:
            return
        data: dict[str, Any] = {
            "geometry": _text(state.geometry),
            "docks": _text(state.docks),
            "columns": _text(state.columns),
            "placement": state.placement,
            "split": state.split,
            "theme": state.theme,
            "hints": sorted(state.hints),
        }
        partial = self.path.with_name(f".{self.path.name}.partial")
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(partial, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as stream:
                json.dump(data, stream, indent=1)
            partial.replace(self.path)


def _blob(value: Any) -> bytes:
    if not isinstance(value, str):
        return b""
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return b""


def _text(blob: bytes) -> str:
    return base64.b64encode(blob).decode("ascii")


def _sizes(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(type(v) is int and 0 <= v < 100_000 for v in value)
    )
