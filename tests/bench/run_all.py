"""The whole benchmark suite: every benchmark, one table, one JSON file.

It runs each benchmark of ``tests/bench`` as a subprocess (a crash in one
is reported and the others still run), saves each one's own JSON and text
output under the results directory, then prints one table of the figures
and of the ratios the project holds itself to, each against its target,
and writes everything to ``all.json``.

Every comparison inside a benchmark is measured side by side in the same
run (these machines are shared and noisy): modes take turns within each
round, ratios are taken per round, and medians over rounds are reported.
Absolute figures move with the machine's load; ratios move much less.

    python -m tests.bench.run_all                 # full run, ~40 min on 2 cores
    python -m tests.bench.run_all --quick         # ~6 min: 1 round each, short loads
    python -m tests.bench.run_all --peers mitmproxy   # also install and run mitmdump
    python -m tests.bench.run_all --only proxy,pressure
    python -m tests.bench.run_all --render bench-results/all.json   # the table again

``make bench`` runs the full suite (``make bench PEERS=mitmproxy`` with the
peer; ``make bench QUICK=1`` for the short run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.bench.bench_engine import git_revision
from tests.bench.summary import Report

ROOT = Path(__file__).resolve().parents[2]


def benches(quick: bool, peers: str) -> dict[str, list[str]]:
    """name -> argv after ``python -m``; all write --json themselves."""
    peer = ["--peers", peers] if peers else []
    q = ["--quick"] if quick else []
    return {
        "proxy": ["tests.bench.bench_proxy", *q, *peer],
        "https": ["tests.bench.bench_https", *q, *peer],
        "pressure": [
            "tests.bench.bench_pressure",
            *(["--quick", "--requests", "20000", "--fixed-seconds", "5"] if quick else []),
        ],
        "model": ["tests.bench.bench_model"],
        "lifecycle": ["tests.bench.bench_lifecycle", *q],
        "relay": [
            "tests.bench.bench_relay",
            *(["--rounds", "3", "--events", "50000"] if quick else []),
        ],
        "certs": [
            "tests.bench.bench_certs",
            *(["--rounds", "3", "--names", "30"] if quick else []),
        ],
        "engine": [
            "tests.bench.bench_engine",
            *(
                ["--rounds", "1", "--duration", "1", "--warmup", "0.3"]
                if quick
                else ["--rounds", "2"]
            ),
        ],
        "tunnels": [
            "tests.bench.bench_tunnels",
            *(["--rounds", "1", "--seconds", "1"] if quick else ["--rounds", "2"]),
        ],
        "websocket": ["tests.bench.bench_websocket", *q],
        "session": ["tests.bench.bench_session", *q],
        "search": ["tests.bench.bench_search", *q],
        "breakpoints": ["tests.bench.bench_breakpoints", *q],
        "rules": ["tests.bench.bench_rules", *q],
        "viewers": ["tests.bench.bench_viewers"],
        "proxy_time": ["tests.bench.bench_proxy_time"],
    }


def run_bench(name: str, argv: list[str], out: Path, timeout: float) -> dict[str, Any]:
    json_path = out / f"{name}.json"
    json_path.unlink(missing_ok=True)
    started = time.monotonic()
    print(f"[bench] {name}: {' '.join(argv)}", file=sys.stderr, flush=True)
    try:
        done = subprocess.run(
            [sys.executable, "-m", *argv, "--json", str(json_path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        )
        code, stdout, stderr = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        code, stdout, stderr = -1, str(exc.stdout or ""), f"timed out after {timeout:.0f} s"
    elapsed = time.monotonic() - started
    (out / f"{name}.txt").write_text(stdout + ("\n--- stderr ---\n" + stderr if stderr else ""))
    print(f"[bench] {name}: exit {code} in {elapsed:.0f} s", file=sys.stderr, flush=True)
    data = json.loads(json_path.read_text()) if json_path.exists() else None
    return {
        "exit": code,
        "seconds": round(elapsed, 1),
        "data": data,
        "error": None if data is not None else stderr.strip()[-1500:],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs (a few minutes)")
    parser.add_argument("--peers", default="", help="'mitmproxy' to install and run mitmdump")
    parser.add_argument("--only", type=lambda s: s.split(","), help="comma-separated bench names")
    parser.add_argument("--skip", type=lambda s: s.split(","), default=[])
    parser.add_argument("--out", default=str(ROOT / "bench-results"), help="results directory")
    parser.add_argument("--json", help="summary file (default OUT/all.json)")
    parser.add_argument("--timeout", type=float, default=1800, help="per benchmark, seconds")
    parser.add_argument(
        "--render", metavar="ALL_JSON", help="only print the table of a saved all.json again"
    )
    args = parser.parse_args(argv)
    if args.render:
        saved = json.loads(Path(args.render).read_text())
        print(Report(saved["benchmarks"]).render(saved["header"]))
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plan = benches(args.quick, args.peers)
    unknown = [n for n in (args.only or []) + args.skip if n not in plan]
    if unknown:
        parser.error(f"unknown benchmarks: {', '.join(unknown)} (known: {', '.join(plan)})")
    names = [n for n in plan if (args.only is None or n in args.only) and n not in args.skip]
    started = time.monotonic()
    results = {name: run_bench(name, plan[name], out, args.timeout) for name in names}
    elapsed = time.monotonic() - started
    revision = git_revision()
    header = (
        f"Inspector benchmarks{' (quick)' if args.quick else ''}: revision {revision}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load generator {'wrk' if shutil.which('wrk') else 'built-in'}"
        f"{', peer mitmdump ' + _peer_version(results) if args.peers else ''}; "
        f"{time.strftime('%Y-%m-%d %H:%M')}, {elapsed / 60:.0f} min; medians of rounds"
    )
    report = Report(results)
    text = report.render(header)
    print(text)
    summary = {
        "header": header,
        "revision": revision,
        "quick": args.quick,
        "peers": args.peers,
        "elapsed_s": round(elapsed, 1),
        "load_average": os.getloadavg(),
        "targets": report.targets,
        "table": text,
        "benchmarks": results,
    }
    path = Path(args.json) if args.json else out / "all.json"
    path.write_text(json.dumps(summary, indent=2) + "\n")
    (out / "all.txt").write_text(text + "\n")
    print(f"\nsaved {path}", file=sys.stderr)
    return 0 if all(r["data"] is not None for r in results.values()) else 1


def _peer_version(results: dict[str, dict[str, Any]]) -> str:
    for name in ("proxy", "https"):
        data = results.get(name, {}).get("data")
        if data and data["config"].get("peers"):
            return str(data["config"]["peers"].get("mitmproxy", ""))
    return "?"


if __name__ == "__main__":
    sys.exit(main())
