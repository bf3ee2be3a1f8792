"""`etl-platform dev`: the Dagster UI and daemon (`dg dev`) with the project's settings, on the sandbox by
default. Started from a folder without a `.env`, so the settings are the ones `etl-platform` chose (exported
variables first) and Dagster cannot apply a file over them.

`dg dev -w workspace.yaml` (Dagster's successor to `dagster dev`, which now says to use it) with a workspace
file goes straight to Dagster's dev server: without one it would change into the project folder and load its
`.env` over the environment. Where `dg` is not installed (a wheel without the dev tools), `dagster dev`.

Stopping (Ctrl-C, or SIGTERM from a supervisor) stops every process it started: `dagster dev` stopped with
SIGTERM left its code server and gRPC children running. So it runs in a process group of its own; a stop is
forwarded to it as the Ctrl-C it handles, and whatever of its tree is still alive afterwards is killed."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from etl_platform.cli.environment import (
    DAGSTER_CWD,
    dagster_bin,
    describe_instance,
    ensure_pools,
    ensure_postgres_database,
    workspace_file,
)
from etl_platform.core.target import describe_target

SHUTDOWN_SECONDS = 60  # how long Dagster may take to stop its services before the rest are killed


def dev_args(workspace: Path, port: int) -> list[str]:
    dg = Path(sys.executable).with_name("dg")
    program = [str(dg)] if dg.exists() else [dagster_bin()]
    return [*program, "dev", "-w", str(workspace), "-p", str(port)]


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (Linux /proc; empty elsewhere): also those that left its process group."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _kill(pids: set[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def stop_tree(proc: subprocess.Popen, tree: set[int]) -> None:
    """Ctrl-C to the dev server (it stops its webserver, daemon and code servers), then the rest of its group
    and of the tree seen while it ran: SIGTERM, and SIGKILL for what is still there."""
    tree |= descendants(proc.pid)
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=SHUTDOWN_SECONDS)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        _kill(tree, sig)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in tree | {proc.pid}) and time.monotonic() < deadline:
            proc.poll()  # reap the server itself
            time.sleep(0.2)
    proc.poll()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has exited; its parent reaps it


def run_until_stopped(args: list[str], cwd: Path) -> int:
    """`args` in a process group of its own until it exits, or until SIGINT/SIGTERM here: then stop its tree."""
    stop: list[int] = []

    def requested(signum, _frame) -> None:
        stop.append(signum)

    # Our own handlers (also when started with SIGINT ignored, as under nohup): a handled signal is reset to
    # the default at exec, so the server gets Python's Ctrl-C handling, not an inherited "ignore".
    previous = {sig: signal.signal(sig, requested) for sig in (signal.SIGINT, signal.SIGTERM)}
    proc = subprocess.Popen(args, cwd=cwd, start_new_session=True)  # Ctrl-C reaches it only through us
    tree: set[int] = set()
    try:
        seen = time.monotonic()
        while proc.poll() is None and not stop:
            time.sleep(0.2)
            if time.monotonic() - seen > 5:  # remember the tree while it runs: a child may outlive its parent
                tree |= descendants(proc.pid)
                seen = time.monotonic()
    finally:
        if stop:
            click.echo("stopping the Dagster UI and daemon ...", err=True)
        stop_tree(proc, tree)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if stop else proc.returncode


@click.command("dev")
@click.option("--port", default=3000, show_default=True, help="the UI's port")
def command(port: int) -> None:
    """Start the Dagster UI and daemon on this project (the sandbox unless configured otherwise); Ctrl-C stops
    every process it started."""
    from etl_platform.cli.run import uses_sandbox
    from etl_platform.cli.sandbox import sandbox_start

    if uses_sandbox():
        sandbox_start()
    click.echo(f"Dagster instance: {describe_instance(os.environ)}")
    ensure_postgres_database(os.environ["DAGSTER_POSTGRES_URL"])
    ensure_pools()
    click.echo(f"warehouse target: {describe_target(os.environ)}")
    click.echo(f"the UI: http://127.0.0.1:{port} (Ctrl-C stops it, its daemon and code server)")
    DAGSTER_CWD.mkdir(parents=True, exist_ok=True)
    sys.exit(run_until_stopped(dev_args(workspace_file(), port), DAGSTER_CWD))
