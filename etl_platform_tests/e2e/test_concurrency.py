"""A vendor's rate limit is shared by every run: the vendor-bound steps of concurrent runs take turns
through the instance's concurrency pools (dagster.yaml: one slot per pool)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import time

import dagster as dg

from etl_platform.cli.environment import dagster_bin, ensure_pools, materialize_args
from etl_platform.core.stages import VENDOR_POOLS


def test_pools_are_declared_and_limited(defs, instance):
    graph = defs.resolve_asset_graph()
    pools = {key.to_user_string(): graph.get(key).pools for key in graph.get_all_asset_keys()}
    assert pools["lead_contacts"] == {"idicore"} and pools["litigator_scrub"] == {"ccc"}
    declared = {pool for assets_pools in pools.values() if assets_pools for pool in assets_pools}
    assert set(VENDOR_POOLS) == declared, "ensure_pools must create every declared pool"
    assert instance.get_concurrency_config().pool_config.default_pool_limit == 1


def test_concurrent_runs_take_turns_at_the_vendor_steps(defs, instance, sandbox, registry_loaded, tmp_path):
    """Two partitions materialized at the same time by two `dagster` processes: the second run's idiCORE
    step waits for the first one's slot, so together they never exceed the vendor's rate limit.

    The test holds the `idicore` slot itself until both runs are queued for it, so that both really wait
    however their start-ups differ (timing alone made this flaky on a loaded machine)."""
    days = ["2026-03-16", "2026-03-17"]
    sandbox.seed_leads([dt.date.fromisoformat(d) for d in days], per_day=40)
    with sandbox.connect() as conn:
        conn.cursor().execute("DROP TABLE IF EXISTS ENRICHMENT_CACHE")  # both runs must search; recreated
    sandbox.idicore.update(latency_ms=100)
    storage = instance.event_log_storage
    holder = ("test-holds-the-idicore-slot", "holder")
    ensure_pools()  # what `etl-platform run/backfill/setup` do first: no lazy creation racing between runs
    assert storage.get_concurrency_info("idicore").slot_count == 1
    assert storage.claim_concurrency_slot("idicore", *holder).is_claimed
    procs = []
    try:
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
        deadline = time.monotonic() + 180
        while len(storage.get_concurrency_info("idicore").pending_run_ids) < 2:
            assert time.monotonic() < deadline, "both runs should have queued for the idicore slot"
            assert all(p.poll() is None for p in procs), "a run ended before reaching its idiCORE step"
            time.sleep(0.5)
    finally:
        storage.free_concurrency_slot_for_step(*holder)
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), "\n".join(o[-2000:] for o in outputs)

    windows = []
    for day in days:
        (record,) = instance.get_run_records(dg.RunsFilter(tags={"dagster/partition": day}))
        stats = {s.step_key: s for s in instance.get_run_step_stats(record.dagster_run.run_id)}
        windows.append((stats["lead_contacts"].start_time, stats["lead_contacts"].end_time))
    (_, first_end), (second_start, _) = sorted(windows)
    assert first_end <= second_start, f"idiCORE steps of the two runs overlapped: {windows}"
    assert all("blocked by limit for pool idicore" in o for o in outputs)
