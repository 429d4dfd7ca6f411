"""The CA dialog: what it shows, exporting, copying, opening the folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from PySide6.QtCore import QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QTextBrowser
from pytestqt.qtbot import QtBot

from inspector.core.certs import CertStore
from inspector.gui import ca_dialog
from inspector.gui.ca_dialog import CADialog, install_steps

ONBOARDING = "http://inspector.invalid/"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> CertStore:
    return CertStore.load_or_create(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def dialog(qtbot: QtBot, store: CertStore) -> CADialog:
    dialog = CADialog(store, ONBOARDING)
    qtbot.addWidget(dialog)
    return dialog


def test_shows_fingerprint_name_and_path(dialog: CADialog, store: CertStore) -> None:
    assert dialog.fingerprint.text().replace("\n", "") == store.ca_fingerprint()
    assert dialog.path.text() == str(store.ca_cert_path)
    assert dialog.path.isReadOnly()
    assert dialog.name.text().startswith("Inspector CA (")
    assert dialog.valid_until.text()[:2] == "20"


def test_onboarding_link_is_clickable(dialog: CADialog) -> None:
    assert f'<a href="{ONBOARDING}">{ONBOARDING}</a>' in dialog.onboarding.text()
    assert "open" in dialog.onboarding.text()
    assert dialog.onboarding.openExternalLinks()


def test_install_steps_name_the_certificate_path(dialog: CADialog, store: CertStore) -> None:
    titles = [dialog.steps.tabText(i) for i in range(dialog.steps.count())]
    assert titles == [
        "macOS",
        "Windows",
        "Linux",
        "Firefox",
        "Chrome / Edge",
        "Android / iOS",
        "Tools",
    ]
    text = "\n".join(
        page.toPlainText()
        for i in range(dialog.steps.count())
        if isinstance(page := dialog.steps.widget(i), QTextBrowser)
    )
    path = str(store.ca_cert_path)
    assert f"-k /Library/Keychains/System.keychain {path}" in text
    assert f'certutil -addstore -f ROOT "{path}"' in text
    assert f"sudo cp {path} /usr/local/share/ca-certificates/inspector.crt" in text
    assert f"trust anchor {path}" in text
    assert "Trust this CA to identify websites" in text
    assert f"curl --cacert {path}" in text
    assert "REQUESTS_CA_BUNDLE" in text and "NODE_EXTRA_CA_CERTS" in text
    assert "CODE_BG" not in text


def test_install_steps_quote_paths_with_spaces() -> None:
    path = Path("/Users/ada/Library/Application Support/inspector/inspector-ca.pem")
    text = "".join(body for _, body in install_steps(path, "Inspector CA", ONBOARDING))
    assert "&#x27;/Users/ada/Library/Application Support/inspector/inspector-ca.pem&#x27;" in text


@pytest.mark.parametrize("der", [False, True])
def test_export_writes_the_certificate(
    dialog: CADialog, store: CertStore, tmp_path: Path, qtbot: QtBot, der: bool
) -> None:
    target = tmp_path / ("ca.cer" if der else "ca.pem")
    with qtbot.waitSignal(dialog.exported) as signal:
        assert dialog.export_to(target, der)
    assert signal.args == [str(target)]
    assert target.read_bytes() == (store.ca_cert_der() if der else store.ca_cert_pem())
    load = x509.load_der_x509_certificate if der else x509.load_pem_x509_certificate
    loaded = load(target.read_bytes())
    assert loaded.fingerprint(hashes.SHA256()).hex(":").upper() == store.ca_fingerprint()
    assert not dialog.status.isHidden()
    assert str(target) in dialog.status.text()


def test_export_failure_is_shown_not_raised(dialog: CADialog, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "dir" / "ca.pem"
    assert not dialog.export_to(target)
    assert not target.exists()
    assert not dialog.status.isHidden()
    assert dialog.status.text().startswith(f"Cannot export the CA certificate to {target}:")
    assert "No such file or directory" in dialog.status.text()


def test_export_under_a_file_is_shown_not_raised(dialog: CADialog, tmp_path: Path) -> None:
    # Not a permission test: the suite may run as root, which ignores modes.
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    assert not dialog.export_to(blocker / "ca.pem", der=True)
    assert "Not a directory" in dialog.status.text()


def test_file_chooser_exports_what_is_picked(
    dialog: CADialog, store: CertStore, tmp_path: Path, qtbot: QtBot
) -> None:
    dialog.choose_export(der=True)
    chooser = dialog.findChild(QFileDialog)
    assert chooser is not None and chooser.isVisible()
    assert chooser.defaultSuffix() == "cer"
    target = tmp_path / "picked.cer"
    with qtbot.waitSignal(dialog.exported):
        chooser.fileSelected.emit(str(target))
    chooser.close()
    assert target.read_bytes() == store.ca_cert_der()


def test_copy_pem_puts_it_on_the_clipboard(dialog: CADialog, store: CertStore) -> None:
    QGuiApplication.clipboard().clear()
    dialog.copy_pem()
    assert QGuiApplication.clipboard().text() == store.ca_cert_pem().decode()
    assert "clipboard" in dialog.status.text()
    dialog.copy_fingerprint()
    assert QGuiApplication.clipboard().text() == store.ca_fingerprint()


def test_open_folder_opens_the_certificate_directory(
    dialog: CADialog, store: CertStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[QUrl] = []

    class Desktop:
        @staticmethod
        def openUrl(url: QUrl) -> bool:
            opened.append(url)
            return False

    monkeypatch.setattr(ca_dialog, "QDesktopServices", Desktop)
    dialog.open_folder()
    assert [url.toLocalFile() for url in opened] == [str(store.ca_cert_path.parent)]
    assert dialog.status.text() == f"Could not open {store.ca_cert_path.parent}"
