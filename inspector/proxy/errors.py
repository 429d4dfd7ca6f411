"""Engine failures, each carrying the HTTP status the client should get.

I/O errors are translated into these at the edge where they happen, so the
request path can tell "the client went away" from "the upstream failed"
without inspecting socket errors.
"""

from __future__ import annotations


class ProxyError(Exception):
    """A failure answered with ``status`` and a one-line ``message``."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


class UpstreamError(ProxyError):
    """The upstream could not be reached or answered badly."""


class ClientError(ProxyError):
    """The client sent something the proxy refuses."""


class ClientGone(Exception):
    """The client disconnected; nothing can be sent to it any more."""


class ListenError(Exception):
    """The proxy could not bind its listening socket."""


class Aborted(ProxyError):
    """A breakpoint's flow was aborted: answered 502 with the reason, or,
    with ``reset``, the client's connection is cut."""

    def __init__(self, message: str, reset: bool = False, kind: str = "aborted") -> None:
        super().__init__(502, kind, message)
        self.reset = reset
