"""The one table of ``run_all.py``: figures picked from each benchmark's
JSON, and every target the project holds itself to judged against them.

Each section reads one benchmark's results (a benchmark that did not run is
left out; one that failed is listed at the end), adds its lines to the
table and its targets to the list. A target whose figure is missing (no
peer, say) is ``n/a`` rather than met or missed. The targets are the
desktop app's as shipped, its engine in a process of its own ("desktop",
"relay-process"); the layouts kept for comparison (the engine on a thread
of the window's process, or on the window's loop) are shown beside them,
and where the old targets were about them they are ``info``: a figure to
compare with, not a verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from inspector.core.settings import RelaySettings

RELAY_CAPACITY = RelaySettings().capacity
"""The default relay capacity (50,000 distinct pending flow ids): the bound
on pending flow entries that "pending-event memory bounded" is judged by."""


def INFO(_value: Any) -> bool:
    """The ``ok`` of a figure shown for comparison, with no target."""
    return True


def _row(table: list[dict[str, Any]], **match: str) -> dict[str, Any] | None:
    for row in table:
        if all(row.get(k) == v for k, v in match.items()):
            return row
    return None


def _fmt(value: Any, spec: str = ",.0f", unit: str = "") -> str:
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
        elif ok is INFO:
            verdict = "info"
        else:
            verdict = "met" if ok(value) else "MISSED"
        if shown is None:
            shown = _fmt(value, ".2f") if isinstance(value, float) else _fmt(value, "")
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
        for mode in ("desktop", "desktop-thread", "desktop-qasync"):
            if mode not in d["config"]["modes"]:
                continue
            for load in loads:
                row = _row(table, load=load, mode=mode)
                shipped = mode == "desktop" and "keep-alive" in load
                self.target(
                    f"{mode} / headless req/s, {load}",
                    row.get("vs_headless") if row else None,
                    ">= 0.9" if shipped else "-",
                    (lambda v: v >= 0.9) if shipped else INFO,
                    note="" if shipped else "for comparison",
                )
        for mode in d["config"].get("idle_modes", []):
            for load in loads[:2]:
                row = _row(table, load=f"{load} +{idle} idle", mode=mode)
                shipped = mode in ("desktop", "headless")
                self.target(
                    f"{mode}: req/s with {idle} idle / without, {load}",
                    row.get("vs_no_idle") if row else None,
                    ">= 0.9",
                    lambda v: v >= 0.9,
                    note="" if shipped else "comparison layout",
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
        if d["table"]:
            self.lines += [
                f"GUI burst: {c['requests']:,} GETs, {c['connections']} connections, app on "
                f"screen ({c['rounds']} round(s); slow100 = apply_batch 100x slower, spinning or "
                "sleeping)",
                f"  {'config':<29}{'req/s':>7}{'p99 ms':>8}{'stall max/p99 ms':>18}"
                f"{'eng lag':>9}{'pending (MB)':>16}{'recorded/sent':>16}{'drops':>7}"
                f"{'catch-up':>9}{'CPU us':>8}",
            ]
        for r in d["table"]:
            catchup = f"{r['catchup_s']:.1f}s" if r.get("catchup_s") is not None else "never"
            mb = r.get("pending_peak_mb")
            pending = f"{r['pending_peak']:,.0f} ({_fmt(mb, '.1f')})"
            recorded = f"{r['flows_recorded']:,.0f}/{r['sent']:,.0f}"
            drops = r["flow_dropped"] + r["low_dropped"]
            self.lines.append(
                f"  {r['config']:<29}{_fmt(r['rps']):>7}{r['p99_ms']:>8.0f}"
                f"{r['stall_max_ms']:>11.0f}/{r['stall_p99_ms']:<6.0f}"
                f"{r['engine_lag_max_ms']:>7.0f}ms{pending:>16}{recorded:>16}{drops:>7,.0f}"
                f"{catchup:>9}{r['cpu_us_per_req']:>8.0f}"
            )
        stop = d.get("stop")
        if stop:
            self.lines.append(
                f"  window stopped (SIGSTOP) {stop['stopped_s']:.0f} s under load, process "
                f"layout: {_fmt(stop['rps'])} req/s ({stop['rps_ratio']:.2f}x running), p99 "
                f"{stop['p99_ms']:.0f} ms ({stop['p99_ratio']:.2f}x), {stop['lost_total']} of "
                f"{_fmt(stop['sent'])} requests lost, table caught up "
                f"{_fmt(stop['catchup_s'], '.1f')} s after SIGCONT"
            )
        if d.get("fixed"):
            top = sorted(m["rps"] for m in d["headless_max"])
            cells = ", ".join(
                f"{r['config']} {r['p99_corrected_ms']:.0f} ({r['p99_ms']:.0f})" for r in d["fixed"]
            )
            self.lines.append(
                f"  fixed load, {c['fixed_share']:.0%} of headless's max "
                f"({_fmt(top[len(top) // 2] if top else None)} req/s): p99 ms from each "
                f"request's slot (from its send): {cells}"
            )
        for failure in d.get("failures", []):
            self.lines.append(f"  FAILED: {failure}")
        rows = {r["config"]: r for r in d["table"]}
        for config in ("relay-process", "relay-thread", "relay-qasync"):
            r = rows.get(config)
            shipped = config == "relay-process"
            self.target(
                f"burst, {config}: GUI stall max (ms)",
                r["stall_max_ms_worst"] if r else None,
                "<= 50",
                lambda v: v <= 50,
                shown=_fmt(r["stall_max_ms_worst"], ".0f") if r else None,
                note="" if shipped else "comparison layout",
            )
            mb = r.get("pending_peak_mb") if r else None
            self.target(
                f"burst, {config}: pending events bounded",
                r["pending_peak"] if r else None,
                f"<= {RELAY_CAPACITY:,} entries",
                lambda v: v <= RELAY_CAPACITY,
                shown=f"{r['pending_peak']:,.0f} ({_fmt(mb, '.1f')} MB)" if r else None,
                note="" if shipped else "comparison layout",
            )
        ratios = d.get("ratios", {})
        for layout in ("process", "thread", "qasync"):
            self.target(
                f"burst req/s relay / naive, {layout}",
                ratios.get(f"rps relay/naive, {layout}"),
                ">= 1",
                lambda v: v >= 1.0,
                note="" if layout == "process" else "comparison layout",
            )
        for key in ("rps relay process/thread", "p99 relay process/thread"):
            self.target(f"burst, {key}", ratios.get(key), "-", INFO)
        self.target(
            "fixed load, window slowed 100x (spinning), process: p99 / normal",
            ratios.get("fixed load p99 slowed/normal, process"),
            "<= 1.5",
            lambda v: v <= 1.5,
            note="p99 from each request's slot",
        )
        self.target(
            "fixed load, window slowed 100x (sleeping), process: p99 / normal",
            ratios.get("fixed load p99 slowed (sleep)/normal, process"),
            "-",
            INFO,
            note="the same batches, no CPU taken",
        )
        nice = next((k for k in ratios if k.startswith("fixed load p99 ") and "nice" in k), None)
        self.target(
            "fixed load, slowed 100x (spinning), window niced 10: p99 / normal",
            ratios.get(nice) if nice else None,
            "-",
            INFO,
            note="a measured change (nice_window.py), not the app as it is",
        )
        self.target(
            "fixed load, window slowed 100x (spinning), thread: p99 / normal",
            ratios.get("fixed load p99 slowed/normal, thread"),
            "-",
            INFO,
            note="comparison layout",
        )
        for layout in ("process", "thread"):
            self.target(
                f"burst (saturated), window slowed 100x (spinning), {layout}: p99 / normal",
                ratios.get(f"p99 slowed/normal, {layout}"),
                "-",
                INFO,
                note="thread layout: 10.34 at 3817572" if layout == "thread" else "",
            )
        self.target(
            "burst, window slowed 100x (sleeping), process: p99 / normal",
            ratios.get("p99 slowed (sleep)/normal, process"),
            "<= 1.1",
            lambda v: v <= 1.1,
        )
        if stop:
            self.target(
                "window stopped 10 s: req/s / running (worst round)",
                stop["rps_ratio_worst"],
                ">= 0.9",
                lambda v: v >= 0.9,
            )
            self.target(
                "window stopped 10 s: p99 / running (worst round)",
                stop["p99_ratio_worst"],
                "<= 1.2",
                lambda v: v <= 1.2,
            )
            self.target(
                "window stopped 10 s: flows lost",
                stop["lost_total"],
                "0",
                lambda v: v == 0,
            )
            self.target(
                "window stopped 10 s: table caught up after SIGCONT (s, worst)",
                stop["catchup_s_worst"],
                "<= 2",
                lambda v: v <= 2.0,
                shown=_fmt(stop["catchup_s_worst"], ".2f"),
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
        gib = 2**30
        parts = []
        for name, step in d["steps"].items():
            if "gap_max_ms" not in step:
                continue
            parts.append(f"{name} {step['seconds']:.2f} s, worst gap {step['gap_max_ms']:.0f} ms")
        self.lines.append(
            f"Table, {d['flows']:,} flows from an engine process: "
            + "; ".join(parts)
            + f"; RSS peak {d['rss_peak'] / gib:.2f} GiB together (engine "
            f"{d['engine_rss_peak'] / gib:.2f}, window {d['gui_rss_peak'] / gib:.2f}): engine "
            f"{d['engine_bytes_per_flow']:,.0f} B a flow, mirror {d['mirror_bytes_per_row']:,.0f}"
            f" B a row, window growth {d['gui_growth_per_row']:,.0f} B a row"
        )
        insert = d["steps"].get("insert (streamed)", {})
        if "decode_max_ms" in insert:
            self.lines.append(
                f"  insert: {insert['batches']} batches, the worst one's decoding "
                f"{insert['decode_max_ms']:.0f} ms, checking {insert['check_max_ms']:.0f} ms, "
                f"applying {insert['apply_max_ms']:.0f} ms"
            )
        self.target(
            f"{d['flows']:,} flows: RSS peak of both processes (GiB)",
            d["rss_peak"] / gib,
            "<= 1.34",
            lambda v: v <= 1.34,
            note="the single process's figure at 3817572",
        )
        worst = max(
            (step["gap_max_ms"] for step in d["steps"].values() if "gap_max_ms" in step),
            default=None,
        )
        self.target(
            f"{d['flows']:,} flows: worst GUI slice, insert/sort/filter (ms)",
            worst,
            "<= 61",
            lambda v: v <= 61,
            shown=_fmt(worst, ".0f"),
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
                note="" if name.startswith("relay-process") else "for comparison",
            )

    def websocket(self) -> None:
        d = self.data("websocket")
        if d is None:
            return
        echo = d["echo"]
        cells = ", ".join(
            f"{e['path']}{' deflate' if e['deflate'] else ''} {_fmt(e['msgs_per_s'])}/s"
            for e in echo
        )
        self.lines.append(f"WebSocket echo, {d['config']['messages']:,} messages: {cells}")
        self.target(
            "WebSocket echo byte-identical and every message recorded, all paths",
            all(e["verified"] and e["recorded_ok"] for e in echo),
            "yes",
            bool,
            shown="yes" if all(e["verified"] and e["recorded_ok"] for e in echo) else "no",
        )
        for direction in ("down", "up"):
            intercept = _row(d["stream"], direction=direction, path="wss-intercept")
            passthrough = _row(d["stream"], direction=direction, path="wss-passthrough")
            if intercept is None or passthrough is None:
                continue
            self.lines.append(
                f"WebSocket stream {direction} {intercept['mib']:,.0f} MiB: wss intercepted "
                f"{intercept['mib_per_s']:,.0f} MiB/s ({intercept['engine_ms_per_mib']:.2f} ms "
                f"engine CPU a MiB), passthrough {passthrough['mib_per_s']:,.0f} MiB/s "
                f"({passthrough['engine_ms_per_mib']:.2f}); engine RSS +"
                f"{intercept['rss_run_peak_mib']:.0f} MiB at peak"
            )
            self.target(
                f"WebSocket {direction} over wss intercepted / TLS passthrough",
                intercept["ratio"],
                ">= 0.8" if direction == "down" else "reported",
                (lambda v: v >= 0.8) if direction == "down" else INFO,
                note="" if direction == "down" else "masked frames",
            )
        stream_mib = max(r["mib"] for r in d["stream"])
        peak = max(r["rss_run_peak_mib"] for r in d["stream"])
        self.target(
            f"engine RSS added by a {stream_mib:,.0f} MiB WebSocket stream (MiB)",
            peak,
            "flat (<= 16)",
            lambda v: v <= 16,
            shown=f"{peak:.0f}",
        )

    def session(self) -> None:
        d = self.data("session")
        if d is None:
            return
        cap, kill, har, opened = (d.get(k) for k in ("capture", "kill", "har", "open"))
        if cap:
            cells = ", ".join(
                f"{row['load']} {row['mode']} {_fmt(row['rps'])} (p99 {row['p99_ms']:.0f} ms)"
                for row in cap["table"]
            )
            self.lines.append(f"Session file, headless req/s off/on: {cells}")
            for load, ratio in cap["ratio_on_off"].items():
                self.target(f"session on / off req/s, {load}", ratio, ">= 0.9", lambda v: v >= 0.9)
            checks = cap["checks"]
            self.target(
                "flows in the session = answered, 0.5 s after the load (every round)",
                max((c["missing_live"] for c in checks), default=None),
                "0 missing",
                lambda v: v == 0,
                shown=f"{sum(c['missing_live'] == 0 for c in checks)}/{len(checks)} rounds",
            )
            self.target(
                "flows in the session = answered, after SIGINT (every round)",
                max((c["missing_stopped"] for c in checks), default=None),
                "0 missing",
                lambda v: v == 0,
                shown=f"{sum(c['missing_stopped'] == 0 for c in checks)}/{len(checks)} rounds",
            )
        if kill and kill["runs"]:
            self.lines.append(
                f"  kill -9 after {d['config']['kill_after']:g} s of full load: "
                f"{_fmt(kill['lost'])} flows lost ({kill['lost_s']:.2f} s of traffic; median of "
                f"{len(kill['runs'])} runs), the "
                f"writer behind by up to {_fmt(kill['backlog_max'])} flows, "
                f"{kill['commit_gap_max_s']:.1f} s at most without a commit"
            )
            self.target(
                "kill -9 at full load: seconds of traffic lost (worst run)",
                kill["lost_s_max"],
                "<= 0.5",
                lambda v: v <= 0.5,
                note="the writer commits every 0.25 s",
            )
        if har:
            e, i = har["export"], har["import"]
            self.lines.append(
                f"  HAR, {har['flows']:,} flows: export {e['seconds']:.1f} s "
                f"(peak RSS {e['maxrss_mib']:.0f} MiB), import {i['seconds']:.1f} s "
                f"({i['maxrss_mib']:.0f} MiB)"
            )
            fixed = har.get("fixed")
            for variant, wanted in (("export, idle", "<= 1.2"), ("export", "-")):
                v = fixed.get(variant) if fixed else None
                self.target(
                    f"proxy p99 at half its max, beside a HAR {variant} / alone",
                    v["p99_ratio"] if v else None,
                    wanted,
                    (lambda r: r <= 1.2) if wanted != "-" else INFO,
                    note="as the app runs it; p99 from each request's slot"
                    if wanted != "-"
                    else "the command from a shell, at normal priority",
                )
        if opened:
            self.lines.append(
                f"  open {opened['flows']:,} flows in an engine: first 100 in "
                f"{opened['first_s']:.2f} s, all in {opened['all_s']:.1f} s, engine RSS "
                f"{opened['rss_mib']:,.0f} MiB"
            )
            self.target(
                f"open {opened['flows']:,} flows: engine RSS after loading (GiB)",
                opened["rss_mib"] / 1024,
                "<= 1 (both procs)",
                lambda v: v <= 1.0,
                note="engine only; the window's rows come on top",
            )

    def search(self) -> None:
        d = self.data("search")
        if d is None:
            return
        rows, session, cli, window, proxy = (
            d.get(k) for k in ("rows", "session", "cli", "window", "proxy")
        )
        if rows:
            cells = "; ".join(
                f"{expr} {step['seconds']:.2f} s, worst gap {step['gap_max_ms']:.0f} ms"
                for expr, step in rows["steps"].items()
            )
            self.lines.append(f"Filter over {rows['rows']:,} table rows: {cells}")
            worst = max((step["gap_max_ms"] for step in rows["steps"].values()), default=None)
            self.target(
                f"filter over {rows['rows']:,} rows: worst GUI gap (ms)",
                worst,
                "<= 50",
                lambda v: v <= 50,
                shown=_fmt(worst, ".0f"),
            )
        if session and cli:
            self.lines.append(
                f"Body search, {session['flows']:,} flows ({session['session_mib']:.0f} MiB, "
                f"a third gzip/br): inspector session search {cli['seconds']:.1f} s "
                f"({session['flows'] / cli['seconds']:,.0f} flows/s, peak RSS "
                f"{cli['maxrss_mib']:.0f} MiB), found {cli['found']:,} of {session['planted']:,}"
            )
            self.target(
                "body search: flows found = flows planted",
                cli["found"] == session["planted"],
                "always",
                lambda v: v is True,
                shown=f"{cli['found']:,}/{session['planted']:,}",
            )
        if window:
            self.lines.append(
                f"  in the window: every match shown after {window['seconds']:.1f} s, worst gap "
                f"{window['gap_max_ms']:.0f} ms"
            )
            self.target(
                "body search in the window: worst GUI gap (ms)",
                window["gap_max_ms"],
                "<= 50",
                lambda v: v <= 50,
                shown=_fmt(window["gap_max_ms"], ".0f"),
            )
        if proxy:
            self.lines.append(
                f"  proxy at {proxy['rate']:,.0f} req/s (half its max): p99 alone "
                f"{proxy['alone']['p99_corrected_ms']:.1f} ms, beside the search "
                f"{proxy['search']['p99_corrected_ms']:.1f} ms"
            )
            self.target(
                "proxy p99 at half its max, beside a body search / alone",
                proxy["p99_ratio"],
                "<= 1.2",
                lambda v: v <= 1.2,
                note=f"search at {proxy['priority']} priority, as the app runs it; p99 from "
                "each request's slot",
            )

    def breakpoints(self) -> None:
        d = self.data("breakpoints")
        if d is None or "alone" not in d:
            return
        held, rule = d.get("held"), d.get("rule")
        cells = [f"alone p99 {d['alone']['p99_corrected_ms']:.1f} ms"]
        if held:
            cells.append(
                f"{held['held']} flows held {held['p99_corrected_ms']:.1f} ms "
                f"({held['p99_ratio']:.2f}x, {held['p99_raw_ratio']:.2f}x from the send)"
            )
        if rule:
            cells.append(
                f"the rule, nothing held {rule['p99_corrected_ms']:.1f} ms "
                f"({rule['p99_ratio']:.2f}x)"
            )
        self.lines.append(
            f"Breakpoints: proxy at {d['rate']:,.0f} req/s (half its max), "
            f"{d['config']['fixed_connections']} connections: " + ", ".join(cells)
        )
        if held:
            self.lines.append(
                f"  after resume_all: {held['answered_200']:,} of {held['answered_of']:,} held "
                f"requests answered 200 (the last {held['answered_s'] * 1e3:.0f} ms after); "
                f"engine CPU per request {held['cpu_ratio']:.2f}x alone"
            )
            self.target(
                f"proxy p99 at half its max, {held['held']} flows held / none",
                held["p99_ratio"],
                "<= 1.2",
                lambda v: v <= 1.2,
                note="p99 from each request's slot",
            )
            self.target(
                "held requests answered 200 after resume_all",
                held["answered_200"] == held["answered_of"],
                "always",
                lambda v: v is True,
                shown=f"{held['answered_200']:,}/{held['answered_of']:,}",
            )
        if rule:
            self.target(
                "proxy p99 at half its max, a breakpoint holding nothing / none",
                rule["p99_ratio"],
                "-",
                INFO,
                note="what the rule's matching costs each request",
            )

    def rules(self) -> None:
        d = self.data("rules")
        if d is None:
            return
        o, t = d.get("overhead"), d.get("throttle")
        if o:
            none, with_ = o["modes"]["none"], o["modes"]["rules"]
            j = o["judging"]
            self.lines.append(
                f"Rules: {o['rules_count']} enabled, matching nothing, c={o['connections']} "
                f"keep-alive: {with_['rps']:,.0f} req/s vs {none['rps']:,.0f} with none "
                f"({o['rps_ratio']:.2f}x), CPU per request {with_['cpu_us']:.0f} vs "
                f"{none['cpu_us']:.0f} us; judging them {j['plan_us']:.0f} us a flow "
                f"in-process"
            )
            self.target(
                f"req/s with {o['rules_count']} enabled rules matching nothing / none, c=50",
                o["rps_ratio"],
                ">= 0.9x",
                lambda v: v >= 0.9,
            )
        if t:
            self.lines.append(
                f"  throttle {t['size'] // 1024} KiB at {t['down_kbps']:,} kbit/s: median "
                f"{t['median_s']:.3f} s ({t['min_s']:.3f}-{t['max_s']:.3f}, ideal "
                f"{t['ideal_s']:.3f}); under load {t['under_load_median_s']:.3f} s; fixed "
                f"load p99 beside {t['throttled']} throttled downloads "
                f"{t['beside']['p99_corrected_ms']:.1f} ms vs {t['alone']['p99_corrected_ms']:.1f}"
                f" ms alone ({t['p99_ratio']:.2f}x)"
            )
            self.target(
                f"throttled {t['size'] // 1024} KiB at {t['down_kbps']:,} kbit/s, median (s)",
                t["median_s"],
                f"{t['ideal_s']:.2f} s +- 10%",
                lambda v: abs(v / t["ideal_s"] - 1) <= 0.10,
                shown=f"{t['median_s']:.3f}",
                note=f"worst of {len(t['alone_s'])} runs {t['worst_error']:.1%} off",
            )
            self.target(
                f"fixed load p99 beside {t['throttled']} throttled downloads / alone",
                t["p99_ratio"],
                "-",
                INFO,
                note="a throttled flow does not slow other flows; p99 from each request's slot",
            )

    def viewers(self) -> None:
        d = self.data("viewers")
        if d is None:
            return
        self.lines.append(
            f"Body viewers: a {d['body_mib']:.0f} MiB JSON body: text on screen after "
            f"{d['text_s']:.1f} s, colours and tree {d['colours_and_tree_s']:.1f} s more; "
            f"GUI thread's longest stall {d['gui_stall_max_ms']:.1f} ms"
        )
        self.target(
            f"GUI thread's longest stall opening a {d['body_mib']:.0f} MiB JSON body (ms)",
            d["gui_stall_max_ms"],
            "< 50 ms",
            lambda v: v < 50,
        )

    def proxy_time(self) -> None:
        d = self.data("proxy_time")
        if d is None:
            return
        seq, conc = d["sequential"], d["concurrent"]
        self.lines.append(
            f"Proxy time: a {d['stall_ms']:.0f} ms engine stall after the request head shows as "
            f"{seq['added_ms']:.2f} ms (1 connection), {conc['added_ms']:.2f} ms "
            f"({conc['connections']} connections); baseline {seq['baseline']['median_ms']:.3f} ms"
        )
        self.target(
            f"proxy time added by a {d['stall_ms']:.0f} ms engine stall (ms)",
            seq["added_ms"],
            f"{d['stall_ms']:.0f} +- 1 ms",
            lambda v: abs(v - d["stall_ms"]) <= 1,
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
        self.websocket()
        self.session()
        self.search()
        self.breakpoints()
        self.rules()
        self.viewers()
        self.proxy_time()
        self.others()
        out = [header, "", *self.lines, "", f"{'Target':<72}{'value':>16}  {'wanted':<20}verdict"]
        for t in self.targets:
            note = f"  ({t['note']})" if t["note"] else ""
            out.append(f"{t['target']:<72}{t['shown']:>16}  {t['wanted']:<20}{t['verdict']}{note}")
        failed = [n for n, r in self.results.items() if r["data"] is None]
        if failed:
            out.append("")
            for name in failed:
                out.append(
                    f"{name}: FAILED (exit {self.results[name]['exit']}): "
                    f"{(self.results[name]['error'] or '')[-300:]}"
                )
        return "\n".join(out)
