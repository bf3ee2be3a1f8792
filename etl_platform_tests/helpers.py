"""Helpers for the pipeline tests: run a partition, read LEAD_RESULTS back."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import dagster as dg


def run_partition(defs, instance, day: dt.date, raise_on_error: bool = True) -> dg.ExecuteInProcessResult:
    job = defs.resolve_job_def("daily_leads_job")
    return job.execute_in_process(partition_key=day.isoformat(), instance=instance, raise_on_error=raise_on_error)


def fetch(cur, query: str, params: list | None = None) -> list[dict]:
    cur.execute(query, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def results_for(cur, day: dt.date) -> list[dict]:
    return fetch(
        cur,
        "SELECT * FROM LEAD_RESULTS WHERE PARTITION_DATE = ? ORDER BY LEAD_ID, PHONE_RANK NULLS FIRST",
        [day],
    )


def dead_letters_for(cur, day: dt.date) -> list[dict]:
    return fetch(cur, "SELECT * FROM LEAD_DEAD_LETTERS WHERE PARTITION_DATE = ? ORDER BY LEAD_ID", [day])


def cli(*args: str, cwd) -> subprocess.CompletedProcess:
    """`etl-platform ARGS` in a subprocess with the test environment. `cwd` should not be the project folder,
    so no developer .env is involved."""
    return subprocess.run(
        [sys.executable, "-m", "etl_platform.cli", *args],
        env=os.environ.copy(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
