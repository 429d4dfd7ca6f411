"""The CA as an engine describes it to its window: the certificate and
where it lives, enough to show, copy and export it. The private key never
leaves the engine.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from inspector.core.ca import CAError, write_atomically


class PublishedCA:
    def __init__(self, path: Path, pem: bytes) -> None:
        try:
            self._cert = x509.load_pem_x509_certificate(pem)
        except ValueError as exc:
            raise CAError(f"the engine sent an unreadable CA certificate: {exc}") from None
        self._path = path
        self._pem = pem

    @classmethod
    def from_hello(cls, ca: Any) -> PublishedCA:
        """From a hello's ``ca``; CAError with the engine's reason when it
        has no usable CA."""
        if not isinstance(ca, dict):
            raise CAError("the engine described no CA")
        if isinstance(ca.get("error"), str):
            raise CAError(ca["error"])
        path, pem = ca.get("path"), ca.get("pem")
        if not isinstance(path, str) or not isinstance(pem, str):
            raise CAError("the engine described no CA")
        if not pem.isascii():
            raise CAError("the engine sent an unreadable CA certificate: it is not ASCII")
        return cls(Path(path), pem.encode("ascii"))

    @property
    def ca_cert_path(self) -> Path:
        return self._path

    def ca_fingerprint(self) -> str:
        """As ``CertificateAuthority.fingerprint`` spells it."""
        return hashlib.sha256(self.ca_cert_der()).digest().hex(":").upper()

    def ca_cert_pem(self) -> bytes:
        return self._pem

    def ca_cert_der(self) -> bytes:
        return self._cert.public_bytes(serialization.Encoding.DER)

    def export_ca(self, path: Path, der: bool = False) -> None:
        try:
            write_atomically(path, self.ca_cert_der() if der else self._pem, 0o644)
        except OSError as exc:
            raise CAError(f"cannot export the CA certificate to {path}: {exc.strerror}") from None
