"""A run worker killed with `kill -9` must not keep its vendor pool slot (dagster.yaml, `run_monitoring`).

Both ways a run starts are tested with a real worker killed while it holds the `idicore` slot:
- launched by the daemon through a code server (as the schedule, sensors, UI and backfills are): the code
  server marks its dead run failed;
- started in-process by a CLI (`dagster job execute` of the daily job, which `etl-platform run` starts; `dagster
  asset materialize` takes the same in-process path): nothing watches that worker, so the run's maximum
  runtime ends it.
Either way the daemon then frees the finished run's slot and the next run can take it.

The deployment fixture (deployment.py: code server, webserver and daemon as separate processes) runs the
project's own dagster.yaml with its intervals shortened (poll every second, slots freed a second after a run
ends); a test checks the project's file keeps the settings that make this work.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
from pathlib import Path

import dagster as dg
import pytest
import yaml

from etl_platform.cli.environment import dagster_bin, daily_job_args, ensure_pools
from etl_platform.cli.health import probe_pools
from etl_platform.core.stages import DAILY_JOB
from etl_platform_tests.deployment import PROJECT_YAML, spawn, stop, wait_for

CODE_SERVER_DAY = dt.date(2026, 4, 6)
CLI_DAY = dt.date(2026, 4, 7)
# The project's global maximum runtime is 2 h. Once the CLI run is dead the test gives it Dagster's per-run
# `dagster/max_runtime` tag instead, so it waits seconds, the live run is never cut short by a slow start, and
# the session's other runs keep the project's bound. The daemon's same check ends it either way.
MAX_RUNTIME = 1


def test_the_project_instance_frees_the_slots_of_dead_runs():
    monitoring = yaml.safe_load(PROJECT_YAML.read_text())["run_monitoring"]
    assert monitoring["enabled"] is True
    assert monitoring["free_slots_after_run_end_seconds"] > 0, "a finished run's slots are never freed"
    assert monitoring["max_runtime_seconds"] > 0, "a dead in-process run would stay STARTED forever"


def _run_workers(pid: int) -> list[int]:
    """The run workers below a code server (Linux /proc): the processes it spawned with multiprocessing."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            children = [int(c) for c in (task / "children").read_text().split()] if (task / "children").exists() else []
            todo.extend(children)
            found.extend(c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes())
    return found


@pytest.fixture
def slow_idicore(sandbox):
    """Enough leads and latency that the idiCORE step holds its slot for a while."""
    sandbox.seed_leads([CODE_SERVER_DAY, CLI_DAY], per_day=300)
    with sandbox.connect() as conn:
        conn.cursor().execute("DROP TABLE IF EXISTS ENRICHMENT_CACHE")  # every lead is searched again
    sandbox.idicore.update(latency_ms=400)


def _idicore_holder(instance) -> str | None:
    claimed = instance.event_log_storage.get_concurrency_info("idicore").claimed_slots
    return claimed[0].run_id if claimed else None


def _run_of(instance, day: dt.date) -> dg.DagsterRun | None:
    records = instance.get_run_records(dg.RunsFilter(tags={"dagster/partition": day.isoformat()}), limit=1)
    return records[0].dagster_run if records else None


def _assert_slot_free_and_claimable(instance, dead_run_id: str, procs) -> None:
    storage = instance.event_log_storage
    wait_for("the dead run's idicore slot to be freed", lambda: _idicore_holder(instance) is None, 30, procs)
    assert dead_run_id not in storage.get_concurrency_run_ids()
    claim = storage.claim_concurrency_slot("idicore", "test-next-run", "lead_contacts")
    try:
        assert claim.is_claimed, "the next run could not take the idicore slot"
    finally:
        storage.free_concurrency_slot_for_step("test-next-run", "lead_contacts")


def test_a_killed_run_launched_through_the_code_server_fails_and_frees_its_slot(
    deployment, deployed_instance, registry_loaded, slow_idicore
):
    instance, procs = deployed_instance, deployment.processes
    ensure_pools()  # what the CLI commands do first (the session's instance: the same database)
    launch = subprocess.run(
        [
            dagster_bin(),
            "job",
            "launch",
            "-w",
            str(deployment.workspace),
            "-j",
            DAILY_JOB,
            "--tags",
            json.dumps({"dagster/partition": CODE_SERVER_DAY.isoformat()}),
        ],
        cwd=deployment.root,
        env=deployment.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert launch.returncode == 0, launch.stdout[-2000:] + launch.stderr[-2000:]
    run_id = wait_for("the launched run to hold the idicore slot", lambda: _idicore_holder(instance), 120, procs)
    assert run_id == _run_of(instance, CODE_SERVER_DAY).run_id

    workers = _run_workers(deployment.code_server.pid)
    assert len(workers) == 1, f"one run worker under the code server, found {workers}"
    os.kill(workers[0], signal.SIGKILL)  # a crash, not a shutdown

    run = wait_for(
        "the dead run to be marked failed",
        lambda: (r := instance.get_run_by_id(run_id)).status == dg.DagsterRunStatus.FAILURE and r,
        60,
        procs,
    )
    crash = [e.message for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)]
    assert any("signal 9" in (m or "") or "SIGKILL" in (m or "") for m in crash), crash[-5:]
    _assert_slot_free_and_claimable(instance, run_id, procs)


def test_a_killed_cli_run_fails_at_its_maximum_runtime_and_frees_its_slot(
    deployment, deployed_instance, registry_loaded, slow_idicore
):
    instance, procs = deployed_instance, deployment.processes
    # What `etl-platform run` starts: `dagster job execute` of the daily job, in-process like `dagster asset
    # materialize`.
    cli = spawn(
        [dagster_bin(), *daily_job_args(CLI_DAY.isoformat())],
        deployment.root / "cli_run.log",
        deployment.env,
        deployment.root,
    )
    try:
        run_id = wait_for("the CLI run to hold the idicore slot", lambda: _idicore_holder(instance), 120, [cli, *procs])
        os.kill(cli.pid, signal.SIGKILL)
        cli.wait(timeout=10)
    finally:
        stop(cli)
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.STARTED, "nothing saw the worker die"
    # What `etl-platform health` shows an operator meanwhile; read before the short maximum runtime is set,
    # as the daemon may start cancelling the run within a second of it (seen on a slow machine in CI).
    status, detail = probe_pools(dict(os.environ))
    # The maximum runtime is set whatever that shows: a dead run left holding the slot would stall every later
    # test of this worker that claims it (seen: a wording change here hung the rest of the e2e tier).
    instance.add_run_tags(run_id, {"dagster/max_runtime": str(MAX_RUNTIME)})  # instead of waiting 2 h
    assert f"idicore: 0 of 1 slot free, held by run {run_id[:8]} (STARTED)" in detail, detail

    run = wait_for(
        "the maximum runtime to end the dead run",
        lambda: (r := instance.get_run_by_id(run_id)).status == dg.DagsterRunStatus.FAILURE and r,
        MAX_RUNTIME + 30,
        procs,
    )
    assert run.tags.get("dagster/partition") == CLI_DAY.isoformat()
    _assert_slot_free_and_claimable(instance, run_id, procs)
