"""Running the desktop app inside a test: a qasync loop on the pytest-qt
QApplication, the app built as ``inspector`` would build it, and a scenario
coroutine driving it like a user."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import qasync
from PySide6.QtWidgets import QApplication

from inspector.app import DesktopApp
from inspector.core.settings import Settings
from inspector.options import Options

Scenario = Callable[[DesktopApp], Awaitable[None]]


@pytest.fixture
def run_app(qapp: QApplication, tmp_path: Path) -> Callable[..., int]:
    """``run_app(scenario, **options)``: build the app, run ``scenario``
    against it, quit, and return the exit code."""

    def run(scenario: Scenario, **overrides: object) -> int:
        settings = Settings()
        settings.proxy.listen_port = 0
        options = Options(settings=settings, confdir=tmp_path / "conf")
        for key, value in overrides.items():
            setattr(options, key, value)

        async def main() -> int:
            app = DesktopApp(qapp, options)
            app.reporter.show_dialogs = False
            errors: list[str] = []
            app.reporter.reported.connect(errors.append)

            async def drive() -> None:
                try:
                    await app.ready.wait()
                    await scenario(app)
                finally:
                    app.quit(0)

            task = asyncio.get_running_loop().create_task(drive())
            code = await app.main()
            await task
            assert errors == [], errors
            return code

        try:
            with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
                return runner.run(main())
        finally:
            # Free the app's Qt objects here, on the GUI thread: left to the
            # cyclic collector they could be freed on an engine thread.
            gc.collect()

    return run
