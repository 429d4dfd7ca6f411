"""The View menu's choices of look and layout: where the detail pane sits,
the theme, and the flow table's columns.

The theme changes at once: light and dark are ``theme.apply_theme``'s
Fusion palettes, and System puts back the style and palette the app had
before either was chosen (so switching back needs no restart).

Signals:
    theme_changed(str): ``system``, ``light`` or ``dark`` was chosen.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QActionGroup, QPalette
from PySide6.QtWidgets import QApplication, QMenu

from inspector.gui.column_chooser import ColumnChooser
from inspector.gui.theme import THEMES, apply_theme
from inspector.gui.workbench import Workbench

PLACEMENT_TEXT = {"below": "Details Below the List", "beside": "Details Beside the List"}


class ViewOptions(QObject):
    theme_changed = Signal(str)

    def __init__(
        self, menu: QMenu, workbench: Workbench, columns: ColumnChooser, theme: str = "system"
    ) -> None:
        super().__init__(menu)
        self.workbench = workbench
        self.theme = theme
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        self._app = app
        self._system_style = app.style().name()
        self._system_palette = QPalette(app.palette())

        placements = QActionGroup(self)
        self.placement_actions: dict[str, QAction] = {}
        for placement, text in PLACEMENT_TEXT.items():
            action = QAction(text, self)
            action.setCheckable(True)
            action.setChecked(placement == workbench.placement)
            action.triggered.connect(lambda _=False, p=placement: workbench.set_placement(p))
            placements.addAction(action)
            menu.addAction(action)
            self.placement_actions[placement] = action
        workbench.placement_changed.connect(lambda p: self.placement_actions[p].setChecked(True))
        self.columns_menu = menu.addMenu("Columns")
        self.columns_menu.aboutToShow.connect(lambda: self._fill_columns(columns))
        self.theme_menu = menu.addMenu("Theme")
        themes = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for name in THEMES:
            action = QAction(name.capitalize(), self)
            action.setCheckable(True)
            action.setChecked(name == theme)
            action.triggered.connect(lambda _=False, n=name: self.set_theme(n))
            themes.addAction(action)
            self.theme_menu.addAction(action)
            self.theme_actions[name] = action
        menu.addSeparator()

    def _fill_columns(self, columns: ColumnChooser) -> None:
        self.columns_menu.clear()
        columns.fill(self.columns_menu)

    def set_theme(self, name: str) -> None:
        if name not in THEMES or name == self.theme:
            return
        self.theme = name
        self.theme_actions[name].setChecked(True)
        if name == "system":
            self._app.setStyle(self._system_style)
            self._app.setPalette(self._system_palette)
        else:
            apply_theme(self._app, name)
        self.theme_changed.emit(name)
