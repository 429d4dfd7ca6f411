"""Host patterns: a table of what matches, a table of what is refused, and
properties over generated host names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspector.core.hostmatch import HostPatternError, HostPatterns

MATCHES: list[tuple[str, str, int, bool]] = [
    # plain names match every port, and only themselves
    ("localhost", "localhost", 80, True),
    ("localhost", "localhost", 8443, True),
    ("localhost", "localhost.localdomain", 80, False),
    ("example.com", "www.example.com", 443, False),
    ("example.com", "notexample.com", 443, False),
    # case and a trailing dot do not matter, on either side
    ("Example.COM", "example.com", 443, True),
    ("example.com", "EXAMPLE.com.", 443, True),
    ("example.com.", "example.com", 443, True),
    # *. matches any depth below the apex, not the apex itself
    ("*.example.com", "sub.example.com", 443, True),
    ("*.example.com", "a.b.example.com", 443, True),
    ("*.example.com", "example.com", 443, False),
    ("*.example.com", "badexample.com", 443, False),
    ("*.example.com", "sub.example.com.evil", 443, False),
    ("example.com, *.example.com", "example.com", 443, True),
    # * elsewhere in a name, and alone
    ("api-*.example.com", "api-eu.example.com", 443, True),
    ("api-*.example.com", "api-.example.com", 443, True),
    ("api-*.example.com", "www.example.com", 443, False),
    ("*", "anything.at.all", 1, True),
    ("*", "::1", 1, True),
    ("10.0.*", "10.0.3.7", 443, True),
    ("10.0.*", "10.1.3.7", 443, False),
    # ports
    ("example.com:8443", "example.com", 8443, True),
    ("example.com:8443", "example.com", 443, False),
    ("*.example.com:8443", "a.example.com", 8443, True),
    ("*.example.com:8443", "a.example.com", 443, False),
    ("*:8443", "anything", 8443, True),
    ("*:8443", "anything", 443, False),
    ("example.com:443 *.example.com", "example.com", 80, False),
    ("example.com:443 *.example.com", "x.example.com", 80, True),
    # IPv4
    ("127.0.0.1", "127.0.0.1", 80, True),
    ("127.0.0.1:8080", "127.0.0.1", 8080, True),
    ("127.0.0.1:8080", "127.0.0.2", 8080, False),
    # IPv6: brackets optional without a port, any spelling of the address
    ("::1", "::1", 443, True),
    ("::1", "[::1]", 443, True),
    ("[::1]", "0:0:0:0:0:0:0:1", 443, True),
    ("[::1]:8080", "::1", 8080, True),
    ("[::1]:8080", "::1", 8081, False),
    ("[2001:DB8::1]", "2001:db8:0:0::1", 443, True),
    ("2001:db8::1", "2001:db8::2", 443, False),
    # international names compare in their A-label form
    ("bücher.example", "xn--bcher-kva.example", 443, True),
    ("*.bücher.example", "shop.xn--bcher-kva.example", 443, True),
    ("xn--bcher-kva.example", "BÜCHER.example", 443, True),
    # no patterns, nothing matches
    ("", "localhost", 80, False),
]


@pytest.mark.parametrize(("text", "host", "port", "expected"), MATCHES)
def test_matches(text: str, host: str, port: int, expected: bool) -> None:
    assert HostPatterns.parse(text).matches(host, port) is expected


INVALID: list[tuple[str, str]] = [
    ("a..b", "empty label"),
    (".example.com", "empty label"),
    ("example.com:", "bad port"),
    ("example.com:0", "bad port"),
    ("example.com:65536", "bad port"),
    ("example.com:http", "bad port"),
    ("example.com:80:81", "not an IPv6 address"),
    ("example.com:" + "9" * 5000, "bad port"),
    (":8080", "no host"),
    ("exa$mple.com", "'$' is not allowed"),
    ("http://example.com", "not a URL"),
    ("example.com/path", "'/' is not allowed"),
    ("a" * 64 + ".com", "longer than 63"),
    (".".join(["a" * 63] * 4) + ".com", "longer than 253"),
    ("[::1", "expected [IPv6 address]"),
    ("[::1]8080", "expected [IPv6 address]"),
    ("[example.com]:80", "not an IPv6 address"),
    ("[::1]:99999", "bad port"),
    ("fe80::zz", "not an IPv6 address"),
]


@pytest.mark.parametrize(("text", "reason"), INVALID)
def test_invalid_pattern_names_itself_and_the_reason(text: str, reason: str) -> None:
    with pytest.raises(HostPatternError, match="invalid host pattern") as excinfo:
        HostPatterns.parse(f"good.example, {text}")
    message = str(excinfo.value)
    assert repr(text) in message and reason in message
    assert isinstance(excinfo.value, ValueError)


def test_separators_are_commas_and_any_whitespace() -> None:
    patterns = HostPatterns.parse(" a.test,b.test\n\tc.test ,, d.test\r\n")
    assert patterns.patterns == ("a.test", "b.test", "c.test", "d.test")
    assert len(patterns) == 4 and patterns


def test_patterns_are_normalized_and_deduplicated() -> None:
    patterns = HostPatterns.parse("Example.com. example.com [::1] [0:0::1]:80 ::1 ::1:80")
    assert patterns.patterns == ("example.com", "[::1]", "[::1]:80", "[::1:80]")
    assert str(patterns) == "example.com, [::1], [::1]:80, [::1:80]"
    assert HostPatterns.parse(str(patterns)) == patterns


def test_empty_text_is_no_patterns() -> None:
    patterns = HostPatterns.parse(" , ")
    assert not patterns and len(patterns) == 0 and str(patterns) == ""
    assert HostPatterns() == patterns


_LABEL = st.from_regex(r"[a-z0-9_][a-z0-9_-]{0,20}", fullmatch=True)
_HOSTS = st.lists(_LABEL, min_size=1, max_size=5).map(".".join)
_PORTS = st.integers(min_value=1, max_value=65535)


@given(host=_HOSTS, port=_PORTS, other=_PORTS)
def test_a_host_matches_itself_on_any_port_or_its_own(host: str, port: int, other: int) -> None:
    assert HostPatterns.parse(host).matches(host.upper(), other)
    with_port = HostPatterns.parse(f"{host}:{port}")
    assert with_port.matches(host, port)
    assert with_port.matches(host, other) is (other == port)


@given(host=_HOSTS, sub=_LABEL, port=_PORTS)
def test_wildcard_covers_subdomains_but_not_the_apex(host: str, sub: str, port: int) -> None:
    patterns = HostPatterns.parse(f"*.{host}")
    assert patterns.matches(f"{sub}.{host}", port)
    assert patterns.matches(f"{sub}.{sub}.{host}", port)
    assert not patterns.matches(host, port)
    assert not patterns.matches(f"{sub}{host}", port)


@given(text=st.text(max_size=40))
def test_parse_either_works_or_raises_host_pattern_error(text: str) -> None:
    try:
        patterns = HostPatterns.parse(text)
    except HostPatternError:
        return
    assert HostPatterns.parse(str(patterns)) == patterns
    for pattern in patterns.patterns:
        assert isinstance(patterns.matches(pattern, 443), bool)
