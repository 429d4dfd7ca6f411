"""The onboarding page: how a device gets Inspector's CA certificate.

Any client configured to use the proxy can open ``http://inspector.invalid/``
(or https, once the CA is trusted). The ``.invalid`` top-level domain is
reserved by RFC 6761 and never resolves, so the name can never collide with
a real site: the proxy answers it itself, without going upstream.
"""

from __future__ import annotations

import html

HOST = "inspector.invalid"
URL = f"http://{HOST}/"
PEM_PATH = "/inspector-ca.pem"
DER_PATH = "/inspector-ca.cer"

PEM_TYPE = b"application/x-pem-file"
DER_TYPE = b"application/x-x509-ca-cert"

_STEPS = [
    (
        "macOS",
        "Download the PEM file, open it (Keychain Access adds it to the login keychain), "
        "double-click the certificate and set <i>When using this certificate</i> to "
        "<i>Always Trust</i>. Or: <code>sudo security add-trusted-cert -d -r trustRoot "
        "-k /Library/Keychains/System.keychain inspector-ca.pem</code>",
    ),
    (
        "Windows",
        "Download the DER file, open it, choose <i>Install Certificate</i>, then place it in "
        "<i>Trusted Root Certification Authorities</i>. Or: "
        "<code>certutil -addstore -f ROOT inspector-ca.cer</code>",
    ),
    (
        "Debian, Ubuntu",
        "<code>sudo cp inspector-ca.pem /usr/local/share/ca-certificates/inspector.crt "
        "&amp;&amp; sudo update-ca-certificates</code>",
    ),
    ("Fedora, RHEL", "<code>sudo trust anchor --store inspector-ca.pem</code>"),
    (
        "Firefox",
        "Firefox keeps its own store: Settings, Privacy &amp; Security, Certificates, View "
        "Certificates, Authorities, Import; tick <i>Trust this CA to identify websites</i>.",
    ),
    (
        "Chrome, Edge",
        "They use the system store on macOS and Windows. On Linux: chrome://settings/"
        "certificates, Authorities, Import.",
    ),
    (
        "iOS",
        "Open this page in Safari, download the DER file, install the profile in Settings, "
        "then enable it in General, About, Certificate Trust Settings.",
    ),
    (
        "Android",
        "Download the DER file and install it in Settings, Security, Encryption &amp; "
        "credentials, Install a certificate, CA certificate. Apps trust user CAs only if "
        "they opt in.",
    ),
    (
        "Command-line tools",
        "<code>curl --cacert inspector-ca.pem</code>, "
        "<code>REQUESTS_CA_BUNDLE=inspector-ca.pem</code> (Python requests), "
        "<code>NODE_EXTRA_CA_CERTS=inspector-ca.pem</code> (Node.js)",
    ),
]


def page(fingerprint: str | None, listen: str) -> bytes:
    """The onboarding page; ``fingerprint`` is None when HTTPS interception
    has no CA (then there is nothing to download)."""
    if fingerprint is None:
        body = (
            "<p>HTTPS interception is off, so there is no certificate to install. "
            "HTTPS traffic passes through Inspector untouched.</p>"
        )
    else:
        steps = "".join(f"<dt>{name}</dt><dd>{text}</dd>" for name, text in _STEPS)
        body = f"""<p>To see HTTPS traffic, the device must trust Inspector's certificate
authority, which was created on this computer and exists nowhere else.</p>
<p class="dl"><a href="{PEM_PATH}">Download PEM</a> <a href="{DER_PATH}">Download DER (.cer)</a></p>
<p>SHA-256 fingerprint: <code>{html.escape(fingerprint)}</code></p>
<h2>Install it</h2><dl>{steps}</dl>
<p>Only install it on devices you control, and remove it when you are done: whoever holds
its key (on this computer) could read that device's HTTPS traffic.</p>"""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Inspector certificate</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:44em;margin:2em auto;padding:0 1em}}
code{{background:#8882;padding:.1em .3em;border-radius:3px;word-break:break-all}}
dt{{font-weight:bold;margin-top:.8em}} .dl a{{display:inline-block;margin:0 .6em .4em 0;
padding:.5em 1em;background:#2563eb;color:#fff;border-radius:6px;text-decoration:none}}</style>
</head><body><h1>Inspector certificate</h1>
<p>This device is using Inspector at <code>{html.escape(listen)}</code>.</p>
{body}</body></html>
""".encode()
