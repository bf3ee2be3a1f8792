"""Helpers for the pipeline tests: run a partition (or some of its steps), read LEAD_RESULTS back."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import dagster as dg

from etl_platform.core.stages import DAILY_JOB


def run_partition(
    defs, instance, day: dt.date, raise_on_error: bool = True, steps: list[str] | None = None
) -> dg.ExecuteInProcessResult:
    """The daily job for one partition; `steps` limits it to those assets (the others' stored outputs are
    their inputs)."""
    job = defs.resolve_job_def(DAILY_JOB)
    return job.execute_in_process(
        partition_key=day.isoformat(),
        instance=instance,
        raise_on_error=raise_on_error,
        asset_selection=[dg.AssetKey(s) for s in steps] if steps else None,
    )


def through(*assets: str) -> list[str]:
    """The named steps and the steps before them, in pipeline order: a committed partition keeps no stored
    frames (defs/step_outputs.py), so a step is re-run with its upstream steps. The scrubs are independent:
    through("litigator_scrub") does not include dnc_scrub."""
    from etl_platform.core.stages import PIPELINE_ORDER

    upstream = {"raw_leads": [], "new_leads": ["raw_leads"], "lead_contacts": ["new_leads"]}
    upstream |= {"litigator_scrub": ["lead_contacts"], "dnc_scrub": ["lead_contacts"]}
    upstream["lead_results"] = ["lead_contacts", "litigator_scrub", "dnc_scrub"]
    wanted: set[str] = set()
    todo = list(assets)
    while todo:
        asset = todo.pop()
        if asset not in wanted:
            wanted.add(asset)
            todo.extend(upstream[asset])
    return [a for a in PIPELINE_ORDER if a in wanted]


def stage_meta(result, node: str) -> dict:
    """A step's materialization metadata, unwrapped; {} when it did not materialize."""
    mats = result.asset_materializations_for_node(node)
    return {k: getattr(v, "value", v) for k, v in mats[-1].metadata.items()} if mats else {}


def fetch(cur, query: str, params: list | None = None) -> list[dict]:
    cur.execute(query, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def leads_of_day(cur, day: dt.date) -> set[str]:
    """The LEAD_IDs the day must account for: its rows in LEADS, less the returning leads (those that appear
    on an earlier day within the look-back window belong to that day). An independent oracle: plain SQL on
    LEADS, not the pipeline's query."""
    start = dt.datetime.combine(day, dt.time())
    rows = fetch(
        cur,
        "SELECT LEAD_ID, CREATED_AT FROM LEADS WHERE CREATED_AT >= ? AND CREATED_AT < ?",
        [start - dt.timedelta(days=90), start + dt.timedelta(days=1)],
    )
    earlier = {r["LEAD_ID"] for r in rows if r["CREATED_AT"] < start}
    return {r["LEAD_ID"] for r in rows if r["CREATED_AT"] >= start and r["LEAD_ID"] is not None} - earlier


def results_for(cur, day: dt.date) -> list[dict]:
    return fetch(
        cur,
        "SELECT * FROM LEAD_RESULTS WHERE PARTITION_DATE = ? ORDER BY LEAD_ID, PHONE_RANK NULLS FIRST",
        [day],
    )


def dead_letters_for(cur, day: dt.date) -> list[dict]:
    return fetch(cur, "SELECT * FROM LEAD_DEAD_LETTERS WHERE PARTITION_DATE = ? ORDER BY LEAD_ID", [day])


def cli_in_process(*args: str):
    """`etl-platform ARGS` run in this process through click's test runner: the same command code, without
    paying a new interpreter's imports (~9 s each). Exit code, stdout and stderr as a CompletedProcess.
    Whatever the command's .env loading adds to os.environ is undone afterwards."""
    from click.testing import CliRunner

    from etl_platform.cli import main

    saved = dict(os.environ)
    try:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return subprocess.CompletedProcess(["etl-platform", *args], result.exit_code, result.stdout, result.stderr)


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
