"""The curl options ``curl.parse_curl`` knows, by what it does with them.

Options that shape the request (``-X``, ``-H``, the data options, ``-u``
...) are read; options that only change what curl does with the answer or
the connection (``-s``, ``-k``, ``-o FILE``, ``--max-time N``) are skipped
with their value; a few that would need a file are refused with a reason.
Any option not listed here is refused, since whether it takes a value (and
so what the next word is) cannot be known.
"""

from __future__ import annotations

DATA = {
    "-d": "data",
    "--data": "data",
    "--data-ascii": "data",
    "--data-binary": "binary",
    "--data-raw": "raw",
    "--data-urlencode": "urlencode",
    "--json": "json",
}
WITH_VALUE = {
    "-X": "--request",
    "-H": "--header",
    "-u": "--user",
    "-A": "--user-agent",
    "-e": "--referer",
    "-b": "--cookie",
    "-r": "--range",
    "-o": "--output",
    "-m": "--max-time",
    "-x": "--proxy",
    "-U": "--proxy-user",
    "-w": "--write-out",
    "-c": "--cookie-jar",
    "-D": "--dump-header",
    "-E": "--cert",
    "-Y": "--speed-limit",
    "-y": "--speed-time",
    "-z": "--time-cond",
    "-F": "--form",
    "-T": "--upload-file",
    "-K": "--config",
}
IGNORED_WITH_VALUE = frozenset(
    {
        "--output",
        "--max-time",
        "--proxy",
        "--proxy-user",
        "--write-out",
        "--cookie-jar",
        "--dump-header",
        "--cert",
        "--speed-limit",
        "--speed-time",
        "--connect-timeout",
        "--retry",
        "--retry-delay",
        "--retry-max-time",
        "--cacert",
        "--capath",
        "--key",
        "--key-type",
        "--cert-type",
        "--resolve",
        "--connect-to",
        "--limit-rate",
        "--max-redirs",
        "--interface",
        "--dns-servers",
        "--ciphers",
        "--tls-max",
        "--proxy-header",
        "--stderr",
        "--trace",
        "--trace-ascii",
        "--expect100-timeout",
        "--keepalive-time",
        "--max-filesize",
        "--output-dir",
        "--happy-eyeballs-timeout-ms",
        "--noproxy",
        "--proto",
        "--proto-redir",
    }
)
REFUSED = {
    "--form": "multipart forms (-F) are not supported; paste the body with --data-binary",
    "--form-string": "multipart forms are not supported; paste the body with --data-binary",
    "--upload-file": "uploading a file (-T) is not supported",
    "--config": "reading options from a file (-K) is not supported",
    "--time-cond": "-z (--time-cond) is not supported",
}
FLAGS = {
    "-s": "--silent",
    "-S": "--show-error",
    "-v": "--verbose",
    "-k": "--insecure",
    "-L": "--location",
    "-i": "--include",
    "-I": "--head",
    "-G": "--get",
    "-f": "--fail",
    "-N": "--no-buffer",
    "-g": "--globoff",
    "-#": "--progress-bar",
    "-q": "--disable",
    "-0": "--http1.0",
    "-4": "--ipv4",
    "-6": "--ipv6",
    "-O": "--remote-name",
    "-J": "--remote-header-name",
    "-n": "--netrc",
    "-R": "--remote-time",
}
IGNORED_FLAGS = frozenset(FLAGS.values()) - {"--head", "--get"} | frozenset(
    {
        "--compressed",
        "--http1.1",
        "--http2",
        "--http2-prior-knowledge",
        "--http3",
        "--tlsv1",
        "--tlsv1.0",
        "--tlsv1.1",
        "--tlsv1.2",
        "--tlsv1.3",
        "--tr-encoding",
        "--no-keepalive",
        "--no-sessionid",
        "--path-as-is",
        "--raw",
        "--fail-with-body",
        "--fail-early",
        "--ssl-no-revoke",
        "--ssl-reqd",
        "--no-progress-meter",
        "--location-trusted",
        "--post301",
        "--post302",
        "--post303",
        "--no-alpn",
        "--no-npn",
        "--ssl",
        "--create-dirs",
        "--styled-output",
        "--no-styled-output",
        "--anyauth",
        "--basic",
        "--digest",
        "--ntlm",
        "--negotiate",
        "--tcp-nodelay",
        "--tcp-fastopen",
        "--suppress-connect-headers",
    }
)
VALUED = (
    frozenset(DATA)
    | frozenset(WITH_VALUE.values())
    | IGNORED_WITH_VALUE
    | {"--url", "--form-string"}
)
ACCEPT_ENCODING = b"deflate, gzip, br, zstd"
"""What ``--compressed`` asks for: what curl built with every decoder sends."""
FORM = b"application/x-www-form-urlencoded"
