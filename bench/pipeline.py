"""Benchmarks 1-3: the daily partition through `dagster asset materialize`, stage by stage.

1. e2e:      200 leads on the default (realistic) sandbox profile, against DESIGN's baselines and the
             vendor-bound floor (idiCORE searches / rate limit + CCC round trips).
2. overhead: the same 200 leads with zero-latency vendors: what Dagster and the process cost beyond the
             stages' own work and Python start-up.
3. scale:    10,000 and 100,000 leads in one partition, zero latency: wall time, peak RSS, time per lead
             per stage, and the time not spent waiting on a vendor.
7. sizes:    200, 2,000 and 20,000 leads under the strict sliding-window rate limit (50 searches/s): each
             run against its vendor floor, idiCORE's utilisation of the limit, 429s and breaker openings,
             and a plot of run time against leads per day with the floor drawn on it.
"""

from __future__ import annotations

import datetime as dt
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.harness import PROJECT_ROOT, BenchResult, Target
from bench.stack import DEFAULT_PROFILE, WINDOW_PROFILE, ZERO_LATENCY, BenchStack, CliRun
from etl_platform.adapters.baselines_file import load_baselines
from etl_platform.core.stages import PIPELINE_ORDER, STAGES

BENCH_DAY = dt.date(2026, 6, 1)  # any day in the partitions; fixed so every run sees the same leads


def _run_once(stack: BenchStack, label: str, code: list[str] | None = None) -> dict:
    """A fresh run of the day (cache and results cleared first) and everything measured about it."""
    stack.forget_outputs()
    cli: CliRun = stack.materialize_day(label, code)
    record, trace = stack.latest_trace()
    if trace.status != "SUCCESS":
        raise RuntimeError(f"benchmark run {trace.run_id} ended {trace.status}")
    stages = {s.asset: s for s in trace.stages}
    created = record.create_timestamp.timestamp()
    stage_seconds = {a: float(stages[a].seconds) for a in PIPELINE_ORDER}
    baselines = load_baselines()
    judged = {a: baselines.stages[a].judge(stage_seconds[a], stages[a].metadata) for a in PIPELINE_ORDER}
    contacts, ccc = stages["lead_contacts"].metadata, stages["litigator_scrub"].metadata
    return {
        "cli": cli,
        "run_id": trace.run_id,
        # spawn -> run record created: interpreter, imports, loading the code location, planning
        "startup": created - cli.started_at,
        # spawn -> the first step's STEP_START event: everything before the pipeline's own work
        "first_step": (trace.first_step_at or created) - cli.started_at,
        "run_wall": record.end_time - record.start_time,
        # first step start -> last step end: the pipeline's span, what the floor is compared with
        "step_span": (trace.last_step_at or record.end_time) - (trace.first_step_at or record.start_time),
        # run record created -> started, and ended -> process exit
        "pre_run": record.start_time - created,
        "teardown": cli.exited_at - record.end_time,
        "stages": stage_seconds,
        "baseline": judged,
        "stage_work": sum(stage_seconds.values()),
        "idicore_vendor": float(contacts.get("vendor_seconds", 0.0)),
        "ccc_vendor": float(ccc.get("vendor_seconds", 0.0)),
        "searches": int(contacts["searches"]),
        "idicore_429": int(contacts.get("idicore_http_429", 0)),
        "client_peak_per_second": int(contacts.get("idicore_peak_per_second", 0)),
        "breaker_openings": int(contacts.get("idicore_breaker_openings", 0)) + int(ccc.get("ccc_breaker_openings", 0)),
        "ccc_calls": int(ccc.get("ccc_calls", 0)),
        "phones": int(ccc["distinct_phones"]),
        "leads_in": int(stages["raw_leads"].metadata["rows_out"]),
    }


def import_seconds(repeats: int, first: str = "") -> list[float]:
    """Interpreter start-up plus importing the code location (what every CLI process pays first); `first`
    is Python run before it (to import what the code location defers, for the before figure)."""
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"{first}import etl_platform.definitions"], check=True)
        runs.append(time.perf_counter() - t0)
    return runs


