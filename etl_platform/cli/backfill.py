"""`etl-platform backfill --start D1 --end D2`: a real Dagster backfill, carried out by the daemon, or a
synchronous range in this process for small ranges."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys

import click

from etl_platform.cli.environment import (
    DAGSTER_CWD,
    ensure_pools,
    ensure_postgres_database,
    run_dagster,
    workspace_file,
)
from etl_platform.core.stages import DAILY_JOB

MAX_PARALLEL = 4  # the etl/parallel tag limits configured in dagster.yaml


def days_between(start: dt.date, end: dt.date) -> list[str]:
    if end < start:
        raise ValueError("--end is before --start")
    return [(start + dt.timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


def submit(start: dt.date, end: dt.date, parallel: int) -> int:
    """Submit the backfill to the instance; the daemon launches its runs through the run queue."""
    if not 1 <= parallel <= MAX_PARALLEL:
        raise SystemExit(f"--parallel must be between 1 and {MAX_PARALLEL} (see dagster.yaml)")
    ensure_pools()  # several runs start at once: the pools must exist before the first claims a slot
    code = run_dagster(
        [
            "job",
            "backfill",
            "-w",
            str(workspace_file()),
            "-j",
            DAILY_JOB,
            "--from",
            start.isoformat(),
            "--to",
            end.isoformat(),
            "--noprompt",
            "--tags",
            json.dumps({"etl/parallel": str(parallel)}),
        ]
    )
    if code == 0:
        print(
            "submitted: it shows in the UI's backfill list; the daemon (`dagster-daemon run`, or `make dev`) "
            f"runs it, {parallel} partition(s) at a time"
        )
    return code


def run_synchronously(start: dt.date, end: dt.date, verbose: bool = False) -> int:
    """Each day in order, in this process, recorded in the instance like any run (small ranges). Dagster's
    event log (DEBUG, every event) goes to a file in run-logs/ as `etl-platform run` keeps it, the console
    gets one line per day; --verbose shows the event log on the console instead."""
    import dagster as dg

    from etl_platform.core.settings import Settings
    from etl_platform.definitions import build_definitions

    log_file = None if verbose else DAGSTER_CWD / f"backfill-{start}-{end}.log"
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        print(f"running {start} to {end} in this process; Dagster's event log: {log_file}", flush=True)
    defs = build_definitions(Settings.from_env(os.environ), os.environ)
    job = defs.resolve_job_def(DAILY_JOB)
    failed = []
    with dg.DagsterInstance.get() as instance:
        for day in days_between(start, end):
            # Dagster's console logger writes to whatever sys.stderr is at each message: the file, here.
            with contextlib.ExitStack() as stack:
                if log_file is not None:
                    stack.enter_context(contextlib.redirect_stderr(stack.enter_context(open(log_file, "a"))))
                result = job.execute_in_process(
                    partition_key=day, instance=instance, raise_on_error=False, tags={"etl/backfill": "synchronous"}
                )
            print(f"{day}: {'SUCCESS' if result.success else 'FAILURE'} (run {result.run_id})", flush=True)
            if not result.success:
                failed.append(day)
    if failed:
        print(f"failed partitions: {', '.join(failed)}; trace them with `etl-platform trace RUN_ID`", file=sys.stderr)
    return 1 if failed else 0


@click.command("backfill")
@click.option("--start", required=True, type=click.DateTime(["%Y-%m-%d"]), help="first partition, YYYY-MM-DD")
@click.option("--end", required=True, type=click.DateTime(["%Y-%m-%d"]), help="last partition (inclusive)")
@click.option(
    "--parallel",
    type=click.IntRange(1, MAX_PARALLEL),
    default=2,
    show_default=True,
    help="partitions at once (the etl/parallel limits in dagster.yaml)",
)
@click.option("--sync", is_flag=True, help="run the days one after another in this process")
@click.option("--verbose", is_flag=True, help="with --sync: show Dagster's event log on the console")
def command(start: dt.datetime, end: dt.datetime, parallel: int, sync: bool, verbose: bool) -> None:
    """A range of partitions: a daemon-run Dagster backfill, or --sync in this process."""
    from etl_platform.cli.run import check_partition

    if end < start:
        raise click.BadParameter(f"{end.date()} is before --start {start.date()}", param_hint="--end")
    check_partition(start.date())
    check_partition(end.date())
    ensure_postgres_database(os.environ["DAGSTER_POSTGRES_URL"])
    if sync:
        sys.exit(run_synchronously(start.date(), end.date(), verbose))
    sys.exit(submit(start.date(), end.date(), parallel))
