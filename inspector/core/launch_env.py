"""The environment that points command-line clients at Inspector: the
proxy variables and the CA bundles the common runtimes read, written for
a POSIX shell, fish or PowerShell.

``no_proxy`` is set empty so that local addresses go through the proxy
too (a developer's origin is often on 127.0.0.1). The CA variables point
at a bundle of the system's CAs plus Inspector's, so other HTTPS keeps
working; Node adds ``NODE_EXTRA_CA_CERTS`` to its own roots, so Inspector's
CA alone will do there. Node 24 and later use the proxy variables when
``NODE_USE_ENV_PROXY`` is set; for older ones ``NODE_OPTIONS`` loads a
small script (``core.node_proxy``, written beside the bundle) that
sends the http and https modules' requests through the proxy.
"""

from __future__ import annotations

from collections.abc import Mapping

SHELLS = ("sh", "fish", "powershell")
PROXY_NAMES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")
NO_PROXY_NAMES = ("no_proxy", "NO_PROXY")
BUNDLE_NAMES = (
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "GIT_SSL_CAINFO",
    "AWS_CA_BUNDLE",
)
SYSTEM_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Arch, Gentoo, Alpine's package
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # CentOS, RHEL 7 and later
    "/etc/ssl/ca-bundle.pem",  # openSUSE
    "/etc/pki/tls/cacert.pem",  # OpenELEC
    "/etc/ssl/cert.pem",  # macOS, Alpine, OpenBSD
    "/usr/local/share/certs/ca-root-nss.crt",  # FreeBSD
    "/usr/local/etc/openssl/cert.pem",  # Homebrew's OpenSSL
)
"""Where systems keep their CAs as one PEM file, in the order tried."""
BUNDLE_FILE = "ca-bundle.pem"


def client_env(proxy: str, bundle: str, ca: str, node_require: str = "") -> dict[str, str]:
    """The variables, in the order printed: ``proxy`` is ``host:port``,
    ``bundle`` the system CAs plus Inspector's, ``ca`` Inspector's alone,
    ``node_require`` the script older Node versions load to use the proxy."""
    url = f"http://{proxy}"
    env = dict.fromkeys(PROXY_NAMES, url)
    env.update(dict.fromkeys(NO_PROXY_NAMES, ""))
    env.update(dict.fromkeys(BUNDLE_NAMES, bundle))
    env["NODE_EXTRA_CA_CERTS"] = ca
    env["NODE_USE_ENV_PROXY"] = "1"
    if node_require:
        escaped = node_require.replace("\\", "\\\\").replace('"', '\\"')
        env["NODE_OPTIONS"] = f'--require "{escaped}"'
    return env


def quote(value: str, shell: str) -> str:
    """``value`` as one literal word of ``shell``: single quotes, with the
    shell's own way of putting a single quote inside them."""
    if shell == "sh":
        return "'" + value.replace("'", "'\\''") + "'"
    if shell == "fish":
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if shell == "powershell":
        # PowerShell also reads the typographic single quotes as quotes.
        for mark in ("'", "\u2018", "\u2019", "\u201a", "\u201b"):
            value = value.replace(mark, mark * 2)
        return f"'{value}'"
    raise ValueError(f"unknown shell {shell!r} (choose {', '.join(SHELLS)})")


def env_lines(env: Mapping[str, str], shell: str) -> list[str]:
    """One line setting each variable, for ``eval`` (sh), ``source``
    (fish) or ``Invoke-Expression`` (PowerShell)."""
    if shell == "sh":
        return [f"export {name}={quote(value, shell)}" for name, value in env.items()]
    if shell == "fish":
        return [f"set -gx {name} {quote(value, shell)}" for name, value in env.items()]
    if shell == "powershell":
        return [f"$env:{name} = {quote(value, shell)}" for name, value in env.items()]
    raise ValueError(f"unknown shell {shell!r} (choose {', '.join(SHELLS)})")


def bundle_text(system: str, ca_pem: str) -> str:
    """The system's CAs followed by Inspector's, one PEM file."""
    if system and not system.endswith("\n"):
        system += "\n"
    label = "# Inspector's certificate authority\n"
    return f"{system}{label}{ca_pem.strip()}\n"
