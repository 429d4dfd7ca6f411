"""What an empty flow list says: where the proxy listens and how to send
it traffic (the one line for curl, the environment variables), and where
HTTPS needs the CA. A new user otherwise met a blank table and had to
guess.

It lies over the table's viewport, follows its size, and goes as soon as
the first flow arrives (or comes back when the list is cleared).

Signals:
    ca_requested(): the user followed the link to the CA's help.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QLabel

CA_LINK = "inspector:ca"


def hint_html(address: str) -> str:
    """The hint for a proxy listening on ``address`` (empty: stopped)."""
    if not address:
        return (
            "<h3>The proxy is stopped</h3>"
            "<p>Start it from the toolbar or the Proxy menu (Ctrl+R); its address"
            " is set in Settings.</p>"
        )
    proxy = html.escape(f"http://{address}")
    return (
        f"<h3>Listening on {html.escape(address)}</h3>"
        "<p>Send a request through it:</p>"
        f"<pre>curl -x {proxy} http://example.com/</pre>"
        "<p>or point a program at it with the environment:</p>"
        f"<pre>export http_proxy={proxy} https_proxy={proxy}</pre>"
        "<p>HTTPS is decrypted once the client trusts Inspector's CA:"
        f' <a href="{CA_LINK}">install the CA certificate…</a></p>'
    )


class EmptyHint(QLabel):
    ca_requested = Signal()

    def __init__(self, view: QAbstractItemView, captured: Callable[[], int]) -> None:
        """``captured`` counts the flows the window holds, shown or not (a
        filter hiding every row is not an empty capture)."""
        super().__init__(view.viewport())
        self.view = view
        self.captured = captured
        self.setObjectName("EmptyHint")
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByMouse
        )
        self.setStyleSheet("#EmptyHint { color: palette(placeholder-text); }")
        self.linkActivated.connect(self._link)
        self.address = ""
        self.setText(hint_html(""))
        view.viewport().installEventFilter(self)
        model = view.model()
        for signal in (model.rowsInserted, model.rowsRemoved, model.modelReset):
            signal.connect(self.update_shown)
        self.update_shown()

    def set_address(self, address: str) -> None:
        self.address = address
        self.setText(hint_html(address))

    def update_shown(self) -> None:
        """Shown while no flow is held; the window calls this when flows
        arrive that the table does not show yet (a frozen display)."""
        empty = self.view.model().rowCount() == 0 and self.captured() == 0
        if empty:
            self.setGeometry(self.view.viewport().rect())
        self.setVisible(empty)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.setGeometry(self.view.viewport().rect())
        return False

    def _link(self, target: str) -> None:
        if target == CA_LINK:
            self.ca_requested.emit()
