"""A vendor's rate limit is shared by every run: the vendor-bound steps of concurrent runs take turns
through the instance's concurrency pools (dagster.yaml: one slot per pool)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess

import dagster as dg

from etl_platform.environment import dagster_bin, materialize_args


def test_pools_are_declared_and_limited(defs, instance):
    graph = defs.resolve_asset_graph()
    pools = {key.to_user_string(): graph.get(key).pools for key in graph.get_all_asset_keys()}
    assert pools["lead_contacts"] == {"idicore"} and pools["litigator_scrub"] == {"ccc"}
    assert instance.get_concurrency_config().pool_config.default_pool_limit == 1


def test_concurrent_runs_take_turns_at_the_vendor_steps(defs, instance, sandbox, registry_loaded, tmp_path):
    """Two partitions materialized at the same time by two `dagster` processes: the second run's idiCORE
    step waits for the first one's slot, so together they never exceed the vendor's rate limit."""
    days = ["2026-03-16", "2026-03-17"]
    sandbox.seed_leads([dt.date.fromisoformat(d) for d in days], per_day=40)
    with sandbox.connect() as conn:
        conn.cursor().execute("DROP TABLE IF EXISTS ENRICHMENT_CACHE")  # both runs must search; recreated
    # Slow enough (3 waves of 16 searches, ~3 s) that the second process reaches its idiCORE step while
    # the first one holds the slot, however their start-ups differ.
    sandbox.idicore.update(latency_ms=1000)
    procs = [
        subprocess.Popen(
            [dagster_bin(), *materialize_args(day)],
            cwd=tmp_path,
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for day in days
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), "\n".join(o[-2000:] for o in outputs)

    windows = []
    for day in days:
        (record,) = instance.get_run_records(dg.RunsFilter(tags={"dagster/partition": day}))
        stats = {s.step_key: s for s in instance.get_run_step_stats(record.dagster_run.run_id)}
        windows.append((stats["lead_contacts"].start_time, stats["lead_contacts"].end_time))
    (_, first_end), (second_start, _) = sorted(windows)
    assert first_end <= second_start, f"idiCORE steps of the two runs overlapped: {windows}"
    assert any("blocked by limit for pool idicore" in o for o in outputs)
