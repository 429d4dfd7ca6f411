"""A collapsible tree of a JSON body, for bodies of any size: the model
reads the breadth-first arrays of ``core/json_tree.py``, so opening a node
of a million children costs what drawing its visible rows costs."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFontDatabase
from PySide6.QtWidgets import QHeaderView, QTreeView, QWidget

from inspector.core.json_tree import ARRAY, NUMBER, OBJECT, STRING, JsonTree

Index = QModelIndex | QPersistentModelIndex
EXPAND_ROWS = 2000
"""The root opens by itself when it has no more children than this."""
_COLOURS = {STRING: QColor("#0a7f3f"), NUMBER: QColor("#0550ae")}


class JsonTreeModel(QAbstractItemModel):
    def __init__(self, tree: JsonTree | None = None) -> None:
        super().__init__()
        self.tree = tree or JsonTree()

    def set_tree(self, tree: JsonTree) -> None:
        self.beginResetModel()
        self.tree = tree
        self.endResetModel()

    def _node(self, index: Index) -> int:
        """The node of ``index``; the invisible root stands above node 0."""
        return int(index.internalId()) if index.isValid() else -1

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if column not in (0, 1) or row < 0:
            return QModelIndex()
        node = self._node(parent)
        if node < 0:
            if row == 0 and len(self.tree):
                return self.createIndex(row, column, 0)
            return QModelIndex()
        if row >= self.tree.count[node]:
            return QModelIndex()
        return self.createIndex(row, column, self.tree.first[node] + row)

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        node = self._node(index)
        if node <= 0:
            return QModelIndex()
        up = self.tree.parent[node]
        if up == 0:
            return self.createIndex(0, 0, 0)
        grand = self.tree.parent[up]
        return self.createIndex(up - self.tree.first[grand], 0, up)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() and parent.column() != 0:
            return 0
        node = self._node(parent)
        if node < 0:
            return 1 if len(self.tree) else 0
        return self.tree.count[node]

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 2

    def hasChildren(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return self.rowCount(parent) > 0

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        node = self._node(index)
        if role == Qt.ItemDataRole.DisplayRole:
            if index.column() == 0:
                return self.tree.key(node) if node else "(root)"
            return self.tree.value(node)
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 1:
            return _COLOURS.get(self.tree.kinds[node])
        tip = role == Qt.ItemDataRole.ToolTipRole and index.column() == 1
        if tip and self.tree.kinds[node] not in (OBJECT, ARRAY):
            return self.tree.value(node)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return ("Key", "Value")[section]
        return None


class JsonTreeView(QTreeView):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.json_model = JsonTreeModel()
        self.setModel(self.json_model)
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        header = self.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.resizeSection(0, 220)

    def set_tree(self, tree: JsonTree) -> None:
        self.json_model.set_tree(tree)
        root = self.json_model.index(0, 0)
        # Qt lays out every row of an open node, asking the model about
        # each: a root of 100,000 items would hold the window for a while.
        if root.isValid() and self.json_model.rowCount(root) <= EXPAND_ROWS:
            self.expand(root)
