"""Backfills from the command line: a real Dagster backfill carried out by the daemon on the Postgres
instance, and the synchronous mode; overlapping reruns leave one clean result per day."""

from __future__ import annotations

import datetime as dt
import time

import dagster as dg
from dagster._core.execution.backfill import BulkActionStatus

from etl_platform.cli.environment import DAGSTER_CWD
from etl_platform_tests.helpers import cli, cli_in_process, results_for

DAYS = [dt.date(2026, 3, 22), dt.date(2026, 3, 23)]


def test_backfill_submitted_from_the_cli_is_run_by_the_daemon(
    sandbox, instance, registry_loaded, warehouse, daemon, tmp_path
):
    sandbox.seed_leads(DAYS, per_day=30)
    submitted = cli(
        "backfill", "--start", DAYS[0].isoformat(), "--end", DAYS[-1].isoformat(), "--parallel", "2", cwd=tmp_path
    )
    assert submitted.returncode == 0, submitted.stdout[-2000:] + submitted.stderr[-2000:]
    (backfill,) = [b for b in instance.get_backfills() if set(b.partition_names or []) == {d.isoformat() for d in DAYS}]

    # The daemon requests the backfill's runs, the run queue launches them; wait for both to finish.
    deadline = time.monotonic() + 300
    runs = []
    while time.monotonic() < deadline:
        runs = instance.get_run_records(dg.RunsFilter(tags={"dagster/backfill": backfill.backfill_id}))
        if len(runs) == len(DAYS) and all(r.dagster_run.is_finished for r in runs):
            break
        time.sleep(2)
    assert len(runs) == len(DAYS), daemon.read_text()[-3000:]
    failures = [
        e.message
        for r in runs
        if r.dagster_run.status != dg.DagsterRunStatus.SUCCESS
        for e in instance.all_logs(r.dagster_run.run_id)
        if e.is_dagster_event and e.dagster_event.event_type_value in ("STEP_FAILURE", "RUN_FAILURE", "ENGINE_EVENT")
    ]
    assert all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in runs), (
        failures[-6:],
        runs[0].dagster_run.remote_job_origin,
    )
    backfill = instance.get_backfill(backfill.backfill_id)
    assert backfill.status in (BulkActionStatus.COMPLETED, BulkActionStatus.COMPLETED_SUCCESS), backfill.status
    assert all(r.dagster_run.tags.get("etl/parallel") == "2" for r in runs)
    for day in DAYS:
        assert results_for(warehouse, day)


def test_synchronous_range_and_overlapping_rerun_leave_one_clean_result_per_day(
    sandbox, instance, registry_loaded, warehouse, tmp_path
):
    days = [dt.date(2026, 3, 25), dt.date(2026, 3, 26), dt.date(2026, 3, 27)]
    sandbox.seed_leads(days, per_day=30)
    first = cli_in_process("backfill", "--start", days[0].isoformat(), "--end", days[1].isoformat(), "--sync")
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    # Dagster's DEBUG event log stays in run-logs/, as `etl-platform run` keeps it: one line per day here
    assert "STEP_START" not in first.stdout + first.stderr, first.stderr[-2000:]
    assert f"{days[0]}: SUCCESS" in first.stdout and f"{days[1]}: SUCCESS" in first.stdout
    log_file = DAGSTER_CWD / f"backfill-{days[0]}-{days[1]}.log"
    assert str(log_file) in first.stdout and "STEP_START" in log_file.read_text()
    snapshot = {d: [(r["LEAD_ID"], r["PHONE"], r["CALLABLE"]) for r in results_for(warehouse, d)] for d in days[:2]}
    # An overlapping range (day 2 again, plus day 3), as a second backfill or the schedule would run it.
    second = cli_in_process("backfill", "--start", days[1].isoformat(), "--end", days[2].isoformat(), "--sync")
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]
    for day in days[:2]:
        assert [(r["LEAD_ID"], r["PHONE"], r["CALLABLE"]) for r in results_for(warehouse, day)] == snapshot[day]
    all_rows = [(r["PARTITION_DATE"], r["LEAD_ID"], r["PHONE"]) for d in days for r in results_for(warehouse, d)]
    assert len(all_rows) == len(set(all_rows))
    # A lead re-sent on a later day is delivered once: by the earliest partition that saw it.
    delivered = [r["LEAD_ID"] for d in days for r in results_for(warehouse, d) if r["PHONE_RANK"] in (None, 1)]
    assert len(delivered) == len(set(delivered))
