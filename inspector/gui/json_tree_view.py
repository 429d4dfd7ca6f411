"""A collapsible tree of a JSON body, for bodies of any size: the model
reads the breadth-first arrays of ``core/json_tree.py``, and a node of
many children opens onto groups of a thousand, so opening any node lays
out at most a few thousand rows."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFontDatabase
from PySide6.QtWidgets import QHeaderView, QTreeView, QWidget

from inspector.core.json_tree import ARRAY, NUMBER, OBJECT, STRING, JsonTree

Index = QModelIndex | QPersistentModelIndex
EXPAND_ROWS = 2000
"""The root opens by itself when it has no more rows than this."""
GROUP = 1000
"""A node with more children than this shows them in groups of this many
(``[0 … 999]``), so opening it lays out a few rows, not all of them."""
_GROUP_FLAG = 1 << 62
_GROUP_SHIFT = 24
_COLOURS = {STRING: QColor("#0a7f3f"), NUMBER: QColor("#0550ae")}


class JsonTreeModel(QAbstractItemModel):
    """Rows are the tree's nodes; under a node of more than ``GROUP``
    children, rows are groups of them first. An index's internal id is
    its node, or for a group ``_GROUP_FLAG | node << 24 | group``."""

    def __init__(self, tree: JsonTree | None = None) -> None:
        super().__init__()
        self.tree = tree or JsonTree()

    def set_tree(self, tree: JsonTree) -> None:
        self.beginResetModel()
        self.tree = tree
        self.endResetModel()

    def _id(self, index: Index) -> int:
        """The internal id of ``index``; -1 for the invisible root above node 0."""
        return int(index.internalId()) if index.isValid() else -1

    def _grouped(self, node: int) -> bool:
        return self.tree.count[node] > GROUP

    def _node_index(self, node: int, column: int = 0) -> QModelIndex:
        """The index of node ``node`` (0 is the root value)."""
        if node == 0:
            return self.createIndex(0, column, 0)
        up = self.tree.parent[node]
        offset = node - self.tree.first[up]
        row = offset % GROUP if self._grouped(up) else offset
        return self.createIndex(row, column, node)

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if column not in (0, 1) or row < 0 or row >= self.rowCount(parent):
            return QModelIndex()
        ident = self._id(parent)
        if ident < 0:
            return self.createIndex(row, column, 0)
        if ident & _GROUP_FLAG:
            node, group = _split(ident)
            return self.createIndex(row, column, self.tree.first[node] + group * GROUP + row)
        if self._grouped(ident):
            return self.createIndex(row, column, _GROUP_FLAG | ident << _GROUP_SHIFT | row)
        return self.createIndex(row, column, self.tree.first[ident] + row)

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        ident = self._id(index)
        if ident & _GROUP_FLAG and ident > 0:
            node, _group = _split(ident)
            return self._node_index(node)
        if ident <= 0:
            return QModelIndex()
        up = self.tree.parent[ident]
        if self._grouped(up):
            group = (ident - self.tree.first[up]) // GROUP
            return self.createIndex(group, 0, _GROUP_FLAG | up << _GROUP_SHIFT | group)
        return self._node_index(up)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() and parent.column() != 0:
            return 0
        ident = self._id(parent)
        if ident < 0:
            return 1 if len(self.tree) else 0
        if ident & _GROUP_FLAG:
            node, group = _split(ident)
            return min(GROUP, self.tree.count[node] - group * GROUP)
        count = self.tree.count[ident]
        return -(-count // GROUP) if count > GROUP else count

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 2

    def hasChildren(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return self.rowCount(parent) > 0

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        ident = self._id(index)
        if ident & _GROUP_FLAG:
            if role != Qt.ItemDataRole.DisplayRole:
                return None
            node, group = _split(ident)
            size = min(GROUP, self.tree.count[node] - group * GROUP)
            low = group * GROUP
            if index.column() == 0:
                return f"[{low:,} … {low + size - 1:,}]"
            return f"{size:,} items"
        node = ident
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


def _split(ident: int) -> tuple[int, int]:
    """A group's node and its number."""
    plain = ident & ~_GROUP_FLAG
    return plain >> _GROUP_SHIFT, plain & ((1 << _GROUP_SHIFT) - 1)


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
