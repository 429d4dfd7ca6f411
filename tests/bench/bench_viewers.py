"""The GUI thread's longest stall while an 8 MiB JSON body is opened in the
response view: rendered in the helper process, loaded a slice at a time,
coloured where it is in sight, its tree shown, scrolled, and then replaced
by the next flow's small body.

A precise 5 ms timer on the GUI thread records the gaps between its ticks
(``gui_probes.StallProbe``); the figure is the longest gap, and the
wall times of each phase are printed beside it. A benchmark figure, not a
test: run ``python -m tests.bench.bench_viewers [--mib N] [--json PATH] [--gaps]``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop, QObject, QTimer
from PySide6.QtWidgets import QApplication

from inspector.core.flow import Flow, FlowState, Request, Response
from inspector.gui.message_view import MessageView
from tests.bench.gui_probes import StallProbe

MiB = 1024 * 1024


def _body(mib: float) -> bytes:
    items = []
    size = 0
    i = 0
    while size < mib * MiB:
        item = {"id": i, "name": f"item {i}", "tags": ["a", "b", str(i)], "ok": i % 2 == 0}
        item["nested"] = {"price": i * 1.5, "note": None, "text": "z" * (i % 40)}
        items.append(item)
        size += len(json.dumps(item)) + 2
        i += 1
    return json.dumps(items).encode()


def _flow(body: bytes) -> Flow:
    flow = Flow(id=1, client_addr=("127.0.0.1", 1), state=FlowState.COMPLETE)
    flow.request = Request(method="GET", host="bench.test", target="/big.json")
    flow.response = Response(
        status=200,
        reason="OK",
        headers=[(b"Content-Type", b"application/json")],
        body=body,
        body_size=len(body),
    )
    flow.t_start = flow.t_end = time.time()
    return flow


def _wait(app: QApplication, signals: list[object], timeout: float) -> float:
    """Run the event loop until each signal has fired; the seconds taken."""
    started = time.perf_counter()
    pending = set(range(len(signals)))
    loop = QEventLoop()

    def fired(n: int) -> None:
        pending.discard(n)
        if not pending:
            loop.quit()

    for n, signal in enumerate(signals):
        signal.connect(lambda *_, n=n: fired(n))  # type: ignore[attr-defined]
    QTimer.singleShot(int(timeout * 1000), loop.quit)
    loop.exec()
    if pending:
        raise SystemExit(f"timed out after {timeout} s")
    return time.perf_counter() - started


def _spin(seconds: float) -> None:
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=float, default=8.0)
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH as JSON")
    parser.add_argument("--gaps", action="store_true", help="list each gap over 16 ms")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    holder = QObject()
    body = _body(args.mib)
    flow = _flow(body)
    with concurrent.futures.ThreadPoolExecutor(2) as executor:
        view = MessageView(executor)
        view.resize(1000, 700)
        view.show()
        _spin(0.3)
        viewer = view.body
        probe = StallProbe(5, holder)
        probe.start()
        _spin(0.2)
        probe.mark()
        figures: dict[str, object] = {"body_mib": round(len(body) / MiB, 2)}
        view.set_message("", flow.response, flow)
        figures["text_s"] = round(_wait(app, [viewer.rendered], 120), 2)
        figures["colours_and_tree_s"] = round(
            _wait(app, [viewer.coloured, viewer.tree_shown], 120), 2
        )
        bar = viewer.text.verticalScrollBar()
        for fraction in (0.25, 0.5, 0.9, 1.0):
            bar.setValue(int(bar.maximum() * fraction))
            _spin(0.05)
        viewer.view_tree.click()
        _spin(0.1)
        viewer.view_text.click()
        _spin(0.1)
        small = _flow(b'{"small": true}')
        assert small.response is not None
        view.set_message("", small.response, small)
        _wait(app, [viewer.rendered], 10)
        _spin(0.3)
        stalls = probe.summary()
        if args.gaps:
            print("gaps over 16 ms (s since open, ms):", stalls["long_gaps"])
        view.body.renderer.close()
        view.close()
    figures.update(
        gui_stall_max_ms=round(stalls["gap_max_ms"], 1),
        gui_stall_p99_ms=round(stalls["gap_p99_ms"], 1),
        gaps_over_16ms=stalls["gaps_over_16ms"],
        gaps_over_50ms=stalls["gaps_over_50ms"],
    )
    if args.json:
        Path(args.json).write_text(json.dumps(figures) + "\n")
    print(f"A {figures['body_mib']} MiB JSON body opened in the response view")
    print(f"  text on screen after        {figures['text_s']} s")
    print(f"  colours and tree after      {figures['colours_and_tree_s']} s more")
    print(f"  GUI thread's longest stall  {figures['gui_stall_max_ms']} ms")
    print(f"  p99 gap (5 ms timer)        {figures['gui_stall_p99_ms']} ms")
    print(
        f"  gaps over 16 ms / 50 ms     {figures['gaps_over_16ms']} / {figures['gaps_over_50ms']}"
    )


if __name__ == "__main__":
    main()
