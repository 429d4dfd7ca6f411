"""What the Connection tab says about a flow: one label and value a line.

A CONNECT flow never opens an upstream connection of its own when the
proxy intercepts it (each request inside connects, or reuses one), and its
bytes are counted on those requests, not on the tunnel; only a tunnel that
passes bytes through has an upstream and a byte count. Saying "Upstream: -"
beside "reused from the pool", or "0 B / 0 B" for a tunnel that carried a
request, contradicts what the user sees in the table, so each line here is
said only where it is true.
"""

from __future__ import annotations

import datetime

from inspector.core.flow import Flow, FlowState, TlsInfo
from inspector.core.format import duration, size

RELAYED = frozenset({"passthrough", "raw"})
"""Tunnel modes whose bytes pass untouched to an upstream of the tunnel's own."""


def connection_rows(flow: Flow) -> list[tuple[str, str]]:
    started = datetime.datetime.fromtimestamp(flow.t_start).isoformat(
        sep=" ", timespec="milliseconds"
    )
    rows = [("Client", f"{flow.client_addr[0]}:{flow.client_addr[1]}")]
    rows += _upstream(flow)
    rows += [
        ("Started", started),
        ("Duration", duration(flow.duration) or "in progress"),
        ("State", flow.state.value),
    ]
    if flow.error is not None:
        rows.append(("Error", f"{flow.error.message} ({flow.error.kind})"))
    if flow.replay_of is not None:
        rows.append(("Replay of", f"#{flow.replay_of}"))
    if flow.tunnel_id is not None:
        rows.append(("Tunnel", f"#{flow.tunnel_id}"))
    tunnel = flow.tunnel
    if tunnel is not None:
        rows.append(("Tunnel mode", tunnel.mode or "not decided (nothing came through)"))
        if tunnel.mode in RELAYED:
            rows.append(("Bytes up / down", f"{size(tunnel.bytes_up)} / {size(tunnel.bytes_down)}"))
        else:
            count = tunnel.inner_flows
            counted = " (their bytes are counted on them)" if count else ""
            rows.append(("Requests inside", f"{count}{counted}"))
        if tunnel.client_tls is not None:
            rows.append(("Client TLS", tls_text(tunnel.client_tls)))
        if tunnel.upstream_tls is not None:
            rows.append(("Upstream TLS", tls_text(tunnel.upstream_tls)))
    if flow.upstream_tls is not None:
        rows.append(("Upstream TLS", tls_text(flow.upstream_tls)))
    if flow.websocket is not None:
        ws = flow.websocket
        rows.append(("WebSocket bytes up / down", f"{size(ws.wire_up)} / {size(ws.wire_down)}"))
    return rows


def _upstream(flow: Flow) -> list[tuple[str, str]]:
    """The Upstream line, and how the connection came to be where there is one."""
    tunnel = flow.tunnel
    address = flow.upstream_addr
    if address is not None:
        how = "new" if flow.t_upstream_connected else "reused from the pool"
        return [("Upstream", f"{address[0]}:{address[1]}"), ("Upstream connection", how)]
    if tunnel is not None and tunnel.mode not in RELAYED and tunnel.inner_flows:
        return [("Upstream", "each request inside connects on its own")]
    if tunnel is not None and tunnel.mode not in RELAYED and tunnel.mode:
        return [("Upstream", "none: no request came through the tunnel")]
    if flow.state is FlowState.FAILED:
        return [("Upstream", "none: the flow failed before connecting")]
    if flow.finished and flow.response is not None:
        return [("Upstream", "none: Inspector answered itself")]
    return [("Upstream", "not connected yet")]


def tls_text(tls: TlsInfo) -> str:
    parts = [tls.version, tls.cipher]
    if tls.alpn:
        parts.append(f"ALPN {tls.alpn}")
    if tls.sni:
        parts.append(f"SNI {tls.sni}")
    return ", ".join(p for p in parts if p)
