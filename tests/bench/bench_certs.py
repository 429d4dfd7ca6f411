"""Micro-benchmark of the certificate store: what the engine waits for when
a client first asks for a host (signing a leaf, building its SSLContext, and
both through ``server_context``), and what a cached ``server_context`` lookup
costs afterwards; for an EC (default) and an RSA CA. Each figure is the
median over rounds of the mean per operation in a round; every uncached
operation uses a name never seen before. Not collected by pytest; run it as
``python -m tests.bench.bench_certs [--json PATH] [--rounds N] [--names N]``.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import platform
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from inspector.core.ca import CertificateAuthority
from inspector.core.certs import CertStore

_fresh = (f"host{i}.bench.example" for i in itertools.count())


def _per_op_us(operation: Callable[[], object], count: int, rounds: int) -> list[float]:
    """Mean µs per call of ``operation`` in each round of ``count`` calls."""
    results = []
    for _ in range(rounds):
        gc.disable()
        try:
            started = time.perf_counter_ns()
            for _ in range(count):
                operation()
            elapsed = time.perf_counter_ns() - started
        finally:
            gc.enable()
        results.append(elapsed / count / 1_000)
    return results


def cases(store: CertStore, names: int, lookups: int, rounds: int) -> dict[str, list[float]]:
    leaf = store.issue_leaf("build.bench.example")
    store.server_context("cached.bench.example")
    # Built contexts are kept, as the cache keeps them: freeing an SSL_CTX
    # costs a few hundred µs of its own, which the engine does not pay per name.
    kept: list[ssl.SSLContext] = []
    return {
        "issue leaf (sign only)": _per_op_us(lambda: store.issue_leaf(next(_fresh)), names, rounds),
        "build SSLContext from a leaf": _per_op_us(
            lambda: kept.append(store.build_context(leaf)), names, rounds
        ),
        "server_context, first use of a name": _per_op_us(
            lambda: store.server_context(next(_fresh)), names, rounds
        ),
        "server_context, cached": _per_op_us(
            lambda: store.server_context("cached.bench.example"), lookups, rounds
        ),
        "bare SSLContext(PROTOCOL_TLS_SERVER)": _per_op_us(
            lambda: kept.append(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)), names, rounds
        ),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--json", metavar="PATH", help="also write the figures here as JSON")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--names", type=int, default=100, help="fresh names per round")
    parser.add_argument("--lookups", type=int, default=20_000, help="cached lookups per round")
    args = parser.parse_args(argv)

    print(
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{ssl.OPENSSL_VERSION}; {args.rounds} rounds of {args.names} names"
    )
    report: dict[str, object] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "openssl": ssl.OPENSSL_VERSION,
        "rounds": args.rounds,
        "names": args.names,
        "lookups": args.lookups,
    }
    with tempfile.TemporaryDirectory() as scratch:
        for key_type in ("ec", "rsa"):
            started = time.perf_counter()
            ca = CertificateAuthority.create(Path(scratch) / key_type, key_type)
            created_ms = (time.perf_counter() - started) * 1_000
            started = time.perf_counter()
            store = CertStore(ca, cache_size=args.rounds * args.names + 16)
            store_ms = (time.perf_counter() - started) * 1_000
            print(f"\n{key_type.upper()}: new CA {created_ms:.1f} ms, new store {store_ms:.1f} ms")
            print(f"  {'operation':<38} {'median µs':>10} {'min':>9} {'max':>9}")
            figures: dict[str, dict[str, float]] = {}
            for name, rounds in cases(store, args.names, args.lookups, args.rounds).items():
                median = statistics.median(rounds)
                figures[name] = {"median_us": median, "min_us": min(rounds), "max_us": max(rounds)}
                print(f"  {name:<38} {median:10.1f} {min(rounds):9.1f} {max(rounds):9.1f}")
            store.close()
            report[key_type] = {"create_ca_ms": created_ms, "new_store_ms": store_ms, **figures}

    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(report, out, indent=2)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
