"""`etl-platform run`: one daily partition end to end through the plain Dagster CLI, then its trace."""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from pathlib import Path

import click

from etl_platform.cli.environment import (
    DAGSTER_CWD,
    ensure_pools,
    ensure_postgres_database,
    materialize_args,
    run_dagster,
)
from etl_platform.cli.sandbox import check_profile, sandbox_start
from etl_platform.cli.trace import print_trace
from etl_platform.core.stages import DNC_REGISTRY
from etl_platform.core.target import describe_target, warehouse_target

LOGS = DAGSTER_CWD  # run-logs/: the event log of each CLI run


def yesterday() -> str:
    return (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()


def uses_sandbox() -> bool:
    return warehouse_target(os.environ)["sandbox"] == "yes"


def _tail(path: Path, lines: int = 25) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def registry_up_to_date() -> bool:
    from etl_platform.adapters.dnc_store import DncStore

    source = Path(os.environ["DNC_SOURCE_DIR"])
    store = DncStore(Path(os.environ["DNC_REGISTRY_PATH"]))
    return source.is_dir() and store.path.exists() and store.fingerprint() == store.source_fingerprint(source)


def load_registry(verbose: bool) -> int:
    """The registry is not partitioned, so it is a run of its own before the partition's run."""
    if registry_up_to_date():
        click.echo("DNC registry up to date with DNC_SOURCE_DIR: not reloaded")
        return 0
    log_file = None if verbose else LOGS / "dnc_registry.log"
    code = run_dagster(
        ["asset", "materialize", "-m", "etl_platform.definitions", "--select", DNC_REGISTRY.asset], log_file
    )
    if code and log_file:
        click.echo(_tail(log_file), err=True)
    return code


def check_partition(day: dt.date) -> str:
    """The day as a partition key, or a usage error when the daily partitions do not include it."""
    from etl_platform.core.settings import Settings

    first = Settings.from_env(os.environ).partitions_start
    today = dt.datetime.now(dt.UTC).date()
    if not first <= day < today:
        raise click.BadParameter(
            f"{day} is not a daily partition: they run from {first} (ETL_PARTITIONS_START) to yesterday ({today})",
            param_hint="--partition",
        )
    return day.isoformat()


def latest_run_of(partition: str) -> str | None:
    import dagster as dg

    from etl_platform.cli.environment import open_instance

    with open_instance() as instance:
        records = instance.get_run_records(dg.RunsFilter(tags={"dagster/partition": partition}), limit=1)
    return records[0].dagster_run.run_id if records else None


def materialize_partition(partition: str, verbose: bool = False) -> int:
    """The plain Dagster CLI for one partition of the daily assets, then the run's trace."""
    log_file = None if verbose else LOGS / f"run-{partition}.log"
    click.echo(f"warehouse target: {describe_target(os.environ)}")
    click.echo(f"materializing {partition} with `dagster asset materialize` (event log: {log_file or 'console'})")
    started = time.perf_counter()
    code = run_dagster(materialize_args(partition), log_file)
    elapsed = time.perf_counter() - started
    if code and log_file:
        click.echo(_tail(log_file), err=True)
    click.echo(f"\n`dagster asset materialize` for {partition}: {elapsed:.2f} s including process start-up\n")
    run_id = latest_run_of(partition)
    if run_id is None:
        click.echo(f"no run of {partition} was recorded (see {log_file or 'the output above'})", err=True)
        return code or 1
    trace_code = print_trace(run_id)  # a failed run is traced too: the trace says where it failed
    return code or trace_code


@click.command("run")
@click.option(
    "--partition",
    type=click.DateTime(["%Y-%m-%d"]),
    default=yesterday,
    show_default="yesterday, UTC",
    help="YYYY-MM-DD",
)
@click.option("--profile", help="sandbox fault profile: none, flaky, hostile, down, or kind=share,...")
@click.option("--skip-registry", is_flag=True, help="do not (re)load the DNC registry first")
@click.option("--verbose", is_flag=True, help="show Dagster's event log on the console")
def command(partition: dt.datetime, profile: str | None, skip_registry: bool, verbose: bool) -> None:
    """Materialize one daily partition end to end through the Dagster CLI."""
    partition = check_partition(partition.date())
    check_profile(profile)
    ensure_postgres_database(os.environ["DAGSTER_POSTGRES_URL"])
    ensure_pools()
    if uses_sandbox():
        sandbox_start(profile)
    if not skip_registry and (code := load_registry(verbose)):
        sys.exit(code)
    sys.exit(materialize_partition(partition, verbose))
