"""An editable table of name/value pairs: the composer's headers and its
form fields.

Each row has a checkbox (a row switched off stays in the table but is not
sent), a name and a value; the buttons below add a row and remove the
selected ones. Rows whose name is empty are left out of ``pairs()``.

Signals:
    changed(): a row was added, removed, switched or edited.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

NAME, VALUE = 0, 1


class PairTable(QWidget):
    changed = Signal()

    def __init__(self, what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Name", "Value"])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.setColumnWidth(NAME, 180)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.table.itemChanged.connect(lambda _item: self.changed.emit())
        self.add_button = QPushButton(f"Add {what}")
        self.add_button.clicked.connect(self._add_and_edit)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

    def add(self, name: str = "", value: str = "", enabled: bool = True) -> int:
        """Append a row; its index."""
        table = self.table
        table.blockSignals(True)
        row = table.rowCount()
        table.insertRow(row)
        name_item = QTableWidgetItem(name)
        name_item.setFlags(name_item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        name_item.setCheckState(Qt.CheckState.Checked if enabled else Qt.CheckState.Unchecked)
        name_item.setToolTip("Unticked rows are kept here but not sent")
        table.setItem(row, NAME, name_item)
        table.setItem(row, VALUE, QTableWidgetItem(value))
        table.blockSignals(False)
        self.changed.emit()
        return row

    def _add_and_edit(self) -> None:
        row = self.add()
        self.table.setCurrentCell(row, NAME)
        item = self.table.item(row, NAME)
        if item is not None:
            self.table.editItem(item)

    def remove_selected(self) -> None:
        rows = sorted({index.row() for index in self.table.selectedIndexes()}, reverse=True)
        for row in rows:
            self.table.removeRow(row)
        if rows:
            self.changed.emit()

    def set_pairs(self, pairs: list[tuple[str, str]]) -> None:
        self.table.setRowCount(0)
        self.table.blockSignals(True)
        for name, value in pairs:
            self.add(name, value)
        self.table.blockSignals(False)
        self.changed.emit()

    def rows(self) -> list[tuple[bool, str, str]]:
        """Every row: switched on, name (stripped), value."""
        found = []
        for row in range(self.table.rowCount()):
            name, value = self.table.item(row, NAME), self.table.item(row, VALUE)
            enabled = name is not None and name.checkState() == Qt.CheckState.Checked
            found.append(
                (
                    enabled,
                    name.text().strip() if name is not None else "",
                    value.text() if value is not None else "",
                )
            )
        return found

    def pairs(self) -> list[tuple[str, str]]:
        """The rows switched on and named, in order."""
        return [(name, value) for enabled, name, value in self.rows() if enabled and name]

    def value_of(self, name: str) -> str | None:
        """The first switched-on value of ``name`` (any case), or None."""
        lower = name.lower()
        return next((v for n, v in self.pairs() if n.lower() == lower), None)
