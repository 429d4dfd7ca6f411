"""The certificate authority dialog: everything a user needs to trust
Inspector's CA on a system, a browser, a device or a command-line tool.

It shows the CA's name, SHA-256 fingerprint and file, exports the certificate
as PEM or DER, copies the PEM, links to the onboarding page the proxy serves
to devices, and gives install steps per system, browser and tool with this
CA's path filled in. The app shows it with ``show()``, never ``exec()`` (a
nested event loop inside a qasync coroutine breaks the loop), and the file
chooser is opened the same non-blocking way. Failures to write an export
become a message in the dialog, never a traceback.
"""

from __future__ import annotations

import html
import shlex
import sys
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.x509.oid import NameOID
from PySide6.QtCore import QEvent, QStandardPaths, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFontDatabase, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from inspector.core.ca import CAError


class CASource(Protocol):
    """What the dialog needs from the CA (``core.certs.CertStore`` fits)."""

    @property
    def ca_cert_path(self) -> Path: ...

    def ca_fingerprint(self) -> str: ...

    def ca_cert_pem(self) -> bytes: ...

    def ca_cert_der(self) -> bytes: ...

    def export_ca(self, path: Path, der: bool = False) -> None: ...


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def danger_color(palette: QPalette) -> str:
    """A red that keeps its contrast on the palette's window colour (GitHub's
    danger reds, tuned for light and dark backgrounds)."""
    return "#ff7b72" if is_dark(palette) else "#cf222e"


