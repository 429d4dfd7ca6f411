"""The JSON tree model: a node of many children opens onto groups of a
thousand, every index agrees with its parent (Qt's model tester), and
the rows show the values."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex
from PySide6.QtTest import QAbstractItemModelTester
from pytestqt.qtbot import QtBot

from inspector.core.json_tree import build_tree
from inspector.gui.json_tree_view import GROUP, JsonTreeModel, JsonTreeView


def test_a_large_array_opens_onto_groups(qtbot: QtBot) -> None:
    value = {"items": list(range(2500)), "name": "x", "small": [1, 2]}
    model = JsonTreeModel(build_tree(value))
    QAbstractItemModelTester(model, QAbstractItemModelTester.FailureReportingMode.Fatal)
    root = model.index(0, 0)
    keys = [model.data(model.index(r, 0, root)) for r in range(model.rowCount(root))]
    assert keys == ["items", "name", "small"]
    items = model.index(0, 0, root)
    assert model.rowCount(items) == 3  # 1,000 + 1,000 + 500
    last_group = model.index(2, 0, items)
    assert model.data(last_group) == "[2,000 … 2,499]"
    assert model.data(model.index(2, 1, items)) == "500 items"
    assert model.rowCount(last_group) == 500
    leaf = model.index(499, 1, last_group)
    assert model.data(leaf) == "2499"
    assert model.data(model.index(499, 0, last_group)) == "[2499]"
    # Up again: the leaf's parent is its group, the group's the array.
    assert model.parent(leaf) == last_group
    assert model.parent(last_group) == items
    assert model.parent(items) == root
    assert model.parent(root) == QModelIndex()
    small = model.index(2, 0, root)
    assert model.rowCount(small) == 2 and model.parent(model.index(1, 0, small)) == small


def test_the_view_opens_a_root_of_many_children_as_groups(qtbot: QtBot) -> None:
    view = JsonTreeView()
    qtbot.addWidget(view)
    view.set_tree(build_tree(list(range(GROUP * 50))))
    root = view.json_model.index(0, 0)
    assert view.isExpanded(root)
    assert view.json_model.rowCount(root) == 50
