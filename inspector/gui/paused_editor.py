"""The paused-flow editor: the flows a breakpoint holds, one edited at a
time, sent on (edited or not) or aborted.

The list on the left is every held flow, oldest first; the one being
edited is the user's choice and stays until it is done. A flow held
meanwhile joins the list and the "N more paused" count, and is offered
(loaded) only once the current one is sent on, aborted, or leaves: a
pause never replaces what is being edited, never takes the focus, and
never raises a window. Each flow keeps its own editor, so going to
another flow in the list and back loses nothing.

Execute sends what was changed (``MessageEditor.edits``); an edit the
engine refuses shows its words and the flow stays held, edits and all.
Abort answers the client 502 with the reason given, or resets its
connection.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QFont, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from inspector.core.mirror import RowMirror
from inspector.gui.engine_link import EngineLink
from inspector.gui.held_flows import HeldFlows, waited
from inspector.gui.paused_list import HeldList
from inspector.gui.paused_message import MessageEditor, PausedFlow
from inspector.gui.tasks import GuiTasks
from inspector.link.channel import ChannelClosed
from inspector.link.client import EngineError

ERROR_STYLE = "color: #d73a49;"
NONE_HELD = (
    "No flow is paused.\n\nFlows a breakpoint holds wait here until you send them on"
    " or abort them. Add breakpoints in the Breakpoints panel (View ▸ Breakpoints)."
)
OUTCOMES = {
    "resumed": "went on unchanged",
    "edited": "went on edited",
    "aborted": "was aborted",
    "gone": "ended: its client left",
}


class PausedEditor(QWidget):
    def __init__(
        self,
        link: EngineLink,
        tasks: GuiTasks,
        held: HeldFlows,
        mirror: RowMirror,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Paused Flows — Inspector")
        self.resize(1100, 680)
        self.link = link
        self.tasks = tasks
        self.held = held
        self.mirror = mirror
        self.current: int | None = None
        self.editors: dict[int, MessageEditor] = {}
        self.errors: dict[int, str] = {}
        self._let_go: set[int] = set()
        """Flows this editor sent on, until the engine says they went."""
        self._loading: set[int] = set()

        self.list = HeldList(held, mirror)
        self.list.chosen.connect(self.show_flow)
        self.title = QLabel()
        bold = QFont(self.title.font())
        bold.setBold(True)
        self.title.setFont(bold)
        self.title.setWordWrap(True)
        self.more_label = QLabel()
        self.more_label.setStyleSheet("color: #b08800; font-weight: bold;")
        self.stack = QStackedWidget()
        self.empty = QLabel(NONE_HELD)
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack.addWidget(self.empty)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note_label = QLabel()
        self.note_label.setStyleSheet("color: palette(mid);")
        self.reason_box = QLineEdit()
        self.reason_box.setPlaceholderText("aborted at a breakpoint")
        self.reason_box.setToolTip("What the client's 502 says")
        self.reset_check = QCheckBox("Reset the connection instead")

        self.execute_button = self._button("Execute", "Send it on with the edits (Ctrl+Return)")
        self.execute_button.setDefault(True)
        self.execute_button.clicked.connect(self.execute)
        self.resume_button = self._button("Resume Unchanged", "Send it on as it came")
        self.resume_button.clicked.connect(self.resume_unchanged)
        self.abort_button = self._button("Abort", "Answer the client 502 (or reset)")
        self.abort_button.clicked.connect(self.abort)
        self.resume_all_button = self._button("Resume All", "Send every held flow on unchanged")
        self.resume_all_button.clicked.connect(lambda: self._all("resume_all"))
        self.abort_all_button = self._button("Abort All", "Abort every held flow (502)")
        self.abort_all_button.clicked.connect(lambda: self._all("abort_all"))
        execute_action = QAction(self)
        execute_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        execute_action.triggered.connect(self.execute)
        self.addAction(execute_action)

        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.more_label)
        abort_row = QHBoxLayout()
        abort_row.addWidget(QLabel("Abort reason"))
        abort_row.addWidget(self.reason_box, 1)
        abort_row.addWidget(self.reset_check)
        buttons = QHBoxLayout()
        for button in (self.execute_button, self.resume_button, self.abort_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.resume_all_button)
        buttons.addWidget(self.abort_all_button)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(4, 0, 0, 0)
        right_layout.addLayout(top)
        right_layout.addWidget(self.stack, 1)
        right_layout.addWidget(self.error_label)
        right_layout.addLayout(abort_row)
        right_layout.addLayout(buttons)
        right_layout.addWidget(self.note_label)
        split = QSplitter()
        split.addWidget(self.list)
        split.addWidget(right)
        split.setSizes([260, 840])
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(split)

        held.changed.connect(self._held_changed)
        held.released.connect(self._released)
        held.tick.connect(self._tick)
        self._held_changed()

    def _button(self, text: str, tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.setAutoDefault(False)
        return button

    def open(self) -> None:
        """Shown because the user asked (the badge, a menu): the one time
        this window comes forward."""
        self.show()
        self.raise_()
        self.activateWindow()

    # Following the held flows

    def _held_changed(self) -> None:
        for flow_id in [i for i in self.editors if i not in self.held]:
            self._drop(flow_id)
        self._let_go &= set(self.held.ids())
        if self.current is None or self.current not in self.held:
            self.current = None
            self._offer_next()
        self._fill_list()
        self._tick()

    def _released(self, flow_id: int, outcome: str) -> None:
        if flow_id not in self._let_go:
            self.note_label.setText(f"Flow {flow_id} {OUTCOMES.get(outcome, outcome)}.")

    def _offer_next(self) -> None:
        waiting = [i for i in self.held.ids() if i not in self._let_go]
        if waiting:
            self.show_flow(waiting[0])
        else:
            self.stack.setCurrentWidget(self.empty)
        self._buttons()

    def show_flow(self, flow_id: int) -> None:
        """Edit ``flow_id`` (loaded from the engine the first time)."""
        if flow_id not in self.held or flow_id in self._let_go:
            return
        self.current = flow_id
        editor = self.editors.get(flow_id)
        if editor is not None:
            self.stack.setCurrentWidget(editor)
        elif flow_id not in self._loading:
            self._loading.add(flow_id)
            self.tasks.spawn(self._load(flow_id), "Reading a paused flow")
        self.error_label.setText(self.errors.get(flow_id, ""))
        self.list.mark(self.current)
        self._tick()
        self._buttons()

    async def _load(self, flow_id: int) -> None:
        try:
            result = await self.link.request("paused_flow", id=flow_id)
        except (ChannelClosed, EngineError):
            return  # it went on meanwhile: the held list says so
        finally:
            self._loading.discard(flow_id)
        if flow_id not in self.held or flow_id in self.editors:
            return
        editor = MessageEditor()
        editor.load(PausedFlow.from_wire(result))
        self.editors[flow_id] = editor
        self.stack.addWidget(editor)
        if self.current == flow_id:
            self.stack.setCurrentWidget(editor)
            self._tick()
            self._buttons()

    def _drop(self, flow_id: int) -> None:
        editor = self.editors.pop(flow_id, None)
        if editor is not None:
            self.stack.removeWidget(editor)
            editor.deleteLater()
        self.errors.pop(flow_id, None)

    def _fill_list(self) -> None:
        self.list.fill(self.current, self._let_go)

    def _tick(self) -> None:
        self.list.tick()
        count = len(self.held)
        self.setWindowTitle(
            f"Paused Flows ({count}) — Inspector" if count else "Paused Flows — Inspector"
        )
        others = count - (1 if self.current is not None else 0)
        self.more_label.setText(f"{others} more paused" if others > 0 else "")
        held = self.held.flows.get(self.current) if self.current is not None else None
        editor = self.editors.get(self.current) if self.current is not None else None
        if held is None:
            self.title.setText("")
            return
        flow = editor.flow if editor is not None else None
        what = f"{flow.method} {flow.url}" if flow is not None else "loading…"
        if flow is not None and held.phase != "request":
            what = f"{flow.status} {flow.reason} ← {what}"
        self.title.setText(
            f"#{self.current}  {what}\nheld at its {held.phase} for"
            f" {waited(time.time() - held.since)}"
        )

    def _buttons(self) -> None:
        ready = self.current is not None and self.current in self.editors
        for button in (self.execute_button, self.resume_button, self.abort_button):
            button.setEnabled(ready)
        for button in (self.resume_all_button, self.abort_all_button):
            button.setEnabled(len(self.held) > 0)

    # Letting flows go

    def execute(self) -> None:
        editor = self.editors.get(self.current) if self.current is not None else None
        if editor is not None:
            self._send(self.current, "resume", editor.edits())

    def resume_unchanged(self) -> None:
        if self.current is not None:
            self._send(self.current, "resume", {})

    def abort(self) -> None:
        if self.current is None:
            return
        args: dict[str, Any] = {"reset": self.reset_check.isChecked()}
        if self.reason_box.text().strip():
            args["reason"] = self.reason_box.text().strip()
        self._send(self.current, "abort", args)

    def _send(self, flow_id: int | None, op: str, args: dict[str, Any]) -> None:
        if flow_id is not None:
            self.tasks.spawn(self._let_go_now(flow_id, op, args), "Letting a paused flow go")

    async def _let_go_now(self, flow_id: int, op: str, args: dict[str, Any]) -> None:
        try:
            await self.link.request(op, id=flow_id, **args)
        except (ChannelClosed, EngineError) as exc:
            # Refused: the flow is still held, and every edit still there.
            self.errors[flow_id] = str(exc)
            if flow_id == self.current:
                self.error_label.setText(str(exc))
            return
        if op == "abort":
            what = "reset" if args.get("reset") else "aborted (502)"
        else:
            what = "sent on edited" if args else "sent on unchanged"
        self._finished(flow_id, what)

    def _finished(self, flow_id: int, what: str) -> None:
        self.note_label.setText(f"Flow {flow_id} {what}.")
        self._let_go.add(flow_id)
        self.errors.pop(flow_id, None)
        if flow_id == self.current:
            self.current = None
            self.error_label.setText("")
            self._offer_next()
        self._fill_list()
        self._tick()

    def _all(self, op: str) -> None:
        self.tasks.spawn(self._all_now(op), "Letting every paused flow go")

    async def _all_now(self, op: str) -> None:
        try:
            result = await self.link.request(op)
        except (ChannelClosed, EngineError) as exc:
            self.error_label.setText(str(exc))
            return
        what = "sent on unchanged" if op == "resume_all" else "aborted (502)"
        for flow_id in result.get("resumed", result.get("aborted", [])):
            self._finished(int(flow_id), what)