class CADialog(QDialog):
    """Shows the CA and how to trust it.

    Signals:
        exported(str): the certificate was written to this path.
    """

    exported = Signal(str)

    def __init__(self, ca: CASource, onboarding_url: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Inspector CA Certificate")
        self.resize(720, 660)
        self._ca = ca
        self._onboarding_url = onboarding_url
        self._status_is_error = False
        self._export_dir = Path(
            QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DownloadLocation)
            or Path.home()
        )
        cert = x509.load_pem_x509_certificate(ca.ca_cert_pem())
        self.ca_name = _common_name(cert)

        title = QLabel("Inspector's certificate authority")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        title.setFont(font)
        intro = QLabel(
            "To show HTTPS traffic, Inspector decrypts it with certificates signed by a CA "
            "created on this computer. Trust this CA on each system, browser or device whose "
            "HTTPS you want to inspect. Its private key never leaves this computer."
        )
        intro.setWordWrap(True)

        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.name = _selectable(self.ca_name)
        self.fingerprint = _selectable(_two_lines(ca.ca_fingerprint()))
        self.fingerprint.setFont(mono)
        copy_fingerprint = QPushButton("Copy")
        copy_fingerprint.setToolTip("Copy the fingerprint on one line")
        copy_fingerprint.clicked.connect(self.copy_fingerprint)
        self.valid_until = _selectable(f"{cert.not_valid_after_utc:%Y-%m-%d}")
        # A frameless read-only line edit: selectable like the other values,
        # but a long path scrolls instead of widening the dialog.
        self.path = QLineEdit(str(ca.ca_cert_path))
        self.path.setReadOnly(True)
        self.path.setFrame(False)
        self.path.setToolTip(str(ca.ca_cert_path))
        self.path.setCursorPosition(0)
        open_folder = QPushButton("Open folder")
        open_folder.clicked.connect(self.open_folder)

        self._identity = identity = QFrame()
        identity.setObjectName("identity")
        grid = QGridLayout(identity)
        grid.setContentsMargins(14, 10, 10, 10)
        grid.setHorizontalSpacing(12)
        grid.setColumnStretch(1, 1)
        rows: list[tuple[str, QWidget, QWidget | None]] = [
            ("Name", self.name, None),
            ("SHA-256", self.fingerprint, copy_fingerprint),
            ("Valid until", self.valid_until, None),
            ("File", self.path, open_folder),
        ]
        for row, (label, value, button) in enumerate(rows):
            key = QLabel(label)
            key.setStyleSheet("color: palette(placeholder-text);")
            # Top-aligned beside the two-line fingerprint, centred beside the
            # path, whose button makes the row taller than its text.
            multiline = isinstance(value, QLabel) and "\n" in value.text()
            align = Qt.AlignmentFlag.AlignTop if multiline else Qt.AlignmentFlag.AlignVCenter
            grid.addWidget(key, row, 0, align)
            grid.addWidget(value, row, 1)
            if button is not None:
                grid.addWidget(button, row, 2, Qt.AlignmentFlag.AlignTop)

        export_pem = QPushButton("Export PEM…")
        export_pem.setToolTip("Save the certificate as PEM (.pem or .crt): Linux, macOS, tools")
        export_pem.clicked.connect(lambda: self.choose_export(der=False))
        export_der = QPushButton("Export DER…")
        export_der.setToolTip("Save the certificate as DER (.cer): Windows, Android")
        export_der.clicked.connect(lambda: self.choose_export(der=True))
        copy_pem = QPushButton("Copy PEM")
        copy_pem.clicked.connect(self.copy_pem)
        actions = QHBoxLayout()
        for button in (export_pem, export_der, copy_pem):
            actions.addWidget(button)
        actions.addStretch(1)

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.hide()

        url = html.escape(onboarding_url)
        self.onboarding = QLabel(
            "With the proxy configured in the device's browser, open "
            f'<a href="{url}">{url}</a> to download the certificate.'
        )
        self.onboarding.setWordWrap(True)
        self.onboarding.setTextFormat(Qt.TextFormat.RichText)
        self.onboarding.setOpenExternalLinks(True)
        self.onboarding.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)

        self.steps = QTabWidget()
        self.steps.setDocumentMode(True)
        self._pages: list[QTextBrowser] = []
        for title_text, _ in install_steps(ca.ca_cert_path, self.ca_name, onboarding_url):
            page = QTextBrowser()
            page.setOpenExternalLinks(True)
            self._pages.append(page)
            self.steps.addTab(page, title_text)
        self.steps.setCurrentIndex(_platform_tab(sys.platform))

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)

        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addWidget(title)
        layout.addWidget(intro)
        layout.addWidget(identity)
        layout.addLayout(actions)
        layout.addWidget(self.status)
        layout.addWidget(self.onboarding)
        steps_title = QLabel("Install steps")
        steps_title.setStyleSheet("font-weight: bold;")
        layout.addSpacing(4)
        layout.addWidget(steps_title)
        layout.addWidget(self.steps, 1)
        layout.addWidget(buttons)
        self._restyle()

    # Actions

    def export_to(self, path: Path, der: bool = False) -> bool:
        """Write the certificate to ``path``; report the outcome in the dialog."""
        try:
            self._ca.export_ca(path, der)
        except CAError as exc:
            message = str(exc)
            self._show_status(message[:1].upper() + message[1:], error=True)
            return False
        except OSError as exc:
            reason = exc.strerror or str(exc)
            self._show_status(f"Cannot export the CA certificate to {path}: {reason}", error=True)
            return False
        self._export_dir = path.parent
        self._show_status(f"Saved {'DER' if der else 'PEM'} certificate to {path}")
        self.exported.emit(str(path))
        return True

    def choose_export(self, der: bool = False) -> None:
        """Ask where to export, without blocking the event loop (``open()``)."""
        suffix = "cer" if der else "pem"
        chooser = QFileDialog(
            self,
            f"Export the CA certificate ({'DER' if der else 'PEM'})",
            str(self._export_dir / f"inspector-ca.{suffix}"),
            "DER certificate (*.cer *.der *.crt)" if der else "PEM certificate (*.pem *.crt)",
        )
        chooser.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        chooser.setDefaultSuffix(suffix)
        chooser.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        chooser.fileSelected.connect(lambda chosen: self.export_to(Path(chosen), der))
        chooser.open()

    def copy_pem(self) -> None:
        QGuiApplication.clipboard().setText(self._ca.ca_cert_pem().decode("ascii"))
        self._show_status("Copied the PEM certificate to the clipboard")

    def copy_fingerprint(self) -> None:
        QGuiApplication.clipboard().setText(self._ca.ca_fingerprint())
        self._show_status("Copied the SHA-256 fingerprint to the clipboard")

    def open_folder(self) -> None:
        folder = self._ca.ca_cert_path.parent
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self._show_status(f"Could not open {folder}", error=True)

    # Looks

    def changeEvent(self, event: QEvent) -> None:
        built = hasattr(self, "_pages")
        if built and event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self._restyle()
        super().changeEvent(event)

    def _show_status(self, text: str, error: bool = False) -> None:
        self._status_is_error = error
        self.status.setText(text)
        self.status.show()
        self._restyle_status()

    def _restyle_status(self) -> None:
        if self._status_is_error:
            self.status.setStyleSheet(f"color: {danger_color(self.palette())}; font-weight: bold;")
        else:
            self.status.setStyleSheet("color: palette(placeholder-text);")

    def _restyle(self) -> None:
        palette = self.palette()
        self._identity.setStyleSheet(
            "QFrame#identity { background: palette(base); border: 1px solid palette(mid);"
            " border-left: 3px solid palette(highlight); border-radius: 4px; }"
        )
        self._restyle_status()
        code_bg = palette.color(QPalette.ColorRole.AlternateBase)
        if code_bg == palette.color(QPalette.ColorRole.Base):
            code_bg = code_bg.darker(106) if not is_dark(palette) else code_bg.lighter(140)
        steps = install_steps(self._ca.ca_cert_path, self.ca_name, self._onboarding_url)
        for page, (_, body) in zip(self._pages, steps, strict=True):
            page.setHtml(body.replace("CODE_BG", code_bg.name()))