def bench_startup(repeats: int) -> BenchResult:
    """What a run pays before its first step, and what deferring Snowpark and snowflake.core saved
    (etl_platform/defs/snowflake_resource.py): the "before" imports them first, as dagster_snowflake did."""
    result = BenchResult("startup", "6. Run start-up: spawn to first step (200 leads, zero-latency vendors)")
    result.add("import etl_platform.definitions (now: Snowpark, snowflake.core deferred)", "s", import_seconds(repeats))
    result.add(
        "import etl_platform.definitions (before: Snowpark, snowflake.core imported)",
        "s",
        import_seconds(repeats, "import snowflake.snowpark, snowflake.core; "),
    )
    with BenchStack(ZERO_LATENCY, BENCH_DAY, 200) as stack:
        stack.load_registry()
        runs = [_run_once(stack, f"startup-{i}") for i in range(repeats)]
        result.add("spawn -> run created (dagster asset materialize)", "s", [r["startup"] for r in runs])
        result.add("spawn -> first step started", "s", [r["first_step"] for r in runs])
        result.add("[in-process executor] first step start -> last step end", "s", [r["step_span"] for r in runs])
        # The executors the in-process one was chosen over (bench/executor_variants.py), same day and stack.
        stack.env["PYTHONPATH"] = str(PROJECT_ROOT)
        for name in ("multiprocess_spawn", "multiprocess_forkserver"):
            code = ["-m", "bench.executor_variants", "-a", name]
            variant = [_run_once(stack, f"startup-{name}-{i}", code) for i in range(repeats)]
            result.add(f"[{name}] spawn -> first step started", "s", [r["first_step"] for r in variant])
            result.add(f"[{name}] first step start -> last step end", "s", [r["step_span"] for r in variant])
    return result


