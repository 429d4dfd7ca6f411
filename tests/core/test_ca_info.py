"""The CA as an engine describes it to its window: built from the hello's
``ca``, it shows, fingerprints and exports the same certificate the engine
holds, and anything else in the hello is a CAError with a reason."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from inspector.core.ca import CAError
from inspector.core.ca_info import PublishedCA
from inspector.core.certs import CertStore


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CertStore]:
    store = CertStore.load_or_create(tmp_path_factory.mktemp("ca"))
    yield store
    store.close()


def _hello_ca(certs: CertStore) -> dict[str, Any]:
    """As ``engine.build`` describes it."""
    return {
        "path": str(certs.ca_cert_path),
        "pem": certs.ca_cert_pem().decode("ascii"),
        "fingerprint": certs.ca_fingerprint(),
    }


def test_the_published_ca_is_the_engines(certs: CertStore) -> None:
    ca = PublishedCA.from_hello(_hello_ca(certs))
    assert ca.ca_cert_path == certs.ca_cert_path
    assert ca.ca_fingerprint() == certs.ca_fingerprint()
    assert ca.ca_cert_pem() == certs.ca_cert_pem()
    assert ca.ca_cert_der() == certs.ca_cert_der()


@pytest.mark.parametrize("der", [False, True])
def test_export(certs: CertStore, tmp_path: Path, der: bool) -> None:
    ca = PublishedCA.from_hello(_hello_ca(certs))
    target = tmp_path / ("ca.der" if der else "ca.pem")
    ca.export_ca(target, der=der)
    data = target.read_bytes()
    assert data == (certs.ca_cert_der() if der else certs.ca_cert_pem())
    loaded = x509.load_der_x509_certificate(data) if der else x509.load_pem_x509_certificate(data)
    assert loaded.subject == x509.load_pem_x509_certificate(certs.ca_cert_pem()).subject
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_export_to_a_missing_directory_is_a_ca_error(certs: CertStore, tmp_path: Path) -> None:
    ca = PublishedCA.from_hello(_hello_ca(certs))
    with pytest.raises(CAError, match="cannot export"):
        ca.export_ca(tmp_path / "no" / "such" / "dir" / "ca.pem")


def test_the_engines_reason_is_kept() -> None:
    reason = "cannot write the CA key; HTTPS will pass through"
    with pytest.raises(CAError) as raised:
        PublishedCA.from_hello({"error": reason})
    assert str(raised.value) == reason


@pytest.mark.parametrize(
    "ca",
    [
        None,
        "a certificate",
        ["path", "pem"],
        {},
        {"error": 5},
        {"path": "/ca.pem"},
        {"pem": "-----BEGIN CERTIFICATE-----"},
        {"path": b"/ca.pem", "pem": "x"},
        {"path": "/ca.pem", "pem": b"x"},
    ],
)
def test_a_hello_without_a_ca_is_a_ca_error(ca: Any) -> None:
    with pytest.raises(CAError, match="described no CA"):
        PublishedCA.from_hello(ca)


@pytest.mark.parametrize(
    "pem",
    [
        "",
        "not a certificate",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\nnöt ascii\n-----END CERTIFICATE-----\n",
        "☃",
    ],
    ids=["empty", "text", "bad base64 body", "non-ascii body", "non-ascii"],
)
def test_an_unreadable_certificate_is_a_ca_error(pem: str) -> None:
    with pytest.raises(CAError, match="unreadable CA certificate"):
        PublishedCA.from_hello({"path": "/ca.pem", "pem": pem})


def test_a_truncated_certificate_is_a_ca_error(certs: CertStore) -> None:
    pem = certs.ca_cert_pem().decode("ascii")
    with pytest.raises(CAError, match="unreadable"):
        PublishedCA.from_hello({"path": "/ca.pem", "pem": pem[: len(pem) // 2]})
