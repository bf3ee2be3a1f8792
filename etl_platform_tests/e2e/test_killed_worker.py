"""A run worker killed with `kill -9` must not keep its vendor pool slot (dagster.yaml, `run_monitoring`).

Both ways a run starts are tested with a real worker killed while it holds the `idicore` slot:
- launched by the daemon through a code server (as the schedule, sensors, UI and backfills are): the code
  server marks its dead run failed;
- started in-process by the CLI (`dagster asset materialize`, what `etl-platform run` starts): nothing
  watches that worker, so the run's maximum runtime ends it.
Either way the daemon then frees the finished run's slot and the next run can take it.

The project's own dagster.yaml is used, with its intervals shortened for the test (poll every second, slots
freed a second after a run ends, a 15 s maximum runtime) in an instance of its own on the session's
database; the test also checks the project's file keeps the settings that make this work.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml

from etl_platform.cli.environment import dagster_bin, ensure_pools, materialize_args
from etl_platform.cli.health import probe_pools
from etl_platform.core.stages import DAILY_JOB
from etl_platform.sandbox.runner import free_port, port_open

PROJECT_YAML = Path(__file__).resolve().parents[2] / "dagster.yaml"
CODE_SERVER_DAY = dt.date(2026, 4, 6)
CLI_DAY = dt.date(2026, 4, 7)
MAX_RUNTIME = 15  # seconds: the CLI run is killed within a few seconds of its start


def test_the_project_instance_frees_the_slots_of_dead_runs():
    monitoring = yaml.safe_load(PROJECT_YAML.read_text())["run_monitoring"]
    assert monitoring["enabled"] is True
    assert monitoring["free_slots_after_run_end_seconds"] > 0, "a finished run's slots are never freed"
    assert monitoring["max_runtime_seconds"] > 0, "a dead in-process run would stay STARTED forever"


def _wait(what: str, condition, timeout: float, procs=()):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
        for proc in procs:
            assert proc.poll() is None, f"{proc.args[:3]} exited with {proc.returncode} while waiting for {what}"
        time.sleep(0.5)
    return value


def _spawn(args: list[str], log: Path, env: dict[str, str], cwd: Path) -> subprocess.Popen:
    out = open(log, "w")  # noqa: SIM115 - the process writes to it until it ends
    return subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (Linux /proc), children first."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            children = (task / "children").read_text().split() if (task / "children").exists() else []
            found.extend(int(c) for c in children)
            todo.extend(int(c) for c in children)
    return found


@pytest.fixture(scope="module")
def monitored(dagster_home, postgres_url, sandbox, registry_loaded, tmp_path_factory):
    """An instance with the project's run monitoring (intervals shortened), a code server serving the
    definitions over gRPC, and a daemon using it: the deployment's topology, on the session's database."""
    root = tmp_path_factory.mktemp("monitored")
    config = yaml.safe_load(PROJECT_YAML.read_text())
    config["run_monitoring"] |= {
        "poll_interval_seconds": 1,
        "free_slots_after_run_end_seconds": 1,
        "max_runtime_seconds": MAX_RUNTIME,
    }
    (root / "dagster.yaml").write_text(yaml.safe_dump(config))
    port = free_port()
    (root / "workspace.yaml").write_text(
        yaml.safe_dump({"load_from": [{"grpc_server": {"host": "127.0.0.1", "port": port, "location_name": "etl"}}]})
    )
    env = os.environ | {"DAGSTER_HOME": str(root)}
    bin_dir = Path(sys.executable).parent
    code_server = _spawn(
        [str(bin_dir / "dagster"), "api", "grpc", "-m", "etl_platform.definitions", "-h", "127.0.0.1", "-p", str(port)],
        root / "code_server.log",
        env,
        root,
    )
    daemon = None
    try:
        _wait("the code server", lambda: port_open(port), 120, [code_server])
        daemon = _spawn(
            [str(bin_dir / "dagster-daemon"), "run", "-w", str(root / "workspace.yaml")], root / "daemon.log", env, root
        )
        with dg.DagsterInstance.from_config(str(root)) as instance:
            yield {"root": root, "env": env, "instance": instance, "code_server": code_server, "daemon": daemon}
    finally:
        for proc in (daemon, code_server):
            if proc is not None:
                _stop(proc)


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
    _wait("the dead run's idicore slot to be freed", lambda: _idicore_holder(instance) is None, 30, procs)
    assert dead_run_id not in storage.get_concurrency_run_ids()
    claim = storage.claim_concurrency_slot("idicore", "test-next-run", "lead_contacts")
    try:
        assert claim.is_claimed, "the next run could not take the idicore slot"
    finally:
        storage.free_concurrency_slot_for_step("test-next-run", "lead_contacts")


def test_a_killed_run_launched_through_the_code_server_fails_and_frees_its_slot(monitored, slow_idicore):
    instance, procs = monitored["instance"], [monitored["code_server"], monitored["daemon"]]
    ensure_pools()  # what the CLI commands do first (the session's instance: the same database)
    launch = subprocess.run(
        [
            dagster_bin(),
            "job",
            "launch",
            "-w",
            str(monitored["root"] / "workspace.yaml"),
            "-j",
            DAILY_JOB,
            "--tags",
            json.dumps({"dagster/partition": CODE_SERVER_DAY.isoformat()}),
        ],
        cwd=monitored["root"],
        env=monitored["env"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert launch.returncode == 0, launch.stdout[-2000:] + launch.stderr[-2000:]
    run_id = _wait("the launched run to hold the idicore slot", lambda: _idicore_holder(instance), 120, procs)
    assert run_id == _run_of(instance, CODE_SERVER_DAY).run_id

    workers = _descendants(monitored["code_server"].pid)
    assert workers, "the code server runs its runs in child processes"
    for pid in workers:  # the run worker (and anything it started): a crash, not a shutdown
        os.kill(pid, signal.SIGKILL)

    run = _wait(
        "the dead run to be marked failed",
        lambda: (r := instance.get_run_by_id(run_id)).status == dg.DagsterRunStatus.FAILURE and r,
        60,
        procs,
    )
    crash = [e.message for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)]
    assert any("signal 9" in (m or "") or "SIGKILL" in (m or "") for m in crash), crash[-5:]
    _assert_slot_free_and_claimable(instance, run_id, procs)


def test_a_killed_cli_run_fails_at_its_maximum_runtime_and_frees_its_slot(monitored, slow_idicore):
    instance, procs = monitored["instance"], [monitored["code_server"], monitored["daemon"]]
    cli = _spawn(
        [dagster_bin(), *materialize_args(CLI_DAY.isoformat())],
        monitored["root"] / "cli_run.log",
        monitored["env"],
        monitored["root"],
    )
    try:
        run_id = _wait("the CLI run to hold the idicore slot", lambda: _idicore_holder(instance), 120, [cli, *procs])
        os.kill(cli.pid, signal.SIGKILL)
        cli.wait(timeout=10)
    finally:
        _stop(cli)
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.STARTED, "nothing saw the worker die"
    status, detail = probe_pools(dict(os.environ))  # what `etl-platform health` shows an operator meanwhile
    assert f"idicore 1/1 held by run {run_id[:8]} (STARTED)" in detail, detail

    run = _wait(
        "the maximum runtime to end the dead run",
        lambda: (r := instance.get_run_by_id(run_id)).status == dg.DagsterRunStatus.FAILURE and r,
        MAX_RUNTIME + 30,
        procs,
    )
    assert run.tags.get("dagster/partition") == CLI_DAY.isoformat()
    _assert_slot_free_and_claimable(instance, run_id, procs)
