"""The Intercept menu: what is missing is listed disabled with a tooltip
saying what was looked for; a launched client's flows show its name in the
Client column; a client that fails at once is said in a message box."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

from inspector.app import DesktopApp
from inspector.gui.flow_cells import Column
from tests.gui.test_engine_process import _until
from tests.proxy.harness import Origin

RunApp = Callable[..., int]

FAKE_CHROMIUM = """#!/bin/sh
# Stands in for Chromium: one request through the proxy it was given.
for arg in "$@"; do
  case "$arg" in --proxy-server=*) proxy="${arg#--proxy-server=}";; esac
done
curl -s -x "$proxy" "$URL" > /dev/null
exec sleep 30
"""


def _bin(tmp_path: Path, name: str, text: str) -> Path:
    directory = tmp_path / "bin"
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_text(text)
    path.chmod(0o755)
    return directory


def test_missing_clients_are_disabled_with_what_was_looked_for(
    run_app: RunApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("INSPECTOR_HOME", str(tmp_path / "home"))

    async def scenario(app: DesktopApp) -> None:
        menu = app.window.intercept
        assert list(menu.actions) == ["chromium", "firefox", "terminal"]
        for action in menu.actions.values():
            assert not action.isEnabled()
        assert "chromium-browser" in menu.actions["chromium"].toolTip()
        assert "firefox-esr" in menu.actions["firefox"].toolTip()
        assert "x-terminal-emulator" in menu.actions["terminal"].toolTip()
        assert app.window.intercept.button.menu() is menu.menu

    assert run_app(scenario) == 0


def test_a_launched_client_is_tagged_and_a_failure_is_said(
    run_app: RunApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = _bin(tmp_path, "chromium", FAKE_CHROMIUM)
    _bin(tmp_path, "google-chrome", "#!/bin/sh\necho 'no display here' >&2\nexit 1\n")
    home = tmp_path / "home"
    monkeypatch.setenv("PATH", f"{directory}:/usr/bin:/bin")
    monkeypatch.setenv("INSPECTOR_HOME", str(home))

    async def scenario(app: DesktopApp) -> None:
        window = app.window
        menu = window.intercept
        assert menu.actions["chromium"].isEnabled()
        assert menu.actions["chrome"].isEnabled()  # found, so listed
        async with Origin() as origin:
            monkeypatch.setenv("URL", f"{origin.base}/from-the-browser")
            started: list[tuple[str, str]] = []
            menu.launched.connect(lambda name, address: started.append((name, address)))
            menu.actions["chromium"].trigger()
            await _until(lambda: bool(started), what="the launch")
            model = window.model
            await _until(lambda: model.rowCount() == 1, what="the browser's flow")
            assert model.data(model.index(0, Column.PATH)) == "/from-the-browser"
            assert model.data(model.index(0, Column.CLIENT)) == "chromium"
            window.filter_box.setText("-client:chromium")
            window.filter_bar.apply()
            await _until(lambda: model.rowCount() == 0, what="the row filtered out")
            (launched,) = (home / "launched").iterdir()
            pid = int((launched / "watcher.pid").read_text())

            menu.actions["chrome"].trigger()
            await _until(
                lambda: any(isinstance(w, QMessageBox) for w in QApplication.topLevelWidgets()),
                what="the message box",
            )
            box = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox))
            assert "Google Chrome exited at once (status 1): no display here" in box.text()
            box.close()
            box.deleteLater()
        # The fake browser ends; its watcher removes the launch directory.
        proc = await asyncio.create_subprocess_exec("pkill", "-P", str(pid))
        await proc.wait()
        await _until(lambda: not launched.exists(), what="the profile removed")

    assert run_app(scenario) == 0
