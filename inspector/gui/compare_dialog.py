"""The Compare dialog: two flows side by side, what differs highlighted.

A tab for the request and one for the response, each with the first line
(method and URL, or status), the headers and query parameters as rows
(changed, added, removed coloured), the body's JSON changes by path when
both bodies are JSON, and a side-by-side line diff of the body text. The
comparison itself is ``core.flow_diff``; this draws it as HTML tables.
"""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from inspector.core.flow_diff import (
    ADDED,
    CHANGED,
    REMOVED,
    SAME,
    BodyDiff,
    FlowComparison,
    KeyRow,
    SideDiff,
)

COLORS = {
    CHANGED: "rgba(240, 192, 74, 90)",
    ADDED: "rgba(46, 170, 98, 80)",
    REMOVED: "rgba(215, 58, 73, 80)",
    SAME: "",
}
MARKS = {CHANGED: "~", ADDED: "+", REMOVED: "−", SAME: ""}
MAX_LINES = 5000
"""Body lines drawn; the rest is summarised (a dialog of a million rows helps no one)."""


def _style(kind: str) -> str:
    color = COLORS[kind]
    return f' style="background-color:{color}"' if color else ""


WIDTHS = ('width="2%"', 'width="20%"', 'width="39%"', 'width="39%"')
"""Every table's four columns, so the tables of a side line up."""


def _cell(text: str | None) -> str:
    if text is None:
        return f'<td {WIDTHS[2]}><i style="color:gray">absent</i></td>'
    return f"<td {WIDTHS[2]}><tt>{escape(text).replace(chr(10), '<br>')}</tt></td>"


def _key(kind: str, key: str) -> str:
    return f"<td {WIDTHS[0]}>{MARKS[kind]}</td><td {WIDTHS[1]}><b>{escape(key)}</b></td>"


def _spaced(line: str) -> str:
    """A body line with its indentation kept (HTML would fold the spaces)."""
    return escape(line).replace(" ", "&nbsp;")


def keyed_table(rows: list[KeyRow], only_changes: bool) -> str:
    shown = [r for r in rows if not only_changes or r.kind != SAME]
    if not shown:
        return "<p><i>no differences</i></p>" if rows else "<p><i>none</i></p>"
    body = "".join(
        f"<tr{_style(r.kind)}>{_key(r.kind, r.key)}{_cell(r.left)}{_cell(r.right)}</tr>"
        for r in shown
    )
    return f'<table width="100%" cellspacing="0" cellpadding="3">{body}</table>'


def body_html(diff: BodyDiff, only_changes: bool) -> str:
    if diff.identical:
        return "<h4>Body</h4><p><i>identical</i></p>"
    parts = ["<h4>Body</h4>"]
    if diff.note:
        parts.append(f"<p><i>{escape(diff.note)}</i></p>")
    if diff.json is not None:
        if diff.json:
            rows = "".join(
                f"<tr{_style(c.kind)}>{_key(c.kind, c.path)}"
                f"{_cell(None if c.kind == ADDED else c.left)}"
                f"{_cell(None if c.kind == REMOVED else c.right)}</tr>"
                for c in diff.json
            )
            parts.append(
                "<p><b>JSON changes</b></p>"
                f'<table width="100%" cellspacing="0" cellpadding="3">{rows}</table>'
            )
        else:
            parts.append("<p><i>the same JSON, written differently</i></p>")
    lines = [r for r in diff.lines if not only_changes or r.kind != SAME]
    cells: list[str] = []
    for r in lines[:MAX_LINES]:
        left_no = "" if r.left_no is None else str(r.left_no)
        right_no = "" if r.right_no is None else str(r.right_no)
        cells.append(
            f'<tr{_style(r.kind)}><td width="4%" align="right" style="color:gray">{left_no}</td>'
            f'<td width="46%"><tt>{_spaced(r.left)}</tt></td>'
            f'<td width="4%" align="right" style="color:gray">{right_no}</td>'
            f'<td width="46%"><tt>{_spaced(r.right)}</tt></td></tr>'
        )
    if len(lines) > MAX_LINES:
        cells.append(f"<tr><td colspan=4><i>{len(lines) - MAX_LINES:,} more lines</i></td></tr>")
    parts.append(
        "<p><b>Lines</b></p>"
        f'<table width="100%" cellspacing="0" cellpadding="2">{"".join(cells)}</table>'
    )
    return "".join(parts)


def side_html(side: SideDiff, left_id: int, right_id: int, only_changes: bool) -> str:
    first = side.first_line
    head = (
        f'<table width="100%" cellspacing="0" cellpadding="3"><tr><th {WIDTHS[0]}></th>'
        f'<th {WIDTHS[1]}></th><th align="left" {WIDTHS[2]}>#{left_id}</th>'
        f'<th align="left" {WIDTHS[3]}>#{right_id}</th></tr>'
        f"<tr{_style(first.kind)}>{_key(first.kind, first.key)}"
        f"{_cell(first.left)}{_cell(first.right)}</tr></table>"
    )
    parts = [head, "<h4>Headers</h4>", keyed_table(side.headers, only_changes)]
    if side.query:
        parts += ["<h4>Query</h4>", keyed_table(side.query, only_changes)]
    parts.append(body_html(side.body, only_changes))
    return "".join(parts)


class CompareDialog(QDialog):
    def __init__(self, comparison: FlowComparison, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.comparison = comparison
        self.setWindowTitle(f"Compare #{comparison.left_id} and #{comparison.right_id}")
        self.resize(1100, 720)
        self.tabs = QTabWidget()
        self.request_view = QTextBrowser()
        self.response_view = QTextBrowser()
        self.tabs.addTab(self.request_view, "Request")
        self.tabs.addTab(self.response_view, "Response")
        self.only_changes = QCheckBox("Only differences")
        self.only_changes.toggled.connect(self.show_comparison)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.only_changes)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)
        self.show_comparison()

    def show_comparison(self) -> None:
        c, only = self.comparison, self.only_changes.isChecked()
        self.request_view.setHtml(side_html(c.request, c.left_id, c.right_id, only))
        if c.response is None:
            self.response_view.setHtml("<p><i>neither flow has a response</i></p>")
        else:
            self.response_view.setHtml(side_html(c.response, c.left_id, c.right_id, only))
