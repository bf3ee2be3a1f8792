"""The plain Dagster CLI materializes a partition against the Postgres instance with only the documented
environment; `etl-platform trace` then reads the run back from the instance."""

from __future__ import annotations

import datetime as dt
import os
import subprocess

import dagster as dg

from etl_platform.cli.environment import dagster_bin, materialize_args
from etl_platform_tests.conftest import DAY2
from etl_platform_tests.helpers import cli, cli_in_process, results_for


def test_dagster_cli_materializes_a_partition_and_trace_reads_it(
    sandbox, dagster_home, instance, registry_loaded, warehouse, tmp_path
):
    day = DAY2.replace(day=DAY2.day + 1)  # a day no other test runs
    sandbox.seed_leads([day], per_day=60)
    env = os.environ.copy()
    result = subprocess.run(
        [dagster_bin(), *materialize_args(day.isoformat())],
        # Not the project folder: Dagster's CLI would load a developer's .env there over this environment.
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "RUN_SUCCESS" in result.stdout + result.stderr
    rows = results_for(warehouse, day)
    assert rows and {r["PARTITION_DATE"].isoformat() for r in rows} == {day.isoformat()}

    records = instance.get_run_records(dg.RunsFilter(tags={"dagster/partition": day.isoformat()}))
    assert len(records) == 1 and records[0].dagster_run.status == dg.DagsterRunStatus.SUCCESS
    run_id = records[0].dagster_run.run_id
    report = cli("trace", run_id[:8], cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    for stage in ("Snowflake Query", "Pre-filtering", "idiCORE", "CCC", "DNC", "Results Upload"):
        assert f"[OK] {stage}" in report.stdout
    assert f"({len(rows)} rows," in report.stdout
    delivered = len({r["LEAD_ID"] for r in rows})
    assert f"{delivered} records saved ({len(rows)} rows," in report.stdout, "the trace reads the upload's figures"
    secrets = ("sandbox-secret", "sandbox-password", "sandbox-login")
    assert not any(s in result.stdout + result.stderr + report.stdout for s in secrets)


def test_run_says_its_fault_profile_shows_progress_and_the_profile_does_not_outlive_the_run(
    sandbox, dagster_home, instance, registry_loaded, warehouse
):
    """`make run PROFILE=down` printed nothing for minutes, then a Dagster stack trace before the trace; a plain
    `make run` afterwards reused the sandbox with the vendors still down."""
    day = dt.date(2026, 5, 11)
    sandbox.seed_leads([day], per_day=20)
    down = cli_in_process("run", "--partition", day.isoformat(), "--profile", "down", "--skip-registry")
    assert down.returncode != 0
    lines = down.stdout.splitlines()
    assert lines[0].startswith("sandbox fault profile down: FAULTS ON (503 on 100% of requests)"), lines[:3]
    assert "idiCORE Enrichment: started" in down.stdout, "a progress line per step"
    assert "idiCORE Enrichment: failed, retried in" in down.stdout and "http_503" in down.stdout, down.stdout
    assert "idiCORE Enrichment: FAILED: idiCORE failed" in down.stdout
    assert "Stack Trace" not in down.stdout + down.stderr and "Traceback" not in down.stdout + down.stderr
    assert f"run-logs/run-{day}.log" in down.stderr, "where the stack trace is"
    assert "[FAIL] idiCORE Enrichment" in down.stdout, "the trace names the failure"
    # The failed run planned none of the checks of the steps it never reached: Dagster shows a planned check of a
    # failed run as Failed in the UI over the evaluation that passed (`dagster asset materialize` plans them all).
    failed = instance.get_runs(dg.RunsFilter(tags={"dagster/partition": day.isoformat()}), limit=1)[0]
    assert failed.status == dg.DagsterRunStatus.FAILURE and failed.job_name == "daily_leads_job"
    planned = instance.get_records_for_run(
        failed.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED
    ).records
    unplanned_assets = {"litigator_scrub", "dnc_scrub", "lead_results"}
    planned_keys = {r.event_log_entry.dagster_event.asset_check_planned_data.asset_check_key for r in planned}
    assert planned_keys and not {k for k in planned_keys if k.asset_key.path[-1] in unplanned_assets}, planned_keys

    plain = cli_in_process("run", "--partition", day.isoformat(), "--skip-registry")
    assert plain.returncode == 0, plain.stdout[-3000:] + plain.stderr[-3000:]
    assert plain.stdout.splitlines()[0].startswith("sandbox fault profile none: well-behaved vendors"), plain.stdout
    assert sandbox.idicore.faults == {} and sandbox.ccc.faults == {}
    assert "Results Upload: done in" in plain.stdout and results_for(warehouse, day)
