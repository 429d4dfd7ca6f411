"""The pure parts of launching: the SPKI hash Chromium is given, its
arguments and Firefox's prefs, the environment lines for each shell (read
back by a real shell), and where each client is looked for."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from inspector.core import launch_clients as C
from inspector.core.certs import CertStore
from inspector.core.launch_args import (
    certutil_commands,
    chromium_args,
    firefox_prefs,
    spki_hash,
)
from inspector.core.launch_env import bundle_text, client_env, env_lines, quote


def test_spki_hash_matches_openssl(tmp_path: pytest.TempPathFactory) -> None:
    with CertStore.load_or_create(tmp_path) as store:  # type: ignore[arg-type]
        pem = store.ca_cert_pem()
        path = store.ca_cert_path
    der = (
        x509.load_pem_x509_certificate(pem)
        .public_key()
        .public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    )
    assert spki_hash(pem) == base64.b64encode(hashlib.sha256(der).digest()).decode()
    if shutil.which("openssl"):
        key = subprocess.run(
            ["openssl", "x509", "-in", str(path), "-pubkey", "-noout"], capture_output=True
        ).stdout
        der_openssl = subprocess.run(
            ["openssl", "pkey", "-pubin", "-outform", "der"], input=key, capture_output=True
        ).stdout
        assert base64.b64encode(hashlib.sha256(der_openssl).digest()).decode() == spki_hash(pem)


def test_chromium_args() -> None:
    args = chromium_args("/bin/chromium", "/p", "127.0.0.1:9", "HASH=", ["--headless=new"])
    assert args[0] == "/bin/chromium" and args[-1] == "--headless=new"
    for wanted in (
        "--user-data-dir=/p",
        "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
        "--ignore-certificate-errors-spki-list=HASH=",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
    ):
        assert wanted in args
    assert not any("remote-debugging" in a for a in args)
    assert "--no-sandbox" not in args
    assert "--no-sandbox" in chromium_args("c", "/p", "h:1", "x", [], root=True)


def test_firefox_prefs() -> None:
    prefs = firefox_prefs("127.0.0.1", 8080)
    for line in (
        'user_pref("network.proxy.type", 1);',
        'user_pref("network.proxy.http", "127.0.0.1");',
        'user_pref("network.proxy.http_port", 8080);',
        'user_pref("network.proxy.ssl", "127.0.0.1");',
        'user_pref("network.proxy.ssl_port", 8080);',
        'user_pref("network.proxy.allow_hijacking_localhost", true);',
        'user_pref("network.proxy.no_proxies_on", "");',
    ):
        assert line in prefs.splitlines()
    assert "enterprise_roots" not in prefs
    add = certutil_commands("certutil", "/p", "/ca.pem")[1]
    assert add[:4] == ["certutil", "-A", "-d", "sql:/p"] and "C,," in add


def test_env_names() -> None:
    env = client_env("127.0.0.1:9", "/b.pem", "/ca.pem")
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        assert env[name] == "http://127.0.0.1:9"
    assert env["no_proxy"] == env["NO_PROXY"] == ""
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO"):
        assert env[name] == "/b.pem"
    assert env["AWS_CA_BUNDLE"] == "/b.pem" and env["NODE_EXTRA_CA_CERTS"] == "/ca.pem"


AWKWARD = ["plain", "", "it's", "a b", "$HOME `x` \\n", "'''", "new\nline", "ünï"]


@pytest.mark.parametrize("value", AWKWARD)
def test_sh_lines_read_back_by_sh(value: str) -> None:
    lines = env_lines({"X_TEST": value}, "sh")
    out = subprocess.run(
        ["sh", "-c", lines[0] + '\nprintf %s "$X_TEST"'], capture_output=True, text=True
    )
    assert out.stdout == value


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
@pytest.mark.parametrize("value", AWKWARD)
def test_fish_lines_read_back_by_fish(value: str) -> None:
    line = env_lines({"X_TEST": value}, "fish")[0]
    out = subprocess.run(
        ["fish", "-c", line + "; printf %s $X_TEST"], capture_output=True, text=True
    )
    assert out.stdout == value


@pytest.mark.parametrize(
    ("shell", "value", "quoted"),
    [
        ("sh", "it's", "'it'\\''s'"),
        ("fish", "it's \\", "'it\\'s \\\\'"),
        ("powershell", "it's $x", "'it''s $x'"),
        ("powershell", "a\u2019b", "'a\u2019\u2019b'"),
    ],
)
def test_quoting(shell: str, value: str, quoted: str) -> None:
    assert quote(value, shell) == quoted


def test_line_shapes_and_an_unknown_shell() -> None:
    env = {"A": "1"}
    assert env_lines(env, "sh") == ["export A='1'"]
    assert env_lines(env, "fish") == ["set -gx A '1'"]
    assert env_lines(env, "powershell") == ["$env:A = '1'"]
    with pytest.raises(ValueError, match="tcsh"):
        env_lines(env, "tcsh")


def test_bundle_text() -> None:
    text = bundle_text("SYSTEM", "-----CA-----\n")
    assert text.startswith("SYSTEM\n") and text.endswith("-----CA-----\n")


def _which(found: dict[str, str]) -> C.Which:
    return found.get


@pytest.mark.parametrize(
    ("client", "platform", "which", "files", "env", "expected"),
    [
        (C.CHROMIUM, "linux", {"chromium-browser": "/u/cb"}, [], {}, "/u/cb"),
        (C.CHROME, "linux", {"google-chrome-stable": "/g"}, [], {}, "/g"),
        (C.EDGE, "linux", {}, [], {}, None),
        (C.FIREFOX, "linux", {"firefox-esr": "/f"}, [], {}, "/f"),
        (C.TERMINAL, "linux", {"xterm": "/x", "konsole": "/k"}, [], {}, "/k"),
        (
            C.CHROME,
            "darwin",
            {},
            ["/h/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"],
            {"HOME": "/h"},
            "/h/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
        ),
        (C.TERMINAL, "darwin", {}, [], {}, "/usr/bin/open"),
        (
            C.EDGE,
            "win32",
            {},
            [r"C:\PF86\Microsoft\Edge\Application\msedge.exe"],
            {"PROGRAMFILES": r"C:\PF", "PROGRAMFILES(X86)": r"C:\PF86"},
            r"C:\PF86\Microsoft\Edge\Application\msedge.exe",
        ),
        (C.BRAVE, "win32", {}, [], {"PROGRAMFILES": r"C:\PF"}, None),
    ],
)
def test_find(
    client: C.Client,
    platform: str,
    which: dict[str, str],
    files: list[str],
    env: dict[str, str],
    expected: str | None,
) -> None:
    assert C.find(client, platform, _which(which), files.__contains__, env) == expected


def test_looked_for_names_the_places() -> None:
    assert C.looked_for(C.CHROMIUM, "linux") == "chromium, chromium-browser on PATH"
    assert "/Applications/Firefox.app" in C.looked_for(C.FIREFOX, "darwin")
    assert "msedge.exe" in C.looked_for(C.EDGE, "win32")


@pytest.mark.parametrize(
    ("terminal", "expected"),
    [
        ("/usr/bin/gnome-terminal", ["/usr/bin/gnome-terminal", "--", "env", "sh"]),
        ("/usr/bin/xfce4-terminal", ["/usr/bin/xfce4-terminal", "-x", "env", "sh"]),
        ("/usr/bin/kitty", ["/usr/bin/kitty", "env", "sh"]),
        ("/usr/bin/xterm", ["/usr/bin/xterm", "-e", "env", "sh"]),
        ("/usr/bin/x-terminal-emulator", ["/usr/bin/x-terminal-emulator", "-e", "env", "sh"]),
    ],
)
def test_terminal_command(terminal: str, expected: list[str]) -> None:
    assert C.terminal_command(terminal, ["env", "sh"]) == expected