def _stage_figures(result: BenchResult, runs: list[dict], per: int | None = None) -> None:
    for asset in PIPELINE_ORDER:
        values = [r["stages"][asset] for r in runs]
        # DESIGN's baseline beside each stage (scaled by volume where the stage scales, as the checks do)
        judged = runs[len(runs) // 2]["baseline"][asset]
        note = (
            f"baseline: typical <= {judged.typical_limit:.3g} s, concern > {judged.concern_limit:.3g} s; "
            f"worst run {max((r['baseline'][asset].status for r in runs), key=['OK', 'SLOW', 'CONCERN'].index)}"
        )
        result.add(f"stage: {STAGES[asset].name}", "s", values, note)
        if per:
            result.add(f"  per lead: {STAGES[asset].name}", "us", [v / per * 1e6 for v in values])


def bench_e2e(repeats: int) -> BenchResult:
    profile = DEFAULT_PROFILE
    result = BenchResult("e2e", "1. 200 leads, default sandbox profile (CLI materialization)")
    with BenchStack(profile, BENCH_DAY, 200) as stack:
        stack.load_registry()
        runs = [_run_once(stack, f"e2e-{i}") for i in range(repeats)]
    searches = statistics.median(r["searches"] for r in runs)
    ccc_calls = statistics.median(r["ccc_calls"] for r in runs)
    floor = searches / profile.client_rate_limit + ccc_calls * profile.ccc_latency_ms / 1000
    result.context = {
        "idiCORE": f"{profile.idicore_latency_ms:.0f} ms, {profile.idicore_rate_limit:.0f}/s",
        "CCC": f"{profile.ccc_latency_ms:.0f} ms",
        "searches": int(searches),
        "ccc_calls": int(ccc_calls),
        "phones": int(statistics.median(r["phones"] for r in runs)),
    }
    result.add("CLI wall (spawn to exit)", "s", [r["cli"].wall_seconds for r in runs])
    result.add("  process start-up (to run created)", "s", [r["startup"] for r in runs])
    result.add("  run wall (run record)", "s", [r["run_wall"] for r in runs])
    result.add("  stages' own work", "s", [r["stage_work"] for r in runs])
    _stage_figures(result, runs)
    result.add("  idiCORE search phase", "s", [r["idicore_vendor"] for r in runs], "inside the idiCORE stage")
    result.add("  CCC call phase", "s", [r["ccc_vendor"] for r in runs], "inside the CCC stage")
    result.add("vendor-bound floor", "s", [floor], "searches / rate limit + CCC round trips")
    result.add("  first step start -> last step end", "s", [r["step_span"] for r in runs])
    result.add("step span / floor", "x", [r["step_span"] / floor for r in runs])
    result.add("run wall / floor", "x", [r["run_wall"] / floor for r in runs])
    result.add("stages' own work / floor", "x", [r["stage_work"] / floor for r in runs])
    total = load_baselines().total
    result.add("DESIGN total baseline, typical high", "s", [total.typical_high], f"concern > {total.concern:g} s")
    result.targets = [
        Target("200 leads: first step start to last step end <= 1.25x the floor", "step span / floor", 1.25)
    ]
    return result


def bench_overhead(repeats: int) -> BenchResult:
    result = BenchResult("overhead", "2. Orchestration overhead: 200 leads, zero-latency vendors")
    with BenchStack(ZERO_LATENCY, BENCH_DAY, 200) as stack:
        stack.load_registry()
        runs = [_run_once(stack, f"overhead-{i}") for i in range(repeats)]
    result.add("CLI wall (spawn to exit)", "s", [r["cli"].wall_seconds for r in runs])
    result.add("python + imports (import etl_platform.definitions)", "s", import_seconds(repeats))
    result.add("process start-up (spawn to run created)", "s", [r["startup"] for r in runs])
    result.add("stages' own work", "s", [r["stage_work"] for r in runs])
    _stage_figures(result, runs)
    result.add("run wall (run record)", "s", [r["run_wall"] for r in runs])
    result.add("in-run overhead (run wall - stage work)", "s", [r["run_wall"] - r["stage_work"] for r in runs])
    result.add("run created -> started", "s", [r["pre_run"] for r in runs])
    result.add("run ended -> process exit", "s", [r["teardown"] for r in runs])
    result.add(
        "overhead beyond start-up",
        "s",
        [r["cli"].wall_seconds - r["startup"] - r["stage_work"] for r in runs],
        "CLI wall - start-up - stage work",
    )
    result.targets = [Target("orchestration under 2 s beyond start-up", "overhead beyond start-up", 2.0)]
    return result


def bench_scale(repeats: int, sizes: list[int]) -> BenchResult:
    result = BenchResult("scale", "3. Scale: one partition, zero-latency vendors")
    per_lead_by_size: dict[int, dict[str, float]] = {}
    for size in sizes:
        with BenchStack(ZERO_LATENCY, BENCH_DAY, size) as stack:
            stack.load_registry()
            runs = [_run_once(stack, f"scale-{size}-{i}") for i in range(repeats)]
        leads = runs[0]["leads_in"] or size
        tag = f"{size:,}"
        result.add(f"[{tag}] CLI wall", "s", [r["cli"].wall_seconds for r in runs])
        result.add(f"[{tag}] run wall", "s", [r["run_wall"] for r in runs])
        result.add(f"[{tag}] peak RSS (run process)", "MiB", [r["cli"].peak_rss_mib for r in runs])
        vendor = [r["idicore_vendor"] + r["ccc_vendor"] for r in runs]
        result.add(f"[{tag}] vendor phases (idiCORE searches + CCC calls)", "s", vendor)
        result.add(
            f"[{tag}] non-vendor time",
            "s",
            [r["cli"].wall_seconds - v for r, v in zip(runs, vendor, strict=True)],
            "CLI wall - vendor phases",
        )
        for asset in PIPELINE_ORDER:
            result.add(f"[{tag}] {STAGES[asset].name} per lead", "us", [r["stages"][asset] / leads * 1e6 for r in runs])
        per_lead_by_size[size] = {a: statistics.median(r["stages"][a] for r in runs) / leads for a in PIPELINE_ORDER}
        result.context[f"leads_in[{tag}]"] = leads
        result.context[f"searches[{tag}]"] = runs[0]["searches"]
        result.context[f"phones[{tag}]"] = runs[0]["phones"]
    if len(sizes) >= 2:
        small, large = min(sizes), max(sizes)
        for asset in PIPELINE_ORDER:
            ratio = per_lead_by_size[large][asset] / per_lead_by_size[small][asset]
            result.add(f"per-lead cost {large:,} / {small:,}: {STAGES[asset].name}", "x", [ratio], "1.0 = linear")
    largest = f"{max(sizes):,}"
    result.targets = [
        Target(f"{largest} leads: non-vendor time under 60 s", f"[{largest}] non-vendor time", 60),
        Target(f"{largest} leads: peak memory under 1.5 GB", f"[{largest}] peak RSS (run process)", 1536),
    ]
    return result


SIZES = (200, 2_000, 20_000)
REPEATED_UP_TO = 2_000  # sizes above this run once (20,000 leads take ~7 minutes at 50 searches/s)
SIZES_PLOT = PROJECT_ROOT / "bench" / "sizes.png"


def vendor_floor(profile, searches: int, ccc_calls: int) -> float:
    """What the vendors alone impose: every search at the rate limit, plus each CCC call's round trip."""
    return searches / profile.client_rate_limit + ccc_calls * profile.ccc_latency_ms / 1000


def bench_sizes(repeats: int, sizes: tuple[int, ...] = SIZES) -> BenchResult:
    profile = WINDOW_PROFILE
    result = BenchResult("sizes", "7. Leads per day against the vendor floor (strict sliding-window limit, 50/s)")
    result.context = {
        "idiCORE": f"{profile.idicore_latency_ms:.0f} ms, {profile.idicore_rate_limit:.0f}/s sliding window",
        "CCC": f"{profile.ccc_latency_ms:.0f} ms",
        "floor": "searches / 50 per s + CCC calls x 400 ms",
    }
    points = []
    for size in sizes:
        with BenchStack(profile, BENCH_DAY, size) as stack:
            stack.load_registry()
            times = repeats if size <= REPEATED_UP_TO else 1
            runs = [_run_once(stack, f"sizes-{size}-{i}") for i in range(times)]
        tag = f"[{size:,}]"
        floors = [vendor_floor(profile, r["searches"], r["ccc_calls"]) for r in runs]
        result.add(f"{tag} first step start -> last step end", "s", [r["step_span"] for r in runs])
        result.add(
            f"{tag} vendor floor", "s", floors, f"{runs[0]['searches']:,} searches, {runs[0]['ccc_calls']} CCC calls"
        )
        result.add(f"{tag} span / floor", "x", [r["step_span"] / f for r, f in zip(runs, floors, strict=True)])
        result.add(f"{tag} idiCORE search phase", "s", [r["idicore_vendor"] for r in runs])
        result.add(
            f"{tag} idiCORE utilisation",
            "ratio",
            [r["searches"] / r["idicore_vendor"] / profile.idicore_rate_limit for r in runs],
            "searches/s achieved / the enforced limit",
        )
        result.add(f"{tag} idiCORE 429s", "count", [r["idicore_429"] for r in runs])
        result.add(
            f"{tag} most searches the client sent in one second",
            "count",
            [r["client_peak_per_second"] for r in runs],
            "the vendor's limit is 50: a 429 beside a figure <= 50 is jitter on the way, not the client",
        )
        result.add(f"{tag} breaker openings", "count", [r["breaker_openings"] for r in runs])
        result.add(f"{tag} run start-up (spawn -> first step)", "s", [r["first_step"] for r in runs])
        points.append((size, statistics.median(r["step_span"] for r in runs), statistics.median(floors)))
    largest = f"[{max(sizes):,}]"
    result.targets = [
        Target(f"{largest} idiCORE utilisation >= 0.95", f"{largest} idiCORE utilisation", 0.95, True),
        Target(f"{largest} no breaker openings", f"{largest} breaker openings", 0),
    ]
    if 200 in sizes:
        result.targets.insert(0, Target("[200] span <= 1.25x the floor", "[200] span / floor", 1.25))
    plot_sizes(points)
    return result


def plot_sizes_from(results_json) -> None:
    """Redraw the plot from a results JSON's `sizes` benchmark (`python -m bench --plot-sizes FILE`)."""
    import json
    import re

    (sizes,) = [b for b in json.loads(Path(results_json).read_text())["benchmarks"] if b["name"] == "sizes"]
    figures = {f["name"]: f["median"] for f in sizes["figures"]}
    leads = sorted({int(m.group(1).replace(",", "")) for n in figures if (m := re.match(r"\[([\d,]+)\]", n))})
    points = []
    for size in leads:
        tag = f"[{size:,}]"
        points.append((size, figures[f"{tag} first step start -> last step end"], figures[f"{tag} vendor floor"]))
    plot_sizes(points)


def plot_sizes(points: list[tuple[int, float, float]], path=SIZES_PLOT) -> None:
    """Run time (first step start to last step end) against leads per day, with the vendor floor."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    leads = [p[0] for p in points]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    ax.plot(leads, [p[2] for p in points], "--", color="grey", label="vendor floor (searches / 50 per s + CCC)")
    ax.plot(leads, [p[1] for p in points], "o-", color="tab:blue", label="pipeline: first step start to last step end")
    for size, span, floor in points:
        ax.annotate(f"{span / floor:.2f}x", (size, span), textcoords="offset points", xytext=(6, -12), fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("leads per day")
    ax.set_ylabel("seconds")
    ax.set_title("One daily partition against the vendor floor (idiCORE 50/s, sliding window)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
