"""The desktop app end to end: real traffic through the proxy, the window
updating from relay batches, settings, quitting."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from inspector.app import DesktopApp
from inspector.core.bodyview import BodyKind
from inspector.core.config import load_settings
from inspector.gui.flow_cells import Column
from inspector.gui.pressure_panel import Pressure
from tests.proxy.harness import Client, Origin, Received, Reply

RunApp = Callable[..., int]


async def _until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def _port(app: DesktopApp) -> int:
    return int(app.controller.address.rsplit(":", 1)[1])


async def _json(req: Received) -> Reply:
    if req.target == b"/missing":
        return Reply(404, [(b"Content-Type", b"text/plain")], b"nope")
    return Reply(
        200,
        [(b"Content-Type", b"application/json")],
        json.dumps({"user": "ada", "n": [1, 2]}).encode(),
    )


def test_requests_appear_as_rows_with_details(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        async with Origin(_json) as origin:
            client = await Client.connect(_port(app))
            assert (await client.request("GET", f"{origin.base}/user")).status == 200
            assert (await client.request("GET", f"{origin.base}/missing")).status == 404
            client.close()
            model = app.window.model
            await _until(
                lambda: model.rowCount() == 2 and model.data(model.index(1, Column.STATUS)) == "404"
            )
            assert model.data(model.index(0, Column.PATH)) == "/user"
            assert model.data(model.index(0, Column.TYPE)) == "application/json"
            app.window.table.selectRow(0)
            viewer = app.window.detail.response.body
            await _until(lambda: viewer.kind is BodyKind.JSON)
            assert (
                viewer.text.toPlainText() == '{\n  "user": "ada",\n  "n": [\n    1,\n    2\n  ]\n}'
            )
            assert "Proxy listening on" in app.window.log.lines()[0]

    assert run_app(scenario) == 0


def test_filter_box_narrows_rows(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        async with Origin(_json) as origin:
            client = await Client.connect(_port(app))
            for path in ("/a", "/missing", "/b", "/missing"):
                await client.request("GET", f"{origin.base}{path}")
            client.close()
            model = app.window.model
            await _until(lambda: model.rowCount() == 4)
            app.window.filter_box.setText("status:4xx")
            await _until(lambda: model.rowCount() == 2)
            app.window.filter_box.setText("status:nonsense")
            await asyncio.sleep(0.4)
            assert model.rowCount() == 2
            assert "status:nonsense" in app.window.filter_box.toolTip()
            app.window.filter_box.setText("")
            await _until(lambda: model.rowCount() == 4)

    assert run_app(scenario) == 0


def test_pressure_panel_moves_under_a_burst(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        async with Origin() as origin:
            clients = [await Client.connect(_port(app)) for _ in range(8)]

            async def burst(client: Client) -> None:
                for i in range(60):
                    await client.request("GET", f"{origin.base}/{i}")

            await asyncio.gather(*(burst(c) for c in clients))
            for c in clients:
                c.close()
            await _until(lambda: app.window.model.rowCount() == 480)
            await asyncio.sleep(0.4)
            figures = app.window.pressure.figures
            assert int(figures["flow.emitted"].text().replace(",", "")) >= 480 * 4
            assert int(figures["flow.coalesced"].text().replace(",", "")) > 0
            assert app.window.pressure.plot.samples
            assert app.window.pressure.state in (
                Pressure.CALM,
                Pressure.COALESCING,
                Pressure.DROPPING,
            )

    assert run_app(scenario) == 0


def test_settings_persist_across_restarts(run_app: RunApp, tmp_path: Path) -> None:
    async def change(app: DesktopApp) -> None:
        app.open_settings()
        dialog = app.window.findChild(
            __import__("inspector.gui.settings_dialog", fromlist=["SettingsDialog"]).SettingsDialog
        )
        assert dialog is not None
        dialog.flush.setValue(50)
        dialog.body_limit.setValue(2)
        dialog.accept()
        await _until(lambda: app.controller.running and app.settings.relay.flush_interval_ms == 50)

    assert run_app(change) == 0
    settings, problems = load_settings(tmp_path / "conf")
    assert problems == []
    assert settings.relay.flush_interval_ms == 50
    assert settings.proxy.body_capture_limit == 2 * 1024 * 1024


def test_port_in_use_opens_settings_with_the_message(run_app: RunApp) -> None:
    import socket

    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]

    async def scenario(app: DesktopApp) -> None:
        from inspector.gui.settings_dialog import SettingsDialog

        await _until(lambda: app.window.findChild(SettingsDialog) is not None)
        dialog = app.window.findChild(SettingsDialog)
        assert "already in use" in dialog.error.text()
        assert not app.controller.running

    try:
        from inspector.core.settings import Settings

        settings = Settings()
        settings.proxy.listen_port = port
        assert run_app(scenario, settings=settings) == 0
    finally:
        blocker.close()


def test_quit_is_fast_with_traffic_in_flight(run_app: RunApp) -> None:
    async def slow(req: Received) -> Reply:
        await asyncio.sleep(3600)
        return Reply()

    timing: dict[str, float] = {}

    async def scenario(app: DesktopApp) -> None:
        async with Origin(slow) as origin:
            clients = [await Client.connect(_port(app)) for _ in range(20)]
            for c in clients:
                await c.send(f"GET {origin.base}/ HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            await _until(lambda: len(app.mirror) == 20 and len(origin.requests) == 20)
            timing["quit"] = time.monotonic()
            app.quit(0)
            await asyncio.sleep(0)
            for c in clients:
                c.close()

    assert run_app(scenario) == 0
    assert time.monotonic() - timing["quit"] < 3.0


@pytest.mark.parametrize("engine", ["process", "thread", "qasync"])
@pytest.mark.parametrize("relay", ["coalescing", "naive"])
def test_every_layout_serves_and_shows_flows(run_app: RunApp, relay: str, engine: str) -> None:
    async def scenario(app: DesktopApp) -> None:
        async with Origin() as origin:
            client = await Client.connect(_port(app))
            for i in range(20):
                assert (await client.request("GET", f"{origin.base}/{i}")).status == 200
            client.close()
            await _until(lambda: app.window.model.rowCount() == 20)

    assert run_app(scenario, relay=relay, engine=engine) == 0


def test_selftest_subprocess_with_screenshot(tmp_path: Path) -> None:
    shot = tmp_path / "window.png"
    result = subprocess.run(
        [sys.executable, "-m", "inspector", "--selftest", "--screenshot", str(shot)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("selftest ok")
    assert shot.stat().st_size > 10_000


@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM"])
def test_desktop_app_quits_cleanly_on_signals(signum: str, tmp_path: Path) -> None:
    import os
    import signal

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "INSPECTOR_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "inspector", "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on 127.0.0.1:"), line
        port = int(line.rsplit(":", 1)[1])

        async def traffic() -> None:
            async with Origin() as origin:
                client = await Client.connect(port)
                for i in range(10):
                    await client.request("GET", f"{origin.base}/{i}")
                client.close()

        asyncio.run(traffic())
        started = time.monotonic()
        proc.send_signal(getattr(signal, signum))
        _, err = proc.communicate(timeout=10)
        elapsed = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert elapsed < 2.0, elapsed
    noise = "This plugin does not support propagateSizeHints()"
    assert [line for line in err.splitlines() if line != noise] == []


def test_qasync_hosted_engine_survives_thousands_of_connections(run_app: RunApp) -> None:
    """Regression: thousands of qasync socket events (one connection per
    request) through the engine hosted on the GUI loop, then a clean exit."""

    async def scenario(app: DesktopApp) -> None:
        async with Origin() as origin:
            port = _port(app)

            async def one(i: int) -> int:
                client = await Client.connect(port)
                try:
                    return (await client.request("GET", f"{origin.base}/{i}")).status
                finally:
                    client.close()

            statuses: list[int] = []
            for start in range(0, 2000, 50):
                statuses += await asyncio.gather(*(one(i) for i in range(start, start + 50)))
            assert statuses == [200] * 2000
            await _until(lambda: app.window.model.rowCount() == 2000, timeout=30)

    assert run_app(scenario, engine="qasync") == 0


def test_ca_dialog_opens_from_the_window(run_app: RunApp) -> None:
    async def scenario(app: DesktopApp) -> None:
        from inspector.gui.ca_dialog import CADialog

        app.window.ca_action.trigger()
        dialog = app.window.findChild(CADialog)
        assert dialog is not None and dialog.isVisible()
        assert app.ca is not None
        assert app.ca.ca_fingerprint().split(":")[0] in dialog.fingerprint.text()

    assert run_app(scenario) == 0


def test_insecure_upstream_shows_a_permanent_warning(run_app: RunApp) -> None:
    from inspector.core.settings import Settings

    async def scenario(app: DesktopApp) -> None:
        assert app.window.warning_banner.isVisible()
        assert "NOT verified" in app.window.warning_banner.text()

    settings = Settings()
    settings.proxy.listen_port = 0
    settings.proxy.insecure_upstream = True
    assert run_app(scenario, settings=settings) == 0


def test_https_flow_and_tunnel_rows_appear(run_app: RunApp, tmp_path: Path) -> None:
    import http.client
    import ssl

    from inspector.core.certs import CertStore

    upstream = CertStore.load_or_create(tmp_path / "upstream")

    async def scenario(app: DesktopApp) -> None:
        assert app.ca is not None
        cafile = str(app.ca.ca_cert_path)
        async with Origin(_json, tls=upstream.server_context("localhost")) as origin:

            def get() -> int:
                conn = http.client.HTTPSConnection(
                    "127.0.0.1", _port(app), context=ssl.create_default_context(cafile=cafile)
                )
                conn.set_tunnel("localhost", origin.port)
                conn.request("GET", "/user")
                status = conn.getresponse().status
                conn.close()
                return status

            assert await asyncio.to_thread(get) == 200
            model = app.window.model
            await _until(lambda: model.rowCount() == 2)
            assert model.data(model.index(0, Column.METHOD)) == "CONNECT"
            assert model.data(model.index(0, Column.PATH)) == "⇄ 1 request (TLS)"
            assert model.data(model.index(1, Column.HOST)) == f"https://localhost:{origin.port}"

    settings = __import__("inspector.core.settings", fromlist=["Settings"]).Settings()
    settings.proxy.listen_port = 0
    settings.proxy.upstream_ca_file = str(upstream.ca_cert_path)
    assert run_app(scenario, settings=settings) == 0
    upstream.close()


def test_repaints_are_timed_for_the_pacing_without_holding_the_lock(run_app: RunApp) -> None:
    """The window reports each repaint's duration to its engine link (the
    pacing), timed from outside the paint: no Python frame may wrap it."""
    import inspect

    from inspector.gui.main_window import MainWindow

    timed: list[float] = []

    async def scenario(app: DesktopApp) -> None:
        report = app.link.note_paint
        app.link.note_paint = lambda seconds: (timed.append(seconds), report(seconds))  # type: ignore[method-assign,func-returns-value]
        app.window.table.viewport().update()
        app.window.update()
        await _until(lambda: len(timed) > 0)

    assert run_app(scenario) == 0
    assert timed and all(0 <= t < 10 for t in timed)
    # A Python event() override would run the whole C++ paint inside it.
    assert "event" not in vars(MainWindow)
    assert "paintEvent" not in vars(MainWindow)
    assert inspect.isfunction(MainWindow.eventFilter)
