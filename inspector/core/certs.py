"""Leaf certificates for intercepted HTTPS, and the TLS contexts serving them.

``CertStore`` signs a certificate for each host name (or IP address) a client
asks for, with the local CA from ``inspector.core.ca``, and caches the ready
server-side ``ssl.SSLContext`` per name: building a context (OpenSSL context
setup plus parsing the chain and key) costs more than signing. Every leaf of
a run shares one key, made when the store is, so issuing never waits for key
generation (DESIGN.md, "HTTPS interception"). The store is thread-safe, for
an engine on a thread of its own while others read the CA.

``ssl.SSLContext.load_cert_chain`` reads only files, so each context is
loaded from a file in a private directory (mode 0o700, made once per store,
under ``$XDG_RUNTIME_DIR`` when there is one, which is memory-backed) that is
deleted as soon as it is loaded. The leaf key in that file is encrypted
(PEM ``Proc-Type`` with AES-256) under a random password that lives only in
this process, so not even a crash between writing and deleting leaves a
usable key on disk. That PEM form derives its AES key with one MD5 round,
which is weak only for guessable passwords; ours is 32 random bytes.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import itertools
import os
import re
import secrets
import shutil
import ssl
import tempfile
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from inspector.core.ca import (
    CLOCK_SKEW,
    CertificateAuthority,
    PrivateKey,
    generate_key,
    key_type_of,
)

LEAF_VALIDITY = datetime.timedelta(days=180)
"""From ``not_before`` (two days back, ``CLOCK_SKEW``) to ``not_after``.
Apple and Chrome cap public leaves at 398 days, and the CA/Browser Forum
(ballot SC-081) lowers that to 200 days from March 2026, then 100 and 47;
180 stays under the 200-day step, and a run never lasts that long (cached
contexts are renewed before expiry anyway)."""

CONTEXT_CACHE_SIZE = 1024
"""Names whose contexts are kept. A browsing session touches a few hundred
hosts; one context holds a few kilobytes, so 1024 bounds memory at a few
MB while keeping every live host cached."""

LEAF_ORGANIZATION = "Inspector"
ALPN_PROTOCOLS = ["http/1.1"]
"""The engine speaks HTTP/1.1 only inside a tunnel; offering h2 would make
clients send frames it cannot parse."""

MINIMUM_TLS = ssl.TLSVersion.TLSv1_2
"""TLS 1.0 and 1.1 are deprecated (RFC 8996) and gone from every browser."""

_CN_LIMIT = 64
"""RFC 5280's upper bound on commonName; clients match the SAN, never a
commonName next to one (RFC 6125 section 6.4.4), so truncation is harmless."""

_LABEL = re.compile(r"[a-z0-9_-]{1,63}")
"""Letters, digits and hyphens (RFC 1123), plus the underscore real hosts use."""


class HostNameError(ValueError):
    """The name is neither a host name nor an IP address."""


class CertStore:
    def __init__(
        self,
        ca: CertificateAuthority,
        *,
        leaf_key_type: str | None = None,
        cache_size: int = CONTEXT_CACHE_SIZE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``leaf_key_type`` defaults to the CA's: an RSA CA exists for
        clients without ECDSA, and those need an RSA leaf as well. ``clock``
        (POSIX seconds) dates leaves and decides when a cached one is renewed."""
        if cache_size < 1:
            raise ValueError(f"cache_size must be positive, got {cache_size}")
        self._ca = ca
        self._leaf_key: PrivateKey = generate_key(leaf_key_type or ca.key_type)
        self._cache_size = cache_size
        self._cache: OrderedDict[str, tuple[ssl.SSLContext, float]] = OrderedDict()
        self._clock = clock
        # Reentrant: build_context is public and takes it for the scratch
        # directory, and server_context calls it holding the lock.
        self._lock = threading.RLock()
        self._issuer = ca.cert.subject
        self._leaf_ski = x509.SubjectKeyIdentifier.from_public_key(self._leaf_key.public_key())
        try:
            self._aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                ca.subject_key_identifier
            )
        except x509.ExtensionNotFound:
            self._aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key())
        self._password = secrets.token_bytes(32)
        self._chain_tail = ca.cert_pem() + self._leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.BestAvailableEncryption(self._password),
        )
        self._scratch: Path | None = None
        self._cleanup: weakref.finalize[[str], CertStore] | None = None
        self._serial = itertools.count()

    @classmethod
    def load_or_create(
        cls, directory: Path, key_type: str = "ec", *, cache_size: int = CONTEXT_CACHE_SIZE
    ) -> CertStore:
        """A store on the CA in ``directory``, creating the CA there (with
        ``key_type``) on first start. Raises ``CAError`` for a broken CA."""
        return cls(CertificateAuthority.load_or_create(directory, key_type), cache_size=cache_size)

    @property
    def ca(self) -> CertificateAuthority:
        return self._ca

    @property
    def ca_cert_path(self) -> Path:
        return self._ca.cert_path

    @property
    def ca_key_path(self) -> Path:
        return self._ca.key_path

    def ca_fingerprint(self) -> str:
        return self._ca.fingerprint()

    def ca_cert_pem(self) -> bytes:
        return self._ca.cert_pem()

    def ca_cert_der(self) -> bytes:
        return self._ca.cert_der()

    def export_ca(self, path: Path, der: bool = False) -> None:
        """Write the CA certificate (never its key) to ``path``."""
        self._ca.export(path, der)

    def server_context(self, name: str) -> ssl.SSLContext:
        """The cached server context for ``name`` (an SNI host name, a
        CONNECT host, or an IP address, IPv6 with or without brackets),
        issuing its leaf on first use. Raises ``HostNameError``."""
        with self._lock:
            # A cache key is its own normal form, and names nearly always
            # arrive normalized (SNI is sent in lower case): skip parsing then.
            key = name if name in self._cache else _parse_name(name)[0]
            entry = self._cache.get(key)
            if entry is not None and self._clock() < entry[1]:
                self._cache.move_to_end(key)
                return entry[0]
            leaf = self.issue_leaf(key)
            context = self.build_context(leaf)
            # Renewed while clients up to CLOCK_SKEW ahead still accept it.
            renew_at = leaf.not_valid_after_utc.timestamp() - CLOCK_SKEW.total_seconds()
            self._cache[key] = (context, renew_at)
            self._cache.move_to_end(key)
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
            return context

    def issue_leaf(self, name: str) -> x509.Certificate:
        """A freshly signed leaf for ``name`` (uncached)."""
        key, san = _parse_name(name)
        now = datetime.datetime.fromtimestamp(self._clock(), datetime.UTC)
        not_before = now - CLOCK_SKEW
        not_after = min(not_before + LEAF_VALIDITY, self._ca.cert.not_valid_after_utc)
        rsa_leaf = key_type_of(self._leaf_key) == "rsa"
        key_usage = x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=rsa_leaf,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=False,
            crl_sign=False,
            encipher_only=False,
            decipher_only=False,
        )
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, key[:_CN_LIMIT]),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, LEAF_ORGANIZATION),
            ]
        )
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._issuer)
            .public_key(self._leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(key_usage, critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName([san]), critical=False)
            .add_extension(self._leaf_ski, critical=False)
            .add_extension(self._aki, critical=False)
            .sign(self._ca.key, hashes.SHA256())
        )

    def build_context(self, leaf: x509.Certificate) -> ssl.SSLContext:
        """A new (uncached) server context presenting ``leaf`` and the CA.

        ``leaf`` must carry this store's leaf key (come from ``issue_leaf``)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = MINIMUM_TLS
        context.set_alpn_protocols(ALPN_PROTOCOLS)
        path = self._scratch_dir() / f"{next(self._serial)}.pem"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(leaf.public_bytes(serialization.Encoding.PEM) + self._chain_tail)
            context.load_cert_chain(path, password=self._password)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(path)
        return context

    @property
    def leaf_key(self) -> PrivateKey:
        return self._leaf_key

    def close(self) -> None:
        """Drop cached contexts and remove the scratch directory. The store
        stays usable; it makes a new directory if asked for a context."""
        with self._lock:
            self._cache.clear()
            if self._cleanup is not None:
                self._cleanup()
            self._scratch = self._cleanup = None

    def __enter__(self) -> CertStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _scratch_dir(self) -> Path:
        with self._lock:
            if self._scratch is None:
                runtime = os.environ.get("XDG_RUNTIME_DIR")
                parent = runtime if runtime and os.path.isdir(runtime) else None
                # mkdtemp creates the directory 0o700, whatever the umask.
                path = tempfile.mkdtemp(prefix="inspector-certs-", dir=parent)
                self._cleanup = weakref.finalize(self, _remove_tree, path)
                self._scratch = Path(path)
            return self._scratch


def _remove_tree(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _parse_name(name: str) -> tuple[str, x509.GeneralName]:
    """The cache key (lower case, no trailing dot, IPs in canonical form,
    IDNs in A-labels) and the subject alternative name for ``name``."""
    text = name.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        return str(address), x509.IPAddress(address)
    host = text[:-1] if text.endswith(".") else text
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise HostNameError(f"{name!r} is not a valid host name") from None
    if len(host) > 253 or not all(_LABEL.fullmatch(label) for label in host.split(".")):
        raise HostNameError(f"{name!r} is not a valid host name")
    return host, x509.DNSName(host)
