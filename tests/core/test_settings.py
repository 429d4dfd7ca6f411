"""Settings ranges, as the engine checks them before applying any."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from inspector.core.settings import ProxySettings, RelaySettings, check_settings, is_loopback


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("192.168.1.2", False),
        ("::", False),
        ("example.com", False),
        ("", False),
    ],
)
def test_loopback(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected


def test_the_defaults_pass() -> None:
    check_settings(ProxySettings(), RelaySettings())


BAD: list[tuple[dict[str, Any], dict[str, Any], str]] = [
    ({"listen_port": 70_000}, {}, "listen port"),
    ({"listen_port": -1}, {}, "listen port"),
    ({"listen_host": "0.0.0.0"}, {}, "allow_remote"),
    ({"listen_host": "192.168.1.2"}, {}, "allow_remote"),
    ({"max_flows": 0}, {}, "max_flows"),
    ({"body_memory_limit": 0}, {}, "body_memory_limit"),
    ({"connect_timeout": 0.0}, {}, "connect_timeout"),
    ({"client_idle_timeout": -1.0}, {}, "client_idle_timeout"),
    ({"body_capture_limit": -1}, {}, "body_capture_limit"),
    ({"shutdown_grace": -0.5}, {}, "shutdown_grace"),
    ({}, {"flush_interval_ms": 0}, "flush interval"),
    ({}, {"capacity": 0}, "capacity"),
]


@pytest.mark.parametrize(("proxy", "relay", "says"), BAD)
def test_out_of_range_is_refused_by_name(
    proxy: dict[str, Any], relay: dict[str, Any], says: str
) -> None:
    with pytest.raises(ValueError, match=says):
        check_settings(
            dataclasses.replace(ProxySettings(), **proxy),
            dataclasses.replace(RelaySettings(), **relay),
        )


def test_a_remote_address_is_fine_when_allowed() -> None:
    check_settings(ProxySettings(listen_host="0.0.0.0", allow_remote=True), RelaySettings())
    check_settings(ProxySettings(body_capture_limit=0), RelaySettings())
