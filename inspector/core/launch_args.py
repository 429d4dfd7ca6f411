"""How a launched browser is pointed at Inspector without any change to the
system: its command line (Chromium and its kin) or its profile's prefs
(Firefox), and the CA trusted by that one profile only.

Chromium trusts the CA through ``--ignore-certificate-errors-spki-list``,
which accepts certificates whose chain contains a key with one of the
listed SPKI hashes, and only when a ``--user-data-dir`` is given: a
profile of its own. Firefox keeps its trust in the profile's own
certificate store (cert9.db), filled with NSS's ``certutil``; the
enterprise-roots pref is not an option, as it trusts the system store.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

CHROMIUM_QUIET = (
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--no-pings",
    "--disable-component-extensions-with-background-pages",
    "--disable-features=OptimizationHints,MediaRouter,Translate",
    "--metrics-recording-only",
    # No prompt to unlock the desktop's keyring for a throwaway profile.
    "--password-store=basic",
    "--use-mock-keychain",
)
"""No first-run prompts and none of the browser's own background traffic,
which would fill the capture with requests the user did not make."""
CERT_NICKNAME = "Inspector CA"


def spki_hash(pem: bytes) -> str:
    """Base64 of the SHA-256 of the certificate's DER SubjectPublicKeyInfo:
    what ``--ignore-certificate-errors-spki-list`` takes."""
    certificate = x509.load_pem_x509_certificate(pem)
    der = certificate.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode("ascii")


def chromium_args(
    executable: str, profile: str, proxy: str, spki: str, extra: list[str], root: bool = False
) -> list[str]:
    """Chromium (or Chrome, Edge, Brave) with a fresh profile, every request
    through ``proxy`` (``host:port``) loopback included, and the CA trusted
    by this profile alone. No remote debugging port: nothing else may
    drive the browser. As ``root`` (a container, a CI machine) Chromium
    refuses to start with its sandbox, so it goes without."""
    return [
        executable,
        *(["--no-sandbox"] if root else []),
        f"--user-data-dir={profile}",
        f"--proxy-server=http://{proxy}",
        # Chromium bypasses the proxy for loopback unless told not to.
        "--proxy-bypass-list=<-loopback>",
        f"--ignore-certificate-errors-spki-list={spki}",
        *CHROMIUM_QUIET,
        *extra,
    ]


def firefox_args(executable: str, profile: str, extra: list[str]) -> list[str]:
    """Firefox on its own profile, as a new instance beside any running one."""
    return [executable, "--profile", profile, "--no-remote", "--new-instance", *extra]


def _pref_value(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def firefox_prefs(host: str, port: int) -> str:
    """The profile's user.js: the proxy for HTTP and HTTPS, loopback
    included, and no first-run pages or background requests."""
    prefs: list[tuple[str, str | int | bool]] = [
        ("network.proxy.type", 1),
        ("network.proxy.http", host),
        ("network.proxy.http_port", port),
        ("network.proxy.ssl", host),
        ("network.proxy.ssl_port", port),
        ("network.proxy.share_proxy_settings", False),
        ("network.proxy.no_proxies_on", ""),
        ("network.proxy.allow_hijacking_localhost", True),
        ("browser.shell.checkDefaultBrowser", False),
        ("browser.startup.homepage_override.mstone", "ignore"),
        ("browser.aboutwelcome.enabled", False),
        ("startup.homepage_welcome_url", ""),
        ("startup.homepage_welcome_url.additional", ""),
        ("datareporting.policy.dataSubmissionEnabled", False),
        ("datareporting.healthreport.uploadEnabled", False),
        ("toolkit.telemetry.reportingpolicy.firstRun", False),
        ("app.update.auto", False),
        ("app.normandy.enabled", False),
        ("extensions.update.enabled", False),
        ("browser.safebrowsing.update.enabled", False),
        ("network.captive-portal-service.enabled", False),
        ("network.connectivity-service.enabled", False),
        ("browser.newtabpage.activity-stream.feeds.topsites", False),
        ("browser.newtabpage.activity-stream.feeds.section.topstories", False),
    ]
    return "".join(f"user_pref({_pref_value(k)}, {_pref_value(v)});\n" for k, v in prefs)


def certutil_commands(certutil: str, profile: str, ca_path: str) -> list[list[str]]:
    """Create the profile's certificate store and trust the CA in it for
    websites (``C,,``: a trusted CA for TLS servers)."""
    database = f"sql:{profile}"
    return [
        [certutil, "-N", "-d", database, "--empty-password"],
        [certutil, "-A", "-d", database, "-n", CERT_NICKNAME, "-t", "C,,", "-i", ca_path],
    ]
