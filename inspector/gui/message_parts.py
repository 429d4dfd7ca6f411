"""The tables above a message's body: its headers, and the query, cookies,
form fields and multipart parts parsed out of it (``core/message_tables``),
one tab each, the tabs with nothing to show hidden.

Each table asks for the height of its rows, so the message view can give
the tables what they hold (up to a share of the pane) instead of a fixed
few rows.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QWidget,
)

from inspector.core.flow import HeaderSeq
from inspector.core.message_tables import Table

ROW_HEIGHT = 22


class PartsTable(QTableWidget):
    """Rows of text, read-only, the last column stretched."""

    def __init__(self, columns: tuple[str, ...], parent: QWidget | None = None) -> None:
        super().__init__(0, len(columns), parent)
        self.set_columns(columns)
        self.horizontalHeader().setStretchLastSection(True)
        self.verticalHeader().hide()
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setWordWrap(False)

    def set_columns(self, columns: tuple[str, ...]) -> None:
        self.setColumnCount(len(columns))
        self.setHorizontalHeaderLabels(list(columns))
        header = self.horizontalHeader()
        for column in range(len(columns) - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)

    def set_rows(self, rows: list[tuple[str, ...]]) -> None:
        self.setRowCount(len(rows))
        for row, values in enumerate(rows):
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                if len(value) > 80:
                    item.setToolTip(value[:4000])
                self.setItem(row, column, item)

    def content_height(self) -> int:
        """The height that shows every row without scrolling."""
        frame = 2 * self.frameWidth()
        scroll = self.horizontalScrollBar()
        bar = scroll.sizeHint().height() if scroll.maximum() > 0 else 0
        return self.horizontalHeader().height() + self.rowCount() * ROW_HEIGHT + frame + bar


class HeadersTable(PartsTable):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(("Name", "Value"), parent)

    def set_headers(self, headers: HeaderSeq) -> None:
        self.set_rows([(n.decode("latin-1"), v.decode("latin-1")) for n, v in headers])


class PartTabs(QTabWidget):
    """Headers first, then one tab per table that has rows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDocumentMode(True)
        self.headers = HeadersTable()
        self.addTab(self.headers, "Headers")
        self.tables: dict[str, PartsTable] = {}

    def set_tables(self, tables: list[Table]) -> None:
        current = self.tabText(self.currentIndex())
        wanted = {table.title for table in tables}
        for title, widget in list(self.tables.items()):
            if title not in wanted:
                self.removeTab(self.indexOf(widget))
                widget.deleteLater()
                del self.tables[title]
        for table in tables:
            if table.title not in self.tables:
                self.tables[table.title] = PartsTable(table.columns)
                self.addTab(self.tables[table.title], table.title)
            widget = self.tables[table.title]
            widget.set_columns(table.columns)
            widget.set_rows(table.rows)
            self.setTabText(self.indexOf(widget), f"{table.title} ({len(table.rows)})")
        self.setTabText(0, f"Headers ({self.headers.rowCount()})")
        for index in range(self.count()):
            if self.tabText(index).split(" (")[0] == current.split(" (")[0]:
                self.setCurrentIndex(index)

    def content_height(self) -> int:
        table = self.currentWidget()
        rows = table.content_height() if isinstance(table, PartsTable) else 0
        return self.tabBar().sizeHint().height() + rows + 4
