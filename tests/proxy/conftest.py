"""Certificates for TLS tests, made once per session: the proxy's own CA,
and a separate CA standing in for the public PKI that upstream servers use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from inspector.core.certs import CertStore


@pytest.fixture(scope="session")
def proxy_certs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CertStore]:
    store = CertStore.load_or_create(tmp_path_factory.mktemp("proxy-ca"))
    yield store
    store.close()


@pytest.fixture(scope="session")
def upstream_certs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CertStore]:
    """The "public" CA that signs the test origins' certificates."""
    store = CertStore.load_or_create(tmp_path_factory.mktemp("upstream-ca"))
    yield store
    store.close()


@pytest.fixture(scope="session")
def upstream_ca_file(upstream_certs: CertStore) -> Path:
    return upstream_certs.ca_cert_path
