"""The detail pane's Rules tab: what the rules did to the selected flow,
one line per action, in the order they acted (the flow's ``applied``
record: "RULE: action note", headers before and after in the notes).

The tab's title counts the lines ("Rules (2)"), so a flow the rules
touched shows it without opening the tab.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inspector.core.flow import Flow

TITLE = "Rules"
NONE = "No rule acted on this flow."
HINT = "Rules are listed in View ▸ Rules; right-click a flow for New Rule from This Flow."


def split_line(line: str) -> tuple[str, str]:
    """``("Staging", "map_remote http://a -> https://b")`` from an
    applied line (the rule's name, then what it did)."""
    rule, sep, note = line.partition(": ")
    return (rule, note) if sep else ("", line)


class RulesView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Rule", "What it did"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setWordWrap(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.empty_label = QLabel(f"{NONE}\n{HINT}")
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: palette(mid);")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.empty_label)
        self.set_flow(None)

    def set_flow(self, flow: Flow | None) -> None:
        lines = list(flow.applied) if flow is not None else []
        self.tree.clear()
        for line in lines:
            item = QTreeWidgetItem(list(split_line(line)))
            item.setToolTip(0, line)
            item.setToolTip(1, line)
            self.tree.addTopLevelItem(item)
        self.tree.setVisible(bool(lines))
        self.empty_label.setVisible(not lines)
        self._retitle(len(lines))

    def lines(self) -> list[str]:
        """The lines shown, as the flow recorded them."""
        items = (self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount()))
        return [item.toolTip(0) for item in items if item is not None]

    def _retitle(self, count: int) -> None:
        tabs = self.parentWidget()
        while tabs is not None and not isinstance(tabs, QTabWidget):
            tabs = tabs.parentWidget()
        if tabs is None:
            return
        index = tabs.indexOf(self)
        if index >= 0:
            tabs.setTabText(index, f"{TITLE} ({count})" if count else TITLE)
