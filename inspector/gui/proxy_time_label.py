"""The status bar's proxy time: what the proxy added to the newest finished
flows (``core.timing``), as a median and a 95th percentile, with the total
and the worst in its tooltip."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

from inspector.core.mirror import RowMirror
from inspector.core.timing import aggregate, short

RECENT = 500
"""Flows the aggregate covers: the newest finished ones."""
TIP = (
    "Proxy time: what Inspector added to each request: rules and their delays,"
    " breakpoints, throttling, minting certificates and its own work, over the"
    " newest {count:,} finished flows (total {total}, worst {worst})."
    " The Proxy time column and the Timing tab show it per flow."
)


class ProxyTimeLabel(QLabel):
    def __init__(self, mirror: RowMirror, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mirror = mirror

    def refresh(self) -> None:
        result = aggregate(self.mirror.recent_proxy_times(RECENT))
        if result is None:
            self.setText("")
            self.setToolTip("")
            return
        self.setText(f"Proxy added: median {short(result.median)}, p95 {short(result.p95)}")
        self.setToolTip(
            TIP.format(count=result.count, total=short(result.total), worst=short(result.maximum))
        )
