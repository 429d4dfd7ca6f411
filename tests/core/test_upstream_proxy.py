"""The upstream proxy setting: parsing, masking, and the route each
connection takes, by tables."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from inspector.core.config import SETTINGS_FILE, load_settings, save_settings
from inspector.core.settings import ProxySettings, RelaySettings, Settings, check_settings
from inspector.core.upstream_proxy import (
    DEFAULT_BYPASS,
    DIRECT,
    UpstreamProxy,
    UpstreamProxyError,
    mask,
    parse_bypass,
    parse_upstream_proxy,
    route,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://proxy.corp:3128", UpstreamProxy("proxy.corp", 3128)),
        ("proxy.corp:3128", UpstreamProxy("proxy.corp", 3128)),
        ("HTTP://10.0.0.1:8080/", UpstreamProxy("10.0.0.1", 8080)),
        ("http://[::1]:3128", UpstreamProxy("::1", 3128)),
        ("http://bob:s3cret@p:1", UpstreamProxy("p", 1, "bob", "s3cret")),
        ("http://bob:a%40b%3Ac@p:1", UpstreamProxy("p", 1, "bob", "a@b:c")),
        ("http://bob:p@ss@p:1", UpstreamProxy("p", 1, "bob", "p@ss")),
        ("http://bob@p:1", UpstreamProxy("p", 1, "bob", "")),
    ],
)
def test_parse(text: str, expected: UpstreamProxy) -> None:
    assert parse_upstream_proxy(text) == expected


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("https://u:hunter2@p:1", "only http://"),
        ("socks5://p:1080", "only http://"),
        ("http://u:hunter2@p", "needs a port"),
        ("http://u:hunter2@p:0", "bad port"),
        ("http://u:hunter2@p:99999", "bad port"),
        ("http://u:hunter2@p:x", "bad port"),
        ("http://u:hunter2@p:1/path", "no path"),
        ("http://:hunter2@p:1", "empty user name"),
        ("http://u:hunter2@:1", "no host"),
        ("http://u:hunter2@[::1:1", "IPv6"),
    ],
)
def test_bad_values_are_refused_without_the_password(text: str, complaint: str) -> None:
    with pytest.raises(UpstreamProxyError) as caught:
        parse_upstream_proxy(text)
    assert complaint in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_credentials_stay_out_of_every_text() -> None:
    proxy = parse_upstream_proxy("http://bob:hunter2@p:1")
    assert proxy.authorization == b"Basic Ym9iOmh1bnRlcjI="
    for text in (str(proxy), repr(proxy), proxy.authority):
        assert "hunter2" not in text
    assert str(proxy) == "http://bob:****@p:1"
    assert mask("http://bob:hunter2@p:1") == "http://bob:****@p:1"
    assert mask("http://bob:hunter2@p") == "****"
    assert mask("http://p:1") == "http://p:1"
    assert parse_upstream_proxy("http://p:1").authorization is None


def test_check_settings_refuses_a_bad_upstream_proxy_without_its_password() -> None:
    settings = ProxySettings(upstream_proxy="ftp://u:hunter2@p:1")
    with pytest.raises(ValueError, match="only http://") as caught:
        check_settings(settings, RelaySettings())
    assert "hunter2" not in str(caught.value)
    with pytest.raises(ValueError, match="upstream bypass"):
        check_settings(ProxySettings(upstream_bypass="a/b"), RelaySettings())
    check_settings(ProxySettings(upstream_proxy="http://p:1", upstream_bypass=""), RelaySettings())


PROXY = UpstreamProxy("p", 3128)


@pytest.mark.parametrize(
    ("scheme", "host", "port", "tunnel", "via", "absolute"),
    [
        ("http", "example.com", 80, False, PROXY, True),
        ("http", "example.com", 80, True, PROXY, False),  # a WebSocket
        ("https", "example.com", 443, False, PROXY, False),
        ("https", "example.com", 443, True, PROXY, False),  # passthrough
        ("http", "localhost", 80, False, None, False),
        ("http", "api.localhost", 80, False, None, False),
        ("https", "127.0.0.1", 8443, False, None, False),
        ("http", "127.1.2.3", 80, False, None, False),
        ("http", "::1", 80, False, None, False),
        ("http", "[::1]", 80, False, None, False),
        ("http", "10.0.0.1", 80, False, PROXY, True),
    ],
)
def test_route_with_the_default_bypass(
    scheme: str, host: str, port: int, tunnel: bool, via: UpstreamProxy | None, absolute: bool
) -> None:
    way = route(PROXY, parse_bypass(DEFAULT_BYPASS), scheme, host, port, tunnel=tunnel)
    assert way.via == via
    assert way.absolute_form is absolute
    assert way.tunnel is (via is not None and not absolute)


def test_route_without_a_proxy_or_with_an_empty_bypass() -> None:
    assert route(None, parse_bypass(""), "http", "example.com", 80) == DIRECT
    everything = parse_bypass("")
    assert route(PROXY, everything, "http", "localhost", 80).via == PROXY
    ports = parse_bypass("intranet:8080")
    assert route(PROXY, ports, "http", "intranet", 8080) == DIRECT
    assert route(PROXY, ports, "http", "intranet", 80).via == PROXY


def test_persisted_in_a_file_only_the_user_reads(tmp_path: Path) -> None:
    settings = Settings()
    settings.proxy.upstream_proxy = "http://bob:hunter2@p:3128"
    settings.proxy.upstream_bypass = "*.corp"
    save_settings(tmp_path, settings)
    assert stat.S_IMODE((tmp_path / SETTINGS_FILE).stat().st_mode) == 0o600
    loaded, problems = load_settings(tmp_path)
    assert problems == []
    assert loaded.proxy.upstream_proxy == "http://bob:hunter2@p:3128"
    assert loaded.proxy.upstream_bypass == "*.corp"


def test_a_bad_persisted_value_is_a_problem_that_does_not_quote_it(tmp_path: Path) -> None:
    data = {"proxy": {"upstream_proxy": "https://bob:hunter2@p:1", "upstream_bypass": 7}}
    (tmp_path / SETTINGS_FILE).write_text(json.dumps(data))
    loaded, problems = load_settings(tmp_path)
    assert loaded.proxy.upstream_proxy is None
    assert loaded.proxy.upstream_bypass == DEFAULT_BYPASS
    assert len(problems) == 2 and "only http://" in problems[0]
    assert "hunter2" not in " ".join(problems)
