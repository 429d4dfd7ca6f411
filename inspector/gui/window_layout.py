"""Putting the window back as the user left it, and taking its shape down
again at quit (``window_state`` keeps it on disk).

What a first run shows (no state saved) is the layout built for reading
traffic: the flow list with the room, the detail pane collapsed until a
flow is selected, and the side panels closed, their compact forms in the
status bar.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray
from PySide6.QtWidgets import QDockWidget, QMainWindow

from inspector.gui.ca_hint import HINT as CA_HINT
from inspector.gui.ca_hint import CaHint
from inspector.gui.column_chooser import ColumnChooser
from inspector.gui.view_options import ViewOptions
from inspector.gui.window_state import WindowState
from inspector.gui.workbench import Workbench


def restore(
    window: QMainWindow,
    state: WindowState,
    workbench: Workbench,
    columns: ColumnChooser,
    view: ViewOptions,
    ca_hint: CaHint,
    closed: list[QDockWidget],
) -> None:
    """Apply ``state``; ``closed`` are the docks a first run keeps closed."""
    if not state.geometry or not window.restoreGeometry(QByteArray(state.geometry)):
        window.resize(1280, 800)
    if not state.docks or not window.restoreState(QByteArray(state.docks)):
        for dock in closed:
            dock.hide()
    columns.restore(state.columns)
    workbench.sizes_by_placement.update(state.split)
    workbench.set_placement(state.placement)
    view.set_theme(state.theme)
    ca_hint.given = CA_HINT in state.hints


def capture(
    window: QMainWindow,
    state: WindowState,
    workbench: Workbench,
    columns: ColumnChooser,
    view: ViewOptions,
    ca_hint: CaHint,
) -> WindowState:
    """``state`` brought up to date with the window as it is now."""
    workbench.remember()
    state.geometry = bytes(window.saveGeometry().data())
    state.docks = bytes(window.saveState().data())
    state.columns = columns.save()
    state.placement = workbench.placement
    state.split = dict(workbench.sizes_by_placement)
    state.theme = view.theme
    if ca_hint.given:
        state.hints.add(CA_HINT)
    return state
