"""Leaf certificates and server contexts: what a leaf holds, that clients
verifying strictly (Python 3.13 defaults, cryptography's web PKI verifier)
accept it over a real TLS handshake, and the context cache."""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import ssl
import stat
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store

from inspector.core.ca import CA_CERT_FILE, CA_KEY_FILE
from inspector.core.certs import CertStore, HostNameError

TIMEOUT = 10.0


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CertStore]:
    with CertStore.load_or_create(tmp_path_factory.mktemp("ca") / "conf") as made:
        yield made


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CertStore]:
    """Another install's store: its CA must not vouch for ours."""
    with CertStore.load_or_create(tmp_path_factory.mktemp("other") / "conf") as made:
        yield made


@pytest.fixture(scope="module")
def rsa_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CertStore]:
    with CertStore.load_or_create(tmp_path_factory.mktemp("rsa") / "conf", "rsa") as made:
        yield made


def _trusting(ca_file: Path, alpn: list[str] | None = None) -> ssl.SSLContext:
    """A client that trusts only ``ca_file``, as strict as Python 3.13's
    default context (which rejects leaves without an authority key id)."""
    context = ssl.create_default_context(cafile=ca_file)
    context.verify_flags |= ssl.VERIFY_X509_STRICT | ssl.VERIFY_X509_PARTIAL_CHAIN
    if alpn:
        context.set_alpn_protocols(alpn)
    return context


