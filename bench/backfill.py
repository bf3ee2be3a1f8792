"""Benchmark 8: a 30-day backfill of 200 leads a day, `etl-platform backfill --parallel 4`, carried out by the
daemon through a code server (the production topology: etl_platform_tests/deployment.py, with the test suite's
shortened daemon intervals), against the strict sliding-window idiCORE limit (50/s).

Several runs go at once, but the `idicore` pool (dagster.yaml) lets one lead_contacts step search at a time,
so the shared limit is never exceeded by runs pacing independently. What is reported, separately:
- vendor-bound time: each run's idiCORE search phase plus its CCC call phase, summed over the 30 runs,
  against 30 times the same figure for one day run on its own (1.0 = no slowdown from running side by side);
- run start-up: run launched -> its first step, per run (hidden behind other runs' searches when parallel);
- idiCORE idle: the part of the backfill (first step start -> last step end) when no run was searching,
  i.e. what start-up, pool hand-overs and the non-vendor stages cost the backfill as a whole;
- 429s and breaker openings over all runs.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import time

from bench.harness import BenchResult, Target
from bench.pipeline import BENCH_DAY, _run_once
from bench.stack import WINDOW_PROFILE, BenchStack
from etl_platform.cli.environment import dagster_bin

DAYS = 30
LEADS_PER_DAY = 200
PARALLEL = 4
FIRST_DAY = dt.date(2026, 5, 1)


def _intervals(instance, run_id: str) -> dict:
    """Timestamps of one run: launched, first step start, last step end, and its idiCORE step."""
    import dagster as dg

    steps: dict[str, list[float]] = {}
    launched = None
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        # RUN_STARTING: the launcher has started the run worker, which then imports the code location
        if event.event_type == dg.DagsterEventType.RUN_STARTING and launched is None:
            launched = entry.timestamp
        if event.event_type in (dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS):
            steps.setdefault(event.step_key, []).append(entry.timestamp)
    first = min(t[0] for t in steps.values())
    last = max(t[-1] for t in steps.values())
    return {"launched": launched, "first_step": first, "last_step": last, "idicore": steps["lead_contacts"]}


def _busy(intervals: list[tuple[float, float]]) -> float:
    """Seconds covered by the union of the intervals."""
    total, end = 0.0, float("-inf")
    for start, stop in sorted(intervals):
        if stop > end:
            total += stop - max(start, end)
            end = stop
    return total


def _runs_of(instance, backfill_id: str):
    import dagster as dg

    return instance.get_run_records(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))


def bench_backfill() -> BenchResult:
    from etl_platform_tests.deployment import start_deployment

    result = BenchResult("backfill", f"8. Backfill: {DAYS} days x {LEADS_PER_DAY} leads, --parallel {PARALLEL}")
    days = [FIRST_DAY + dt.timedelta(days=n) for n in range(DAYS)]
    with BenchStack(WINDOW_PROFILE, BENCH_DAY, LEADS_PER_DAY) as stack:
        stack.load_registry()
        # One day on its own first: the single-day vendor time the backfill is compared with.
        alone = _run_once(stack, "backfill-alone")
        single_vendor = alone["idicore_vendor"] + alone["ccc_vendor"]
        stack.sandbox.seed_leads(days=days, per_day=LEADS_PER_DAY)

        deployment_root = stack.root / "deployment"
        deployment_root.mkdir()
        deployment = start_deployment(deployment_root, dict(stack.env))
        try:
            import dagster as dg

            env = {**stack.env, "DAGSTER_HOME": str(deployment.root)}
            submitted_at = time.time()
            args = ["--start", days[0].isoformat(), "--end", days[-1].isoformat(), "--parallel", str(PARALLEL)]
            cli = os.path.join(os.path.dirname(dagster_bin()), "etl-platform")
            subprocess.run([cli, "backfill", *args], env=env, cwd=stack.root, check=True, capture_output=True)
            home = deployment.root
            with stack.instance_environment(home), dg.DagsterInstance.from_config(str(home)) as instance:
                (backfill,) = [
                    b for b in instance.get_backfills() if set(b.partition_names or []) == {d.isoformat() for d in days}
                ]
                deadline = time.monotonic() + 1800
                while time.monotonic() < deadline:
                    runs = _runs_of(instance, backfill.backfill_id)
                    if len(runs) == DAYS and all(r.dagster_run.is_finished for r in runs):
                        break
                    time.sleep(2)
                else:
                    raise RuntimeError(f"the backfill did not finish in 30 minutes:\n{deployment.logs()}")
                failed = [r.dagster_run.run_id for r in runs if r.dagster_run.status != dg.DagsterRunStatus.SUCCESS]
                if failed:
                    raise RuntimeError(f"{len(failed)} backfill runs failed, e.g. {failed[0]}")
                measured = [_per_run(instance, stack, r) for r in runs]
        finally:
            deployment.stop()

    first_step = min(m["first_step"] for m in measured)
    last_step = max(m["last_step"] for m in measured)
    span = last_step - first_step
    searching = _busy([(m["idicore"][0], m["idicore"][-1]) for m in measured])
    vendor = sum(m["vendor"] for m in measured)
    result.context = {
        "days": DAYS,
        "leads_per_day": LEADS_PER_DAY,
        "parallel": PARALLEL,
        "idiCORE": "250 ms, 50/s sliding window; pool idicore = 1",
        "daemon": "test-suite intervals (run monitoring 1 s)",
    }
    result.add("submit -> last step end", "s", [last_step - submitted_at])
    result.add("first step start -> last step end", "s", [span])
    result.add("single day alone: vendor-bound time", "s", [single_vendor], "idiCORE search + CCC call phases")
    result.add(f"{DAYS} days: vendor-bound time (sum over runs)", "s", [vendor])
    result.add(
        f"vendor-bound / ({DAYS} x single day)",
        "x",
        [vendor / (DAYS * single_vendor)],
        "1.0 = no slowdown side by side",
    )
    result.add("run start-up (launched -> first step), per run", "s", [m["startup"] for m in measured])
    result.add("idiCORE idle within the backfill", "s", [span - searching], "no run searching: start-up, hand-overs")
    result.add("idiCORE busy share of the backfill", "ratio", [searching / span])
    result.add("idiCORE 429s (all runs)", "count", [sum(m["idicore_429"] for m in measured)])
    result.add("breaker openings (all runs)", "count", [sum(m["breaker_openings"] for m in measured)])
    result.targets = [
        Target(f"vendor-bound <= 1.1 x ({DAYS} x single day)", f"vendor-bound / ({DAYS} x single day)", 1.1),
        Target("no breaker openings", "breaker openings (all runs)", 0),
        Target("shared idiCORE limit never exceeded (no 429)", "idiCORE 429s (all runs)", 0),
    ]
    return result


def _per_run(instance, stack: BenchStack, record) -> dict:
    from etl_platform.cli.observe import load_trace

    times = _intervals(instance, record.dagster_run.run_id)
    stages = {s.asset: s.metadata for s in load_trace(instance, record).stages}
    contacts, ccc = stages["lead_contacts"], stages["litigator_scrub"]
    return {
        **times,
        "startup": times["first_step"] - (times["launched"] or record.create_timestamp.timestamp()),
        "vendor": float(contacts.get("vendor_seconds", 0.0)) + float(ccc.get("vendor_seconds", 0.0)),
        "idicore_429": int(contacts.get("idicore_http_429", 0)),
        "breaker_openings": int(contacts.get("idicore_breaker_openings", 0)) + int(ccc.get("ccc_breaker_openings", 0)),
        "searches": int(contacts.get("searches", 0)),
    }
