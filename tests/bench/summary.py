"""The one table of ``run_all.py``: figures picked from each benchmark's
JSON, and every target of the issue judged against them.

Each section reads one benchmark's results (a benchmark that did not run is
left out; one that failed is listed at the end), adds its lines to the
table and its targets to the list. A target whose figure is missing (no peer, say) is
``n/a`` rather than met or missed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inspector.core.settings import RelaySettings

RELAY_CAPACITY = RelaySettings().capacity
"""The default relay capacity (50,000 distinct pending flow ids): the bound
on pending flow entries that "pending-event memory bounded" is judged by."""


def _row(table: list[dict[str, Any]], **match: str) -> dict[str, Any] | None:
    for row in table:
        if all(row.get(k) == v for k, v in match.items()):
            return row
    return None


def _fmt(value: float | None, spec: str = ",.0f", unit: str = "") -> str:
    if value is None or value != value:
        return "-"
    return f"{value:{spec}}{unit}"


class Report:
    def __init__(self, results: dict[str, dict[str, Any]]) -> None:
        self.results = results
        self.lines: list[str] = []
        self.targets: list[dict[str, Any]] = []

    def data(self, name: str) -> dict[str, Any] | None:
        entry = self.results.get(name)
        return entry["data"] if entry else None

    def target(
        self,
        what: str,
        value: float | bool | None,
        wanted: str,
        ok: Callable[[Any], bool],
        shown: str | None = None,
        note: str = "",
    ) -> None:
        if value is None or (isinstance(value, float) and value != value):
            verdict = "n/a"
        else:
            verdict = "met" if ok(value) else "MISSED"
        if shown is None:
            shown = _fmt(value, ".2f") if isinstance(value, float) else str(value)
        self.targets.append(
            {
                "target": what,
                "value": value,
                "shown": shown,
                "wanted": wanted,
                "verdict": verdict,
                "note": note,
            }
        )

    # Sections

    def proxy(self) -> None:
        d = self.data("proxy")
        if d is None:
            return
        table = d["table"]
        loads = ["c=10 keep-alive", "c=50 keep-alive", "c=10 new conn"]
        header = f"{'Small GETs  req/s (p50/p99 ms)':<30}" + "".join(f"{ld:>24}" for ld in loads)
        self.lines += [header]
        for mode in ["direct", *d["config"]["modes"]]:
            cells = []
            for load in loads:
                row = _row(table, load=load, mode=mode)
                if row is None:
                    cells.append(f"{'':>24}")
                    continue
                cell = f"{_fmt(row['rps'])} ({row['p50_ms']:.1f}/{row['p99_ms']:.0f})"
                cells.append(f"{cell:>24}")
            self.lines.append(f"  {mode:<28}" + "".join(cells))
        idle = d["config"].get("idle")
        if d["config"].get("idle_modes"):
            self.lines.append(f"  with {idle} idle keep-alive connections held open (x of none):")
            for mode in d["config"]["idle_modes"]:
                cells = []
                for load in loads[:2]:
                    row = _row(table, load=f"{load} +{idle} idle", mode=mode)
                    text = (
                        f"{_fmt(row['rps'])} ({_fmt(row.get('vs_no_idle'), '.2f')}x)"
                        if row
                        else "-"
                    )
                    cells.append(f"{text:>24}")
                self.lines.append(f"    {mode:<26}" + "".join(cells))
        dl = d["download_mb_s"]
        vs = d["download_vs_direct"]
        self.lines.append(
            "  64 MiB download MiB/s: "
            + ", ".join(
                f"{m} {_fmt(v)}" + (f" ({vs[m]:.2f}x)" if m in vs and vs[m] == vs[m] else "")
                for m, v in dl.items()
            )
        )
        cpu = [
            f"{mode} {row['cpu_us_per_req']:.0f}"
            for mode in d["config"]["modes"]
            if (row := _row(table, load="c=50 keep-alive", mode=mode)) and row.get("cpu_us_per_req")
        ]
        self.lines.append(
            "  CPU per request, c=50 keep-alive (us, whole process): " + ", ".join(cpu)
        )
        stalls = []
        for mode in d["config"]["modes"]:
            cells = [
                f"{label} {row['stall_max_ms']:.0f}/{row['stall_p99_ms']:.0f}"
                for load, label in (
                    ("c=10 keep-alive", "c=10"),
                    ("c=50 keep-alive", "c=50"),
                    (f"c=50 keep-alive +{idle} idle", f"c=50 +{idle} idle"),
                )
                if (row := _row(table, load=load, mode=mode)) and "stall_max_ms" in row
            ]
            if cells:
                stalls.append(f"{mode}: {', '.join(cells)}")
        if stalls:
            self.lines.append("  GUI stall max/p99 ms during the loads: " + "; ".join(stalls))
        peer = "mitmdump" in d["config"]["modes"]
        for mode, wanted in (("desktop", 5.0), ("headless", 6.0)):
            for load in loads[:2]:
                row = _row(table, load=load, mode=mode)
                value = row.get("vs_mitmdump") if row and peer else None
                self.target(
                    f"{mode} / mitmdump req/s, {load}",
                    value,
                    f">= {wanted:g}",
                    lambda v, w=wanted: v >= w,
                    note="" if peer else "run with PEERS=mitmproxy",
                )
        for load in loads:
            row = _row(table, load=load, mode="desktop")
            self.target(
                f"desktop / headless req/s, {load}",
                row.get("vs_headless") if row else None,
                ">= 0.85",
                lambda v: v >= 0.85,
                note="" if "keep-alive" in load else "not in the issue's list; shown for context",
            )
        for mode in d["config"].get("idle_modes", []):
            for load in loads[:2]:
                row = _row(table, load=f"{load} +{idle} idle", mode=mode)
                self.target(
                    f"{mode}: req/s with {idle} idle / without, {load}",
                    row.get("vs_no_idle") if row else None,
                    ">= 0.9",
                    lambda v: v >= 0.9,
                    note="comparison layout" if "qasync" in mode else "",
                )
        for failure in d.get("failures", []):
            self.lines.append(f"  FAILED: {failure}")

    def https(self) -> None:
        d = self.data("https")
        if d is None:
            return
        cells = ", ".join(
            f"{r['mode']} {_fmt(r['tunnels_per_s'])}/s (p99 {r['p99_ms']:.0f} ms)"
            for r in d["table"]
        )
        self.lines.append(f"HTTPS new tunnels: {cells}")
        cpu = ", ".join(
            f"{r['mode']} {r['proxy_cpu_pct']:.0f}/{r['driver_cpu_pct']:.0f}"
            for r in d["table"]
            if "proxy_cpu_pct" in r and "driver_cpu_pct" in r
        )
        if cpu:
            self.lines.append(f"  CPU % of a core during the loads, proxy/client(+origin): {cpu}")
        for failure in d.get("failures", []):
            self.lines.append(f"  FAILED: {failure}")
        peer = any(r["mode"] == "mitmdump" for r in d["table"])
        for mode in ("desktop", "headless"):
            row = _row(d["table"], mode=mode)
            self.target(
                f"HTTPS new tunnels {mode} / mitmdump",
                row.get("vs_mitmdump") if row and peer else None,
                ">= 4",
                lambda v: v >= 4,
                note="" if peer else "run with PEERS=mitmproxy",
            )

    def pressure(self) -> None:
        d = self.data("pressure")
        if d is None:
            return
        c = d["config"]
        self.lines += [
            f"GUI burst: {c['requests']:,} GETs, {c['connections']} connections, app on screen "
            f"({c['rounds']} round(s); slow100 = apply_batch 100x slower, spinning or sleeping)",
            f"  {'config':<27}{'req/s':>7}{'p99 ms':>8}{'stall max/p99 ms':>18}{'lag max':>9}"
            f"{'pending (MB)':>16}{'recorded/sent':>16}{'drops':>7}{'catch-up':>9}",
        ]
        for r in d["table"]:
            catchup = f"{r['catchup_s']:.1f}s" if r.get("catchup_s") is not None else "never"
            pending = f"{r['pending_peak']:,.0f} ({r['pending_peak_mb']:.1f})"
            recorded = f"{r['flows_recorded']:,.0f}/{r['sent']:,.0f}"
            drops = r["flow_dropped"] + r["low_dropped"]
            self.lines.append(
                f"  {r['config']:<27}{_fmt(r['rps']):>7}{r['p99_ms']:>8.0f}"
                f"{r['stall_max_ms']:>11.0f}/{r['stall_p99_ms']:<6.0f}{r['lag_max_ms']:>7.0f}ms"
                f"{pending:>16}{recorded:>16}{drops:>7,.0f}{catchup:>9}"
            )
        for failure in d.get("failures", []):
            self.lines.append(f"  FAILED: {failure}")
        rows = {r["config"]: r for r in d["table"]}
        for config in ("relay-thread", "relay-qasync"):
            r = rows.get(config)
            self.target(
                f"burst, {config}: GUI stall max (ms)",
                r["stall_max_ms_worst"] if r else None,
                "<= 50",
                lambda v: v <= 50,
                shown=_fmt(r["stall_max_ms_worst"], ".0f") if r else None,
            )
            self.target(
                f"burst, {config}: pending events bounded",
                r["pending_peak"] if r else None,
                f"<= {RELAY_CAPACITY:,} entries",
                lambda v: v <= RELAY_CAPACITY,
                shown=f"{r['pending_peak']:,.0f} ({r['pending_peak_mb']:.1f} MB)" if r else None,
            )
        ratios = d.get("ratios", {})
        for layout in ("thread", "qasync"):
            self.target(
                f"burst req/s relay / naive, {layout}",
                ratios.get(f"rps relay/naive, {layout}"),
                ">= 1",
                lambda v: v >= 1.0,
            )
        self.target(
            "burst, GUI slowed 100x (spinning): proxy p99 / normal",
            ratios.get("p99 slowed/normal"),
            "<= 1.1",
            lambda v: v <= 1.1,
        )
        self.target(
            "burst, GUI slowed 100x (sleeping): proxy p99 / normal",
            ratios.get("p99 slowed (sleep)/normal"),
            "<= 1.1",
            lambda v: v <= 1.1,
        )
        runs = d.get("runs", [])
        equal = all(r["flows_recorded"] == r["sent"] for r in runs) if runs else None
        self.target(
            "flows recorded = flows sent (every burst run)",
            equal,
            "always",
            lambda v: v is True,
            shown=f"{sum(r['flows_recorded'] == r['sent'] for r in runs)}/{len(runs)} runs",
        )

    def relay(self) -> None:
        d = self.data("relay")
        if d is None:
            return
        emit = d["emit"]
        picks = [
            "flow, new id",
            "flow, coalesced (100 ids)",
            "low, aggregated (50 keys)",
            "naive relay, no-op callback",
        ]
        cells = ", ".join(f"{k} {emit[k]['median_ns']:.0f}" for k in picks if k in emit)
        self.lines.append(f"Relay emit cost, ns: {cells}")
        worst = max((v["median_ns"] for v in emit.values() if "within_target" in v), default=None)
        self.target(
            "relay emit, worst case (ns)",
            worst,
            "<= 1000",
            lambda v: v <= 1000,
            shown=_fmt(worst, ".0f"),
            note="bench_relay's own target",
        )

    def model(self) -> None:
        d = self.data("model")
        if d is None:
            return
        steps = d["steps"]
        parts = []
        for name, step in steps.items():
            if name == "fill store":
                continue
            gap = f", worst gap {step['gap_max_ms']:.0f} ms" if "gap_max_ms" in step else ""
            parts.append(f"{name} {step['seconds']:.2f} s{gap}")
        self.lines.append(
            f"Table model, {d['flows']:,} flows: "
            + "; ".join(parts)
            + f"; RSS peak {d['rss_peak'] / 2**30:.2f} GiB"
        )
        self.target(
            f"{d['flows']:,} flows: RSS peak (GiB)",
            d["rss_peak"] / 2**30,
            "<= 2",
            lambda v: v <= 2.0,
        )

    def lifecycle(self) -> None:
        d = self.data("lifecycle")
        if d is None:
            return
        s = d["startup"]
        quits = ", ".join(f"{name} {q['quit_s']:.2f} s" for name, q in d["quit"].items())
        self.lines.append(f"Start-up to window painted {s['paint_s']:.2f} s; quit: {quits}")
        self.target("window shown after start (s)", s["paint_s"], "<= 1.5", lambda v: v <= 1.5)
        events = d["config"]["events"]
        for name, q in d["quit"].items():
            if "idle" in name:
                continue
            self.target(
                f"quit with {events:,} events queued, {name.split(',')[0]} (s)",
                q["quit_s"],
                "<= 0.5",
                lambda v: v <= 0.5,
                note="" if name.startswith("relay-thread") else "for comparison",
            )

    def others(self) -> None:
        certs = self.data("certs")
        if certs is not None and "ec" in certs:
            first = certs["ec"]["server_context, first use of a name"]["median_us"]
            cached = certs["ec"]["server_context, cached"]["median_us"]
            self.lines.append(
                f"Certificates (EC): first use of a name {first / 1000:.1f} ms, "
                f"cached {cached:.1f} us"
            )
        engine = self.data("engine")
        if engine is not None:
            parts = [
                f"{r['load']} {r['ratio']:.2f}"
                for r in engine["table"]
                if r["proxy"] == "inspector" and "ratio" in r
            ]
            self.lines.append("bench_engine, headless / bare h11 proxy req/s: " + ", ".join(parts))
        tunnels = self.data("tunnels")
        if tunnels is not None:
            self.lines.append(
                "bench_tunnels, tunnels/s: "
                + ", ".join(f"{k} {v['tunnels_per_s']:,.0f}" for k, v in tunnels.items())
            )

    def render(self, header: str) -> str:
        self.proxy()
        self.https()
        self.pressure()
        self.relay()
        self.model()
        self.lifecycle()
        self.others()
        out = [header, "", *self.lines, "", f"{'Target':<64}{'value':>20}  {'wanted':<20}verdict"]
        for t in self.targets:
            note = f"  ({t['note']})" if t["note"] else ""
            out.append(f"{t['target']:<64}{t['shown']:>20}  {t['wanted']:<20}{t['verdict']}{note}")
        failed = [n for n, r in self.results.items() if r["data"] is None]
        if failed:
            out.append("")
            for name in failed:
                out.append(
                    f"{name}: FAILED (exit {self.results[name]['exit']}): "
                    f"{(self.results[name]['error'] or '')[-300:]}"
                )
        return "\n".join(out)