def _handshake(
    server: ssl.SSLContext, client: ssl.SSLContext, server_hostname: str
) -> tuple[str | None, dict[str, Any]]:
    """Handshake over real sockets on 127.0.0.1; the negotiated ALPN
    protocol and the peer certificate as the client saw them."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(TIMEOUT)

        def serve() -> None:
            conn, _ = listener.accept()
            conn.settimeout(TIMEOUT)
            try:
                with server.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(b"ok")
                    tls.recv(1)
            except OSError:
                pass  # the client gave up on our certificate, or hung up
            finally:
                conn.close()

        thread = threading.Thread(target=serve)
        thread.start()
        try:
            with (
                socket.create_connection(listener.getsockname(), timeout=TIMEOUT) as raw,
                client.wrap_socket(raw, server_hostname=server_hostname) as tls,
            ):
                assert tls.recv(2) == b"ok"
                peer = tls.getpeercert()
                assert peer is not None
                return tls.selected_alpn_protocol(), peer
        finally:
            thread.join(TIMEOUT)


def _ext(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.Extension[Any]:
    return cert.extensions.get_extension_for_class(kind)


# Leaf contents


@pytest.mark.parametrize(
    ("name", "san"),
    [
        ("localhost", x509.DNSName("localhost")),
        ("Example.COM.", x509.DNSName("example.com")),
        ("bücher.example", x509.DNSName("xn--bcher-kva.example")),
        ("my_host.internal", x509.DNSName("my_host.internal")),
        ("127.0.0.1", x509.IPAddress(ipaddress.ip_address("127.0.0.1"))),
        ("::1", x509.IPAddress(ipaddress.ip_address("::1"))),
        ("[2001:DB8:0::1]", x509.IPAddress(ipaddress.ip_address("2001:db8::1"))),
    ],
)
def test_leaf_names_the_host_in_its_san(store: CertStore, name: str, san: x509.GeneralName) -> None:
    leaf = store.issue_leaf(name)
    assert list(_ext(leaf, x509.SubjectAlternativeName).value) == [san]
    [cn] = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    expected = str(san.value) if isinstance(san, x509.IPAddress) else san.value
    assert cn.value == expected


def test_long_name_truncates_only_the_common_name(store: CertStore) -> None:
    name = ".".join(["a" * 60] * 4)
    leaf = store.issue_leaf(name)
    [cn] = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert cn.value == name[:64]
    assert list(_ext(leaf, x509.SubjectAlternativeName).value) == [x509.DNSName(name)]


@pytest.mark.parametrize(
    "name",
    ["", ".", "a..b", ".example.com", "bad name", "*.example.com", "x" * 64 + ".com", "a/b"],
)
def test_names_that_are_no_host_are_refused(store: CertStore, name: str) -> None:
    with pytest.raises(HostNameError, match="not a valid host name"):
        store.server_context(name)


def test_leaf_is_a_server_end_entity(store: CertStore) -> None:
    leaf = store.issue_leaf("example.com")
    constraints = _ext(leaf, x509.BasicConstraints)
    assert constraints.critical and not constraints.value.ca
    usage = _ext(leaf, x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature
    assert not usage.value.key_encipherment, "an EC key cannot encipher"
    assert not usage.value.key_cert_sign
    assert list(_ext(leaf, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert leaf.issuer == store.ca.cert.subject
    leaf.verify_directly_issued_by(store.ca.cert)


def test_leaf_has_key_identifiers_chaining_to_the_ca(store: CertStore) -> None:
    leaf = store.issue_leaf("example.com")
    ski = _ext(leaf, x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(store.leaf_key.public_key())
    aki = _ext(leaf, x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == store.ca.subject_key_identifier.digest


def test_leaf_is_backdated_two_days_and_lives_under_200(store: CertStore) -> None:
    leaf = store.issue_leaf("example.com")
    now = datetime.datetime.now(datetime.UTC)
    backdated = now - leaf.not_valid_before_utc
    assert abs(backdated - datetime.timedelta(days=2)) < datetime.timedelta(minutes=5)
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc < datetime.timedelta(days=200)
    assert leaf.not_valid_after_utc > now + datetime.timedelta(days=170)


def test_leaves_share_one_ec_key_and_differ_in_serial(store: CertStore) -> None:
    first, second = store.issue_leaf("a.example"), store.issue_leaf("b.example")
    assert first.public_key() == second.public_key() == store.leaf_key.public_key()
    assert isinstance(store.leaf_key, ec.EllipticCurvePrivateKey)
    assert isinstance(store.leaf_key.curve, ec.SECP256R1)
    assert first.serial_number != second.serial_number


def test_rsa_ca_gets_rsa_leaves_that_may_encipher(rsa_store: CertStore) -> None:
    leaf = rsa_store.issue_leaf("legacy.example")
    assert isinstance(rsa_store.leaf_key, rsa.RSAPrivateKey)
    assert rsa_store.leaf_key.key_size == 2048
    usage = _ext(leaf, x509.KeyUsage).value
    assert usage.digital_signature and usage.key_encipherment


@pytest.mark.parametrize(
    ("name", "subject"),
    [
        ("localhost", x509.DNSName("localhost")),
        ("deep.sub.example.com", x509.DNSName("deep.sub.example.com")),
        ("127.0.0.1", x509.IPAddress(ipaddress.ip_address("127.0.0.1"))),
        ("::1", x509.IPAddress(ipaddress.ip_address("::1"))),
    ],
)
@pytest.mark.parametrize("which", ["store", "rsa_store"])
def test_web_pki_verifier_accepts_the_leaf(
    request: pytest.FixtureRequest, which: str, name: str, subject: x509.DNSName | x509.IPAddress
) -> None:
    issuer: CertStore = request.getfixturevalue(which)
    verifier = PolicyBuilder().store(Store([issuer.ca.cert])).build_server_verifier(subject)
    chain = verifier.verify(issuer.issue_leaf(name), [])
    assert chain[-1] == issuer.ca.cert


def test_web_pki_verifier_rejects_another_installs_ca(
    store: CertStore, stranger: CertStore
) -> None:
    verifier = (
        PolicyBuilder()
        .store(Store([stranger.ca.cert]))
        .build_server_verifier(x509.DNSName("localhost"))
    )
    with pytest.raises(x509.verification.VerificationError):
        verifier.verify(store.issue_leaf("localhost"), [])


# TLS handshakes


def test_handshake_with_a_client_trusting_our_ca(store: CertStore) -> None:
    alpn, peer = _handshake(
        store.server_context("localhost"),
        _trusting(store.ca_cert_path, ["h2", "http/1.1"]),
        "localhost",
    )
    assert alpn == "http/1.1"
    assert ("DNS", "localhost") in peer["subjectAltName"]


def test_handshake_by_ip_address(store: CertStore) -> None:
    _, peer = _handshake(
        store.server_context("127.0.0.1"), _trusting(store.ca_cert_path), "127.0.0.1"
    )
    assert ("IP Address", "127.0.0.1") in peer["subjectAltName"]


@pytest.mark.parametrize("which", ["store", "rsa_store"])
def test_handshake_ec_and_rsa_without_alpn(request: pytest.FixtureRequest, which: str) -> None:
    issuer: CertStore = request.getfixturevalue(which)
    alpn, _ = _handshake(
        issuer.server_context("localhost"), _trusting(issuer.ca_cert_path), "localhost"
    )
    assert alpn is None


def test_client_not_trusting_our_ca_fails_verification(
    store: CertStore, stranger: CertStore
) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        _handshake(store.server_context("localhost"), _trusting(stranger.ca_cert_path), "localhost")


def test_leaf_for_another_name_fails_hostname_check(store: CertStore) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        _handshake(store.server_context("example.com"), _trusting(store.ca_cert_path), "localhost")


def test_handshake_over_memory_bios(store: CertStore) -> None:
    """The engine's mode: SSLObjects on MemoryBIOs, no socket."""
    server_in, server_out, client_in, client_out = (ssl.MemoryBIO() for _ in range(4))
    server = store.server_context("example.test").wrap_bio(server_in, server_out, server_side=True)
    client = _trusting(store.ca_cert_path, ["h2", "http/1.1"]).wrap_bio(
        client_in, client_out, server_hostname="example.test"
    )
    pending = {server, client}
    for _ in range(10):
        for side in list(pending):
            try:
                side.do_handshake()
                pending.discard(side)
            except ssl.SSLWantReadError:
                pass
        server_in.write(client_out.read())
        client_in.write(server_out.read())
        if not pending:
            break
    assert not pending
    assert server.selected_alpn_protocol() == client.selected_alpn_protocol() == "http/1.1"
    assert server.version() in ("TLSv1.2", "TLSv1.3")


