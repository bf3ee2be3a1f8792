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


LOCKED_DAY = dt.date(2026, 4, 17)


def test_a_rerun_blocked_by_a_crashed_upload_fails_in_seconds_naming_what_and_keeps_the_partition(
    sandbox, settings, instance, registry_loaded, warehouse
):
    """A crash in the middle of the upload leaves its session's transaction open on LEAD_RESULTS. The
    rerun's upload fails within its statement bound with an error naming the statement, the table and the
    partition (it was a bare `HTTP 500` after 138 s); the committed partition is untouched, and once the
    dead transaction is gone the rerun goes through."""
    import os

    from etl_platform.definitions import build_definitions

    bound = 3
    defs = build_definitions(settings.model_copy(update={"snowflake_statement_timeout_seconds": bound}), os.environ)
    sandbox.seed_leads([LOCKED_DAY], per_day=20)
    assert run_partition(defs, instance, LOCKED_DAY).success
    partition = "SELECT * FROM LEAD_RESULTS WHERE PARTITION_DATE = ? ORDER BY LEAD_ID, PHONE"
    before = fetch(warehouse, partition, [LOCKED_DAY])

    crashed = sandbox.connect()  # the crashed upload: BEGIN, DELETE of the partition, never committed
    try:
        cur = crashed.cursor()
        cur.execute("BEGIN")
        cur.execute("DELETE FROM LEAD_RESULTS WHERE PARTITION_DATE = ?", [LOCKED_DAY])
        rerun = run_partition(defs, instance, LOCKED_DAY, raise_on_error=False)
    finally:
        crashed.rollback()
        crashed.close()

    assert not rerun.success
    (failure,) = [e for e in rerun.all_events if e.is_step_failure]
    assert failure.step_key == "lead_results"
    error, messages = failure.step_failure_data.error, []
    while error is not None:  # Dagster wraps the step's own error: read the chain
        messages.append(error.message)
        error = error.cause
    message = "\n".join(messages)
    assert "`delete_results_partition`" in message and "LEAD_RESULTS" in message and str(LOCKED_DAY) in message
    stats = {s.step_key: s for s in instance.get_run_step_stats(rerun.run_id)}
    upload_seconds = stats["lead_results"].end_time - stats["lead_results"].start_time
    assert upload_seconds < 30, f"the upload took {upload_seconds:.0f} s to fail"
    after = fetch(warehouse, partition, [LOCKED_DAY])
    assert after == before, "the committed partition changed"
    assert run_partition(defs, instance, LOCKED_DAY).success, "nothing stays stuck once the dead transaction ends"
