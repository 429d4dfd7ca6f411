"""The system proxy's pure planning: what each platform gets, what is put
back and when, the state file, and which backend a desktop has."""

from __future__ import annotations

import pytest

from inspector.core.sysproxy import (
    ProxyTarget,
    Restore,
    SavedState,
    choose_backend,
    gnome_plan,
    kde_plan,
    mac_bypass_value,
    mac_commands,
    mac_plan,
    mac_proxy_value,
    mac_services,
    restore_plan,
    state_from_json,
    state_to_json,
    windows_plan,
)

TARGET = ProxyTarget("127.0.0.1", 8080)


def test_plans() -> None:
    assert gnome_plan(TARGET) == {
        "org.gnome.system.proxy mode": "'manual'",
        "org.gnome.system.proxy.http host": "'127.0.0.1'",
        "org.gnome.system.proxy.http port": "8080",
        "org.gnome.system.proxy.https host": "'127.0.0.1'",
        "org.gnome.system.proxy.https port": "8080",
        "org.gnome.system.proxy ignore-hosts": "['localhost', '127.0.0.0/8', '::1']",
    }
    assert kde_plan(TARGET) == {
        "ProxyType": "1",
        "httpProxy": "http://127.0.0.1 8080",
        "httpsProxy": "http://127.0.0.1 8080",
        "NoProxyFor": "localhost,127.0.0.1,::1",
    }
    assert kde_plan(ProxyTarget("::1", 9))["httpProxy"] == "http://[::1] 9"
    assert windows_plan(TARGET) == {
        "ProxyEnable": "1",
        "ProxyServer": "http=127.0.0.1:8080;https=127.0.0.1:8080",
        "ProxyOverride": "localhost;127.0.0.1;::1;<local>",
    }
    assert windows_plan(ProxyTarget("::1", 9))["ProxyServer"] == "http=[::1]:9;https=[::1]:9"


@pytest.mark.parametrize(
    ("host", "expected"),
    [("0.0.0.0", "127.0.0.1"), ("", "127.0.0.1"), ("::", "::1"), ("10.1.2.3", "10.1.2.3")],
)
def test_a_wildcard_listener_is_reached_on_loopback(host: str, expected: str) -> None:
    assert ProxyTarget.for_listener(host, 8080) == ProxyTarget(expected, 8080)


def test_gvariant_strings_are_quoted() -> None:
    plan = gnome_plan(ProxyTarget("it's", 1))
    assert plan["org.gnome.system.proxy.http host"] == "'it\\'s'"


SAVED = {"a": "old", "b": None}
WRITTEN = {"a": "ours", "b": "ours too"}


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        # Untouched since: everything goes back, an unset value unset again.
        ({"a": "ours", "b": "ours too"}, Restore({"a": "old", "b": None})),
        # The user changed one: nothing is restored, and it is said which.
        ({"a": "theirs", "b": "ours too"}, Restore({}, ("a",))),
        ({"a": "ours", "b": None}, Restore({}, ("b",))),
        ({"a": "x", "b": "y"}, Restore({}, ("a", "b"))),
    ],
)
def test_restore_plan(current: dict[str, str | None], expected: Restore) -> None:
    assert restore_plan(SAVED, WRITTEN, current) == expected


def test_state_file_round_trip_and_refusals() -> None:
    state = SavedState("gnome", 42, "127.0.0.1:8080", {"a": "x", "b": None}, {"a": "y"})
    assert state_from_json(state_to_json(state)) == state
    for bad in (
        "nope",
        "[]",
        '{"version": 2}',
        '{"version": 1, "backend": "gnome", "pid": "42", "target": "", "saved": {}, "written": {}}',
        '{"version": 1, "backend": "gnome", "pid": 1, "target": "", "saved": {"a": 1}, '
        '"written": {}}',
    ):
        with pytest.raises(ValueError, match=r"JSON|state file"):
            state_from_json(bad)


@pytest.mark.parametrize(
    ("platform", "desktop", "tools", "expected"),
    [
        ("darwin", "", {"networksetup"}, "macos"),
        ("darwin", "", set(), None),
        ("win32", "", set(), "windows"),
        ("linux", "KDE", {"kwriteconfig5", "gsettings"}, "kde"),
        ("linux", "KDE", {"kwriteconfig6"}, "kde"),
        ("linux", "KDE", {"gsettings"}, "gnome"),
        ("linux", "ubuntu:GNOME", {"gsettings"}, "gnome"),
        ("linux", "", {"gsettings"}, "gnome"),
        ("linux", "", set(), None),
    ],
)
def test_choose_backend(platform: str, desktop: str, tools: set[str], expected: str) -> None:
    env = {"XDG_CURRENT_DESKTOP": desktop}
    assert choose_backend(platform, env, tools.__contains__) == expected


LISTING = """An asterisk (*) denotes that a network service is disabled.
Wi-Fi
*Bluetooth PAN
USB 10/100/1000 LAN
"""


def test_mac_parsing_and_plan() -> None:
    assert mac_services(LISTING) == ["Wi-Fi", "USB 10/100/1000 LAN"]
    output = "Enabled: Yes\nServer: proxy.corp\nPort: 3128\nAuthenticated Proxy Enabled: 0\n"
    assert mac_proxy_value(output) == "on proxy.corp 3128"
    assert mac_proxy_value("Enabled: No\nServer: \nPort: 0\n") == "off  0"
    assert mac_bypass_value("There aren't any bypass domains set on Wi-Fi.\n") == ""
    assert mac_bypass_value("*.local\n169.254/16\n") == "*.local 169.254/16"
    assert mac_plan(["Wi-Fi"], TARGET) == {
        "Wi-Fi/web": "on 127.0.0.1 8080",
        "Wi-Fi/secureweb": "on 127.0.0.1 8080",
        "Wi-Fi/bypass": "localhost 127.0.0.1 ::1",
    }


def test_mac_commands_set_and_restore() -> None:
    assert mac_commands(mac_plan(["Wi-Fi"], TARGET)) == [
        ["networksetup", "-setwebproxy", "Wi-Fi", "127.0.0.1", "8080"],
        ["networksetup", "-setwebproxystate", "Wi-Fi", "on"],
        ["networksetup", "-setsecurewebproxy", "Wi-Fi", "127.0.0.1", "8080"],
        ["networksetup", "-setsecurewebproxystate", "Wi-Fi", "on"],
        ["networksetup", "-setproxybypassdomains", "Wi-Fi", "localhost", "127.0.0.1", "::1"],
    ]
    # Putting back a proxy that was configured but off, and no bypass list.
    restore = {"Wi-Fi/web": "off proxy.corp 3128", "Wi-Fi/secureweb": "off  0", "Wi-Fi/bypass": ""}
    assert mac_commands(restore) == [
        ["networksetup", "-setwebproxy", "Wi-Fi", "proxy.corp", "3128"],
        ["networksetup", "-setwebproxystate", "Wi-Fi", "off"],
        ["networksetup", "-setsecurewebproxystate", "Wi-Fi", "off"],
        ["networksetup", "-setproxybypassdomains", "Wi-Fi", "Empty"],
    ]
