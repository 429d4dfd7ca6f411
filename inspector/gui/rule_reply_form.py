"""The rule editor's form for a ``reply`` action (a mock): its status, a
table of headers and the body, given inline."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.gui.rule_form_base import ActionForm


class ReplyForm(ActionForm):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.status_box = self.number(200, 999, "")
        self.status_box.setValue(200)
        self.headers = QTableWidget(0, 2)
        self.headers.setHorizontalHeaderLabels(["Header", "Value"])
        self.headers.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents
        )
        self.headers.horizontalHeader().setStretchLastSection(True)
        self.headers.verticalHeader().hide()
        self.headers.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.headers.setMinimumHeight(84)
        self.headers.itemChanged.connect(lambda _item: self.changed.emit())
        self.add_header_button = QPushButton("Add Header")
        self.add_header_button.clicked.connect(self._add_header)
        self.remove_header_button = QPushButton("Remove Header")
        self.remove_header_button.clicked.connect(self._remove_header)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_header_button)
        buttons.addWidget(self.remove_header_button)
        buttons.addStretch(1)
        headers = QVBoxLayout()
        headers.setContentsMargins(0, 0, 0, 0)
        headers.addWidget(self.headers)
        headers.addLayout(buttons)
        self.body_box = QPlainTextEdit()
        self.body_box.setPlaceholderText('{"id": 7}')
        self.body_box.setMinimumHeight(84)
        self.body_box.textChanged.connect(self.changed)
        self.form.addRow("Status", self.status_box)
        self.form.addRow("Headers", headers)
        self.form.addRow("Body", self.body_box)

    def _add_header(self) -> None:
        row = self.headers.rowCount()
        self.set_headers([*self.header_pairs(keep_empty=True), ("", "")])
        self.headers.setCurrentCell(row, 0)
        item = self.headers.item(row, 0)
        if item is not None:
            self.headers.editItem(item)

    def _remove_header(self) -> None:
        rows = sorted({index.row() for index in self.headers.selectedIndexes()}, reverse=True)
        if not rows and self.headers.rowCount():
            rows = [self.headers.rowCount() - 1]
        for row in rows:
            self.headers.removeRow(row)
        self.changed.emit()

    def header_pairs(self, keep_empty: bool = False) -> list[tuple[str, str]]:
        pairs = []
        for row in range(self.headers.rowCount()):
            cells = (self.headers.item(row, 0), self.headers.item(row, 1))
            name, value = (cell.text() if cell is not None else "" for cell in cells)
            if name.strip() or keep_empty:
                pairs.append((name.strip() if not keep_empty else name, value))
        return pairs

    def set_headers(self, pairs: list[tuple[str, str]]) -> None:
        self.headers.blockSignals(True)
        self.headers.setRowCount(len(pairs))
        for row, (name, value) in enumerate(pairs):
            self.headers.setItem(row, 0, QTableWidgetItem(name))
            self.headers.setItem(row, 1, QTableWidgetItem(value))
        self.headers.blockSignals(False)
        self.changed.emit()

    def value(self) -> dict[str, Any]:
        return {
            "type": "reply",
            "status": self.status_box.value(),
            "headers": dict(self.header_pairs()),
            "body": self.body_box.toPlainText(),
        }

    def set_value(self, action: dict[str, Any]) -> None:
        self.status_box.setValue(int(action.get("status", 200)))
        headers = action.get("headers") or {}
        self.set_headers([(str(k), str(v)) for k, v in headers.items()])
        self.body_box.setPlainText(str(action.get("body", "")))
