"""The local CA: what a new one holds, how its files are written, and that
broken files become one-line CAErrors naming the file."""

from __future__ import annotations

import datetime
import os
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from inspector.core.ca import (
    CA_CERT_FILE,
    CA_KEY_FILE,
    CAError,
    CertificateAuthority,
    default_common_name,
)


@pytest.fixture(scope="module")
def ec_ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority.load_or_create(tmp_path_factory.mktemp("ec") / "conf")


@pytest.fixture(scope="module")
def rsa_ca(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority.load_or_create(tmp_path_factory.mktemp("rsa") / "conf", "rsa")


def _copy_ca(ca: CertificateAuthority, directory: Path) -> Path:
    directory.mkdir()
    (directory / CA_CERT_FILE).write_bytes(ca.cert_path.read_bytes())
    (directory / CA_KEY_FILE).write_bytes(ca.key_path.read_bytes())
    return directory


def test_new_ca_is_a_path_length_zero_signing_ca(ec_ca: CertificateAuthority) -> None:
    cert = ec_ca.cert
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.key_cert_sign and usage.value.crl_sign
    assert not usage.value.digital_signature and not usage.value.key_encipherment
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(ec_ca.key.public_key())
    cert.verify_directly_issued_by(cert)


def test_new_ca_lives_ten_years_from_two_days_ago(ec_ca: CertificateAuthority) -> None:
    cert = ec_ca.cert
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == datetime.timedelta(days=3650)
    backdated = datetime.datetime.now(datetime.UTC) - cert.not_valid_before_utc
    assert abs(backdated - datetime.timedelta(days=2)) < datetime.timedelta(minutes=5)


def test_new_ca_names_itself_and_the_install(ec_ca: CertificateAuthority) -> None:
    subject = ec_ca.cert.subject
    [cn] = subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    [org] = subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    assert isinstance(cn.value, str) and cn.value.startswith("Inspector CA (")
    assert org.value == "Inspector"
    assert ec_ca.cert.issuer == subject
    assert len(default_common_name()) <= 64


def test_default_key_is_ec_p256(ec_ca: CertificateAuthority) -> None:
    assert isinstance(ec_ca.key, ec.EllipticCurvePrivateKey)
    assert isinstance(ec_ca.key.curve, ec.SECP256R1)
    assert ec_ca.key_type == "ec"
    assert isinstance(ec_ca.cert.signature_hash_algorithm, hashes.SHA256)


def test_rsa_2048_on_request(rsa_ca: CertificateAuthority) -> None:
    assert isinstance(rsa_ca.key, rsa.RSAPrivateKey)
    assert rsa_ca.key.key_size == 2048
    assert rsa_ca.key_type == "rsa"
    rsa_ca.cert.verify_directly_issued_by(rsa_ca.cert)


def test_unknown_key_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown key type 'dsa'"):
        CertificateAuthority.load_or_create(tmp_path, "dsa")
    assert not list(tmp_path.iterdir())


def test_key_is_owner_only_and_new_directory_private_despite_umask(tmp_path: Path) -> None:
    directory = tmp_path / "fresh" / "conf"
    old = os.umask(0)
    try:
        ca = CertificateAuthority.load_or_create(directory)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(ca.key_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(ca.cert_path).st_mode) == 0o644
    assert sorted(p.name for p in directory.iterdir()) == [CA_KEY_FILE, CA_CERT_FILE]


def test_existing_directory_keeps_its_mode(tmp_path: Path) -> None:
    directory = tmp_path / "conf"
    directory.mkdir()
    directory.chmod(0o755)
    CertificateAuthority.create(directory)
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o755


def test_key_file_is_an_unencrypted_pkcs8_pem(ec_ca: CertificateAuthority) -> None:
    pem = ec_ca.key_path.read_bytes()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert b"PRIVATE KEY" not in ec_ca.cert_path.read_bytes()


def test_second_start_reuses_the_ca(ec_ca: CertificateAuthority) -> None:
    again = CertificateAuthority.load_or_create(ec_ca.cert_path.parent, "rsa")
    assert again.fingerprint() == ec_ca.fingerprint()
    assert again.key_type == "ec", "key_type applies only to a new CA"


def test_two_installs_get_different_cas(tmp_path: Path, ec_ca: CertificateAuthority) -> None:
    other = CertificateAuthority.load_or_create(tmp_path)
    assert other.fingerprint() != ec_ca.fingerprint()
    assert other.cert.subject != ec_ca.cert.subject


def test_fingerprint_is_colon_separated_sha256(ec_ca: CertificateAuthority) -> None:
    fingerprint = ec_ca.fingerprint()
    assert fingerprint == ec_ca.cert.fingerprint(hashes.SHA256()).hex(":").upper()
    assert len(fingerprint.split(":")) == 32


def test_export_writes_the_certificate_only(tmp_path: Path, ec_ca: CertificateAuthority) -> None:
    ec_ca.export(tmp_path / "ca.pem")
    ec_ca.export(tmp_path / "ca.cer", der=True)
    assert (tmp_path / "ca.pem").read_bytes() == ec_ca.cert_pem()
    assert x509.load_der_x509_certificate((tmp_path / "ca.cer").read_bytes()) == ec_ca.cert
    assert ec_ca.cert_der() == ec_ca.cert.public_bytes(serialization.Encoding.DER)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ca.cer", "ca.pem"]


def test_key_without_certificate_is_a_crashed_creation_and_replaced(
    tmp_path: Path, ec_ca: CertificateAuthority
) -> None:
    directory = _copy_ca(ec_ca, tmp_path / "conf")
    (directory / CA_CERT_FILE).unlink()
    ca = CertificateAuthority.load_or_create(directory)
    assert ca.fingerprint() != ec_ca.fingerprint()
    assert CertificateAuthority.load(directory).fingerprint() == ca.fingerprint()


def _assert_one_line_error(excinfo: pytest.ExceptionInfo[CAError], path: Path) -> None:
    message = str(excinfo.value)
    assert str(path) in message and "\n" not in message
    error = excinfo.value
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


@pytest.mark.parametrize(
    ("victim", "content", "expected"),
    [
        (CA_CERT_FILE, b"-----BEGIN CERTIFICATE-----\nbm9wZQ==\n", "not hold a PEM certificate"),
        (CA_CERT_FILE, b"", "does not hold a PEM certificate"),
        (CA_KEY_FILE, b"garbage", "does not hold a PEM private key"),
        (CA_KEY_FILE, b"-----BEGIN PRIVATE KEY-----\n!!\n-----END PRIVATE KEY-----\n", "PEM"),
    ],
)
def test_corrupt_file_is_a_one_line_ca_error(
    tmp_path: Path, ec_ca: CertificateAuthority, victim: str, content: bytes, expected: str
) -> None:
    directory = _copy_ca(ec_ca, tmp_path / "conf")
    (directory / victim).write_bytes(content)
    with pytest.raises(CAError, match=expected) as excinfo:
        CertificateAuthority.load_or_create(directory)
    _assert_one_line_error(excinfo, directory / victim)


def test_certificate_without_key_is_an_error(tmp_path: Path, ec_ca: CertificateAuthority) -> None:
    directory = _copy_ca(ec_ca, tmp_path / "conf")
    (directory / CA_KEY_FILE).unlink()
    with pytest.raises(CAError, match="is missing") as excinfo:
        CertificateAuthority.load_or_create(directory)
    _assert_one_line_error(excinfo, directory / CA_KEY_FILE)


def test_key_of_another_ca_is_an_error(
    tmp_path: Path, ec_ca: CertificateAuthority, rsa_ca: CertificateAuthority
) -> None:
    directory = _copy_ca(ec_ca, tmp_path / "conf")
    (directory / CA_KEY_FILE).write_bytes(rsa_ca.key_path.read_bytes())
    with pytest.raises(CAError, match="is not the key of") as excinfo:
        CertificateAuthority.load(directory)
    _assert_one_line_error(excinfo, directory / CA_KEY_FILE)


def test_encrypted_key_is_an_error(tmp_path: Path, ec_ca: CertificateAuthority) -> None:
    directory = _copy_ca(ec_ca, tmp_path / "conf")
    encrypted = ec_ca.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    (directory / CA_KEY_FILE).write_bytes(encrypted)
    with pytest.raises(CAError, match="is encrypted"):
        CertificateAuthority.load(directory)


def _self_signed(
    key: ec.EllipticCurvePrivateKey, ca: bool, not_after: datetime.datetime
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not ours")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - datetime.timedelta(days=30))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )


@pytest.mark.parametrize(
    ("is_ca", "days_left", "expected"),
    [(False, 30, "is not a CA certificate"), (True, -1, "expired on")],
)
def test_unusable_certificate_is_an_error(
    tmp_path: Path, ec_ca: CertificateAuthority, is_ca: bool, days_left: int, expected: str
) -> None:
    assert isinstance(ec_ca.key, ec.EllipticCurvePrivateKey)
    directory = _copy_ca(ec_ca, tmp_path / "conf")
    not_after = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=days_left)
    cert = _self_signed(ec_ca.key, is_ca, not_after)
    (directory / CA_CERT_FILE).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(CAError, match=expected) as excinfo:
        CertificateAuthority.load(directory)
    _assert_one_line_error(excinfo, directory / CA_CERT_FILE)


def test_unreadable_key_is_an_error(tmp_path: Path, ec_ca: CertificateAuthority) -> None:
    directory = _copy_ca(ec_ca, tmp_path / "conf")
    # A directory in the key's place: unreadable even for root, unlike chmod 0.
    (directory / CA_KEY_FILE).unlink()
    (directory / CA_KEY_FILE).mkdir()
    with pytest.raises(CAError, match="cannot read") as excinfo:
        CertificateAuthority.load(directory)
    _assert_one_line_error(excinfo, directory / CA_KEY_FILE)


def test_unwritable_directory_is_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(CAError, match="cannot write the CA"):
        CertificateAuthority.load_or_create(blocker / "conf")
