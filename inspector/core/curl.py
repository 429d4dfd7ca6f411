"""Export a flow's request as a ``curl`` command line.

Every field is shell-quoted (``shlex.quote``), so a header or body holding
quotes, ``$`` or newlines cannot break out of its argument when pasted into
a shell. Proxy credentials are never exported.
"""

from __future__ import annotations

import shlex

from inspector.core.flow import Flow
from inspector.core.http_rules import HOP_BY_HOP

# curl computes these itself from the URL and the body.
_SKIPPED = HOP_BY_HOP | {b"host", b"content-length", b"transfer-encoding"}


def as_curl(flow: Flow) -> str:
    request = flow.request
    parts = ["curl"]
    if request.method != "GET" or request.body:
        parts += ["-X", shlex.quote(request.method)]
    parts.append(shlex.quote(request.url))
    host = request.header(b"host")
    default_host = request.url.split("/")[2] if "://" in request.url else ""
    if host is not None and host.decode("latin-1") != default_host:
        parts += ["-H", shlex.quote("Host: " + host.decode("latin-1"))]
    for name, value in request.headers:
        if name.lower() in _SKIPPED:
            continue
        header = name.decode("latin-1") + ": " + value.decode("latin-1")
        parts += ["-H", shlex.quote(header)]
    if request.body:
        body = request.body.decode("utf-8", "replace")
        parts += ["--data-binary", shlex.quote(body)]
        if request.body_truncated:
            parts.insert(1, "# body truncated at the capture limit;")
    return " ".join(parts)