def test_context_refuses_tls_below_1_2(store: CertStore) -> None:
    context = store.server_context("localhost")
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.protocol == ssl.PROTOCOL_TLS_SERVER


# The context cache


def test_same_name_same_context(store: CertStore) -> None:
    context = store.server_context("cache.example")
    assert store.server_context("cache.example") is context
    assert store.server_context("CACHE.Example.") is context
    assert store.server_context("other.example") is not context
    assert store.server_context("[::1]") is store.server_context("0:0::1")


def test_least_recently_used_context_is_evicted(store: CertStore) -> None:
    small = CertStore(store.ca, cache_size=2)
    a, b = small.server_context("a.test"), small.server_context("b.test")
    assert small.server_context("a.test") is a
    small.server_context("c.test")
    assert small.server_context("a.test") is a
    assert small.server_context("b.test") is not b
    small.close()


def test_cache_size_must_be_positive(store: CertStore) -> None:
    with pytest.raises(ValueError, match="cache_size"):
        CertStore(store.ca, cache_size=0)


def test_context_is_renewed_before_its_leaf_expires(store: CertStore) -> None:
    now = [time.time()]
    fresh = CertStore(store.ca, clock=lambda: now[0])
    context = fresh.server_context("renew.example")
    now[0] += datetime.timedelta(days=175).total_seconds()
    assert fresh.server_context("renew.example") is context
    now[0] += datetime.timedelta(days=2).total_seconds()
    renewed = fresh.server_context("renew.example")
    assert renewed is not context
    assert fresh.server_context("renew.example") is renewed
    fresh.close()


def test_concurrent_lookups_build_each_context_once(store: CertStore) -> None:
    fresh = CertStore(store.ca)
    names = [f"host{i % 8}.example" for i in range(64)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        contexts = list(pool.map(fresh.server_context, names))
    for name, context in zip(names, contexts, strict=True):
        assert context is fresh.server_context(name)
    assert len({id(c) for c in contexts}) == 8
    fresh.close()


def test_scratch_directory_is_private_empty_and_removed(
    store: CertStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    fresh = CertStore(store.ca)
    assert not list(tmp_path.iterdir()), "made only when a context is first built"
    fresh.server_context("scratch.example")
    [scratch] = tmp_path.iterdir()
    assert scratch.name.startswith("inspector-certs-")
    assert stat.S_IMODE(os.stat(scratch).st_mode) == 0o700
    assert not list(scratch.iterdir()), "each chain file is deleted once loaded"
    fresh.close()
    assert not list(tmp_path.iterdir())
    fresh.server_context("again.example")
    assert len(list(tmp_path.iterdir())) == 1
    del fresh
    assert not list(tmp_path.iterdir()), "dropped with the store"


# CA access through the store


def test_store_exposes_the_ca_files_and_fingerprint(store: CertStore, tmp_path: Path) -> None:
    assert store.ca_cert_path.name == CA_CERT_FILE
    assert store.ca_key_path.name == CA_KEY_FILE
    assert store.ca_cert_pem() == store.ca_cert_path.read_bytes()
    assert x509.load_der_x509_certificate(store.ca_cert_der()) == store.ca.cert
    assert store.ca_fingerprint() == store.ca.fingerprint()
    store.export_ca(tmp_path / "ca.der", der=True)
    assert (tmp_path / "ca.der").read_bytes() == store.ca_cert_der()


def test_store_on_a_new_directory_creates_the_ca_then_reuses_it(tmp_path: Path) -> None:
    first = CertStore.load_or_create(tmp_path / "conf")
    second = CertStore.load_or_create(tmp_path / "conf")
    assert first.ca_fingerprint() == second.ca_fingerprint()
    assert first.leaf_key.public_key() != second.leaf_key.public_key(), "one leaf key per run"


def test_leaf_never_outlives_the_ca(store: CertStore) -> None:
    near_the_end = store.ca.cert.not_valid_after_utc - datetime.timedelta(days=30)
    late = CertStore(store.ca, clock=near_the_end.timestamp)
    leaf = late.issue_leaf("late.example")
    assert leaf.not_valid_after_utc == store.ca.cert.not_valid_after_utc
