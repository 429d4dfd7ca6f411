"""The local certificate authority that signs Inspector's leaf certificates.

Each install creates its own CA on first start, in the configuration
directory (``config.config_dir``: ``--confdir``, ``INSPECTOR_HOME``, or the
platform's user config directory); none is ever shipped, so trusting one
install's CA trusts nothing else. The certificate and the private key are two
PEM files. Both are written atomically (a temporary file renamed into place),
the key first and the certificate last, so a certificate on disk always has
its key and a crash leaves a whole CA or none; the key file is created owner-read-write through
``os.open``'s mode, whatever the umask. Anything wrong with existing files
becomes a ``CAError`` with a one-line message naming the file.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from inspector.core.files import make_private_dir

CA_CERT_FILE = "inspector-ca.pem"
CA_KEY_FILE = "inspector-ca-key.pem"

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

KEY_TYPES = ("ec", "rsa")
"""``ec`` is P-256: every TLS 1.2+ client verifies ECDSA P-256, and its keys
are made and used in microseconds. ``rsa`` (2048 bits) is for old clients
without ECDSA (some embedded stacks, old Java and Android); 2048 is the size
those clients accept and every policy still allows."""

RSA_KEY_SIZE = 2048
RSA_PUBLIC_EXPONENT = 65537

CA_VALIDITY = datetime.timedelta(days=3650)
"""Ten years, counted from ``not_before``. Re-trusting a CA means touching
every browser and device the user set up, so it should outlive the install;
a finite life still bounds how long a leaked key could be abused."""

CLOCK_SKEW = datetime.timedelta(days=2)
"""Certificates start this far in the past, so a client whose clock runs up
to two days (time zones plus a stale device clock) behind still accepts
them. The CA is backdated too, or a fresh CA would fail those clients."""

CA_PATH_LENGTH = 0
"""The CA signs leaves only, never another CA: should a leaf's key leak, it
cannot be used to mint certificates (RFC 5280, section 4.2.1.9)."""

CA_ORGANIZATION = "Inspector"
_CN_LIMIT = 64
"""RFC 5280's upper bound on commonName (ub-common-name)."""


class CAError(Exception):
    """The CA files could not be read, parsed, or written."""


def check_key_type(key_type: str) -> None:
    if key_type not in KEY_TYPES:
        raise ValueError(f"unknown key type {key_type!r}; expected one of {', '.join(KEY_TYPES)}")


def generate_key(key_type: str) -> PrivateKey:
    check_key_type(key_type)
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=RSA_KEY_SIZE)
    return ec.generate_private_key(ec.SECP256R1())


def key_type_of(key: PrivateKey) -> str:
    return "rsa" if isinstance(key, rsa.RSAPrivateKey) else "ec"


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclass(frozen=True, slots=True)
class CertificateAuthority:
    cert: x509.Certificate
    key: PrivateKey
    cert_path: Path
    key_path: Path

    @classmethod
    def load_or_create(cls, directory: Path, key_type: str = "ec") -> CertificateAuthority:
        """The CA in ``directory``, created there if there is none.

        ``key_type`` applies only to a new CA; an existing one is reused as
        it is. A key file without a certificate is the remains of a creation
        that crashed before its last rename, and is replaced."""
        check_key_type(key_type)
        if (directory / CA_CERT_FILE).exists():
            return cls.load(directory)
        return cls.create(directory, key_type)

    @classmethod
    def load(cls, directory: Path) -> CertificateAuthority:
        """The CA in ``directory``; ``CAError`` if it is missing or unusable."""
        cert_path = directory / CA_CERT_FILE
        key_path = directory / CA_KEY_FILE
        try:
            cert = x509.load_pem_x509_certificate(_read(cert_path))
        except (ValueError, UnsupportedAlgorithm):
            raise CAError(f"{cert_path} does not hold a PEM certificate") from None
        try:
            key = serialization.load_pem_private_key(_read(key_path), password=None)
        except TypeError:
            raise CAError(f"{key_path} is encrypted; Inspector needs it unencrypted") from None
        except (ValueError, UnsupportedAlgorithm):
            raise CAError(f"{key_path} does not hold a PEM private key") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise CAError(f"{key_path}: only EC and RSA keys are supported")
        try:
            cert_key = cert.public_key()
        except (ValueError, UnsupportedAlgorithm):
            raise CAError(f"{cert_path} holds an unsupported public key") from None
        if key.public_key() != cert_key:
            raise CAError(f"{key_path} is not the key of {cert_path}")
        try:
            constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        except (x509.ExtensionNotFound, ValueError):
            constraints = None
        if constraints is None or not constraints.ca:
            raise CAError(f"{cert_path} is not a CA certificate")
        if cert.not_valid_after_utc <= utc_now():
            raise CAError(
                f"{cert_path} expired on {cert.not_valid_after_utc:%Y-%m-%d}; "
                f"delete it and {key_path.name} to create a new CA"
            )
        return cls(cert, key, cert_path, key_path)

    @classmethod
    def create(
        cls, directory: Path, key_type: str = "ec", common_name: str | None = None
    ) -> CertificateAuthority:
        """A new CA, written to ``directory`` (replacing any CA there)."""
        key = generate_key(key_type)
        cert = _build_ca_cert(key, common_name or default_common_name())
        cert_path = directory / CA_CERT_FILE
        key_path = directory / CA_KEY_FILE
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            make_private_dir(directory)
            write_atomically(key_path, key_pem, 0o600)
            write_atomically(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
        except OSError as exc:
            raise CAError(f"cannot write the CA to {directory}: {exc.strerror}") from None
        return cls(cert, key, cert_path, key_path)

    @property
    def key_type(self) -> str:
        return key_type_of(self.key)

    @property
    def subject_key_identifier(self) -> x509.SubjectKeyIdentifier:
        return self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value

    def fingerprint(self) -> str:
        """SHA-256 of the DER certificate, as colon-separated upper-case hex
        (the form browsers and ``openssl x509 -fingerprint`` show)."""
        return hashlib.sha256(self.cert_der()).digest().hex(":").upper()

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def cert_der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    def export(self, path: Path, der: bool = False) -> None:
        """Write the certificate (never the key) to ``path``, PEM or DER."""
        try:
            write_atomically(path, self.cert_der() if der else self.cert_pem(), 0o644)
        except OSError as exc:
            raise CAError(f"cannot export the CA certificate to {path}: {exc.strerror}") from None


def default_common_name() -> str:
    """``Inspector CA (<random id> on <host>)``: the host tells the user which
    machine a trusted CA belongs to, the id tells apart two installs on it.
    (No comma: RFC 4514 would show it escaped.)"""
    tag = secrets.token_hex(3)
    host = socket.gethostname().split(".")[0]
    prefix = f"Inspector CA ({tag}"
    room = _CN_LIMIT - len(prefix) - len(" on )")
    return f"{prefix} on {host[:room]})" if host else f"{prefix})"


def _build_ca_cert(key: PrivateKey, common_name: str) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name[:_CN_LIMIT]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, CA_ORGANIZATION),
        ]
    )
    not_before = utc_now() - CLOCK_SKEW
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    key_usage = x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=CA_PATH_LENGTH), critical=True)
        .add_extension(key_usage, critical=True)
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CAError(f"{path} is missing") from None
    except OSError as exc:
        raise CAError(f"cannot read {path}: {exc.strerror}") from None


def write_atomically(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to a new file beside ``path``, flush it to disk, and
    rename it over ``path``. The file is created with ``mode`` by ``os.open``
    and chmod-ed to it, so a permissive umask cannot widen a key file."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), mode)
    try:
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX; Windows has no directory fds)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
