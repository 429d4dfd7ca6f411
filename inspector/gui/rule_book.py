"""The engine's rules as the window knows them: one list, read again
whenever it may have changed, shown by the Rules and Breakpoints panels
and kept in the settings.

The engine's list (``rules``) is the truth. It is read again when the
engine says its rules changed (``RulesChanged``, whoever changed them:
a panel, ``inspector ctl rules load`` or ``break add``), when a flow is
held (a breakpoint's hit) and when rows a rule acted on arrive (other
rules' hits). One read at a time: a change meanwhile reads once more
after it. Every list read is handed on whole, and in the settings' form
(every rule, breakpoints included, in order): a panel never edits a
copy of its own, so neither can drop the other's rules.

``restore`` gives a new engine the rules the settings kept, with one
``set_rules``. Until it has, nothing is handed on to be kept: a new
engine's empty list must not replace the kept one.

Signals:
    listed(list): the engine's rules (with id, hits and error), as read.
    saved(list): every rule in the settings' form, after each read.
    notice(str): something to tell the user in passing.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from inspector.gui.breakpoint_rules import stored_form
from inspector.gui.engine_link import EngineLink
from inspector.gui.tasks import GuiTasks
from inspector.link.channel import ChannelClosed
from inspector.link.client import EngineError


class RuleBook(QObject):
    listed = Signal(list)
    saved = Signal(list)
    notice = Signal(str)

    def __init__(self, link: EngineLink, tasks: GuiTasks, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.link = link
        self.tasks = tasks
        self.rules: list[dict[str, Any]] = []
        """The engine's rules, as it last listed them."""
        self.restored = False
        """The current engine was given the kept rules: its list is the
        one to keep from now on."""
        self._reading = False
        self._read_again = False

    # Reading

    def refresh(self) -> None:
        """Read the rules again (one read at a time; none without an
        engine: a new one is read once it has its rules)."""
        if not self.link.connected:
            return
        if self._reading:
            self._read_again = True
            return
        self._reading = True
        self.tasks.spawn(self._read(), "Reading the rules")

    async def _read(self) -> None:
        try:
            while True:
                self._read_again = False
                try:
                    result = await self.link.request("rules")
                except (ChannelClosed, EngineError):
                    return
                self.show(list(result["rules"]))
                if not self._read_again:
                    return
        finally:
            self._reading = False

    def show(self, rules: list[dict[str, Any]]) -> None:
        """The engine's list: hand it to the panels, and on to be kept."""
        self.rules = rules
        self.listed.emit(rules)
        if self.restored:
            self.saved.emit(self.stored())

    def stored(self) -> list[dict[str, Any]]:
        """Every rule in the settings' (and the rules file's) form."""
        return [stored_form(rule) for rule in self.rules]

    def engine_lost(self) -> None:
        self.restored = False

    async def restore(self, stored: list[dict[str, Any]]) -> None:
        """Give a new engine the kept rules, in order. A list the engine
        refuses whole (a settings file edited by hand) goes in one rule
        at a time, and whatever it still refuses is said."""
        self.restored = False
        try:
            if stored:
                try:
                    result = await self.link.request("set_rules", rules=stored)
                except EngineError:
                    await self._add_each(stored)
                    result = await self.link.request("rules")
            else:
                result = await self.link.request("rules")
        except ChannelClosed:
            return  # the engine is gone already; the next one gets them
        self.restored = True
        self.show(list(result["rules"]))

    async def _add_each(self, stored: list[dict[str, Any]]) -> None:
        for number, rule in enumerate(stored, start=1):
            try:
                await self.link.request("add_rule", rule=rule)
            except EngineError as exc:
                self.notice.emit(f"Saved rule {number} was dropped: {exc}")

    # Changing (each change comes back as RulesChanged, and is read then)

    async def replace(self, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Every rule replaced (``set_rules``): the engine's new list.
        Raises EngineError (nothing changed) or ChannelClosed."""
        result = await self.link.request("set_rules", rules=rules)
        self.show(list(result["rules"]))
        return self.rules

    async def add(self, rule: dict[str, Any]) -> str:
        """Append a rule; the reason it is off, or ""."""
        result = await self.link.request("add_rule", rule=rule)
        return str(result.get("error") or "")

    async def update(self, rule_id: int, **changes: Any) -> str:
        """``update_rule``: its new ``rule``, ``enabled`` or ``index``."""
        result = await self.link.request("update_rule", id=rule_id, **changes)
        return str(result.get("error") or "")

    async def remove(self, rule_id: int) -> None:
        await self.link.request("remove_rule", id=rule_id)
