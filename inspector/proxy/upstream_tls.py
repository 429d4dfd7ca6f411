"""The TLS context for connections to upstream servers.

Upstream certificates are verified by default, with TLS 1.2 or newer and the
host name checked, against the operating system's trust store (through
``truststore``, which a desktop user expects: their corporate or locally
added CAs just work), falling back to certifi's bundle when truststore is
unavailable. ``upstream_ca_file`` adds CAs on top (test servers, private
PKI); ``insecure_upstream`` turns verification off entirely.
"""

from __future__ import annotations

import os
import ssl
import sys

import certifi

from inspector.core.settings import ProxySettings

ALPN = ["http/1.1"]


def upstream_context(settings: ProxySettings) -> ssl.SSLContext:
    if settings.insecure_upstream:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif settings.upstream_ca_file:
        context = ssl.create_default_context()
        context.load_verify_locations(cafile=certifi.where())
        try:
            context.load_verify_locations(cafile=settings.upstream_ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(
                f"cannot load upstream CA file {settings.upstream_ca_file}: {exc}"
            ) from None
    else:
        context = _system_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(ALPN)
    return context


# Where Linux distributions keep their CA bundle; truststore reads these.
LINUX_CA_FILES = (
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
)


def _system_context() -> ssl.SSLContext:
    try:
        import truststore
    except ImportError:
        return ssl.create_default_context(cafile=certifi.where())
    if sys.platform.startswith("linux") and not any(map(os.path.exists, LINUX_CA_FILES)):
        # A system without a CA bundle (a bare container) would reject
        # every upstream; certifi's bundle is the better default there.
        return ssl.create_default_context(cafile=certifi.where())
    context: ssl.SSLContext = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return context
