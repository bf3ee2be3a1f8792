"""A run that dies half-way through the idiCORE searches has kept what it paid for: the people found are in
the enrichment cache already, so the rerun is billed only for the rest (billed searches counted at the
idiCORE sandbox)."""

from __future__ import annotations

import datetime as dt

from etl_platform_tests.helpers import fetch, run_partition, stage_meta

CRASH_DAY = dt.date(2026, 4, 16)
CLEAN_SEARCHES = 30  # the vendor answers this many searches, then goes down for the rest of the run


def test_a_rerun_after_a_failure_half_way_rebills_nothing_that_had_succeeded(
    sandbox, defs, instance, registry_loaded, warehouse
):
    sandbox.seed_leads([CRASH_DAY], per_day=60)
    warehouse.execute("DROP TABLE IF EXISTS ENRICHMENT_CACHE")
    sandbox.idicore.update(faults={"503": 1.0}, fault_after=CLEAN_SEARCHES)
    failed = run_partition(defs, instance, CRASH_DAY, raise_on_error=False)
    assert not failed.success
    first = sandbox.idicore_counters.snapshot()
    assert first["counts"]["searches"] == CLEAN_SEARCHES, "billed before the vendor went down"
    (cached,) = fetch(warehouse, "SELECT COUNT(*) AS N FROM ENRICHMENT_CACHE")
    assert cached["N"] > 0, "the people found before the failure were cached although the step failed"

    sandbox.idicore.update(faults={}, fault_after=None)
    sandbox.idicore_counters.reset()
    rerun = run_partition(defs, instance, CRASH_DAY)
    assert rerun.success
    again = sandbox.idicore_counters.snapshot()
    assert again["counts"]["searches"] == stage_meta(rerun, "lead_contacts")["searches"]
    # billed twice: only the first run's searches that found nobody (those are never cached)
    billed_twice = set(first["references"]) & set(again["references"])
    assert len(billed_twice) == CLEAN_SEARCHES - cached["N"]
    assert stage_meta(rerun, "lead_contacts")["cache_hits"] >= cached["N"]