def install_steps(path: Path, ca_name: str, onboarding_url: str) -> list[tuple[str, str]]:
    """(tab title, HTML) per system, browser and tool. Code blocks use the
    placeholder ``CODE_BG`` for their background, filled from the palette."""
    posix = shlex.quote(str(path))
    windows = f'"{path}"'
    name = f"<b>{html.escape(ca_name)}</b>"
    url = html.escape(onboarding_url)
    link = f'<a href="{url}">{url}</a>'
    if sys.platform == "win32":
        env = [f'$env:{var} = "{path}"' for var in ("REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")]
    else:
        env = [f"export {var}={posix}" for var in ("REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")]
    return [
        (
            "macOS",
            _p(
                "Open <b>Keychain Access</b>, drag the certificate file into the <b>System</b>"
                " keychain, double-click "
                + name
                + ", open <b>Trust</b> and set <i>When using this certificate</i> to"
                " <b>Always Trust</b>."
            )
            + _p("Or in Terminal:")
            + _code(
                "sudo security add-trusted-cert -d -r trustRoot"
                f" -k /Library/Keychains/System.keychain {posix}"
            )
            + _p("Safari, Chrome and Edge use the keychain. Firefox: see its tab."),
        ),
        (
            "Windows",
            _p("In a Command Prompt or PowerShell run as administrator:")
            + _code(f"certutil -addstore -f ROOT {windows}")
            + _p("For your account only, without administrator rights:")
            + _code(f"certutil -user -addstore -f ROOT {windows}")
            + _p(
                "Or: <b>Export DER…</b> as <i>inspector-ca.cer</i>, double-click it →"
                " <b>Install Certificate…</b> → <i>Place all certificates in the following"
                " store</i> → <b>Trusted Root Certification Authorities</b> → Finish."
            )
            + _p("Chrome and Edge use this store. Firefox: see its tab."),
        ),
        (
            "Linux",
            _p("Debian, Ubuntu and their derivatives:")
            + _code(
                f"sudo cp {posix} /usr/local/share/ca-certificates/inspector.crt"
                " && sudo update-ca-certificates"
            )
            + _p("Fedora, RHEL, Arch, openSUSE:")
            + _code(f"sudo trust anchor {posix}")
            + _p(
                "This covers curl, wget and most system tools. Firefox and Chrome keep"
                " their own store on Linux: see their tabs."
            ),
        ),
        (
            "Firefox",
            _p("Firefox has its own certificate store on every system:")
            + _p(
                "<b>Settings</b> → <b>Privacy &amp; Security</b> → <b>Certificates</b> →"
                " <b>View Certificates…</b> → <b>Authorities</b> → <b>Import…</b>, choose the"
                " certificate file and tick <i>Trust this CA to identify websites</i>."
            ),
        ),
        (
            "Chrome / Edge",
            _p(
                "On macOS and Windows, Chrome and Edge trust the system store: follow the"
                " macOS or Windows steps, then restart the browser."
            )
            + _p(
                "On Linux: <b>chrome://settings/certificates</b> → <b>Authorities</b> →"
                " <b>Import</b>, choose the certificate file and tick <i>Trust this"
                " certificate for identifying websites</i>."
            ),
        ),
        (
            "Android / iOS",
            _p(
                "Point the device's Wi-Fi proxy at this computer and Inspector's port (allow"
                f" other machines to connect in Settings), then open {link} in its browser."
            )
            + _p(
                "<b>Android</b>: Settings → Security → Encryption &amp; credentials → Install a"
                " certificate → <b>CA certificate</b>. Chrome trusts it; apps do only if"
                " their network security config allows user CAs (Android 7 and later)."
            )
            + _p(
                "<b>iOS / iPadOS</b>: download the profile in Safari, install it in Settings →"
                " General → VPN &amp; Device Management, then turn on full trust for "
                + name
                + " in Settings → General → About → Certificate Trust Settings."
            ),
        ),
        (
            "Tools",
            _p("<b>curl</b> (with <code>-x</code> or <code>HTTPS_PROXY</code> set):")
            + _code(f"curl --cacert {posix if sys.platform != 'win32' else windows} URL")
            + _p("<b>Python requests</b> (replaces its default bundle):")
            + _code(env[0])
            + _p("<b>Node.js</b> (added to its built-in CAs):")
            + _code(env[1]),
        ),
    ]


def _p(inner: str) -> str:
    return f"<p>{inner}</p>"


def _code(command: str) -> str:
    # QTextDocument pads table cells but not paragraphs, hence the table.
    return (
        '<table width="100%" cellspacing="0" cellpadding="6"'
        ' style="background-color: CODE_BG; border-style: none">'
        f"<tr><td><code>{html.escape(command)}</code></td></tr></table>"
    )


def _platform_tab(platform: str) -> int:
    if platform == "darwin":
        return 0
    if platform == "win32":
        return 1
    return 2


def _selectable(text: str) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(
        Qt.TextInteractionFlag.TextSelectableByMouse
        | Qt.TextInteractionFlag.TextSelectableByKeyboard
    )
    return label


def _two_lines(fingerprint: str) -> str:
    """32 hex pairs are 95 characters; two lines of 16 pairs fit a dialog."""
    pairs = fingerprint.split(":")
    half = (len(pairs) + 1) // 2
    return ":".join(pairs[:half]) + ":\n" + ":".join(pairs[half:])


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = names[0].value if names else cert.subject.rfc4514_string()
    return value if isinstance(value, str) else value.decode("utf-8", "replace")
