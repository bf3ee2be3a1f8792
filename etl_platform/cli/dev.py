"""`etl-platform dev`: the Dagster UI and daemon (`dagster dev`) with the project's settings, on the sandbox by
default. Started from a folder without a `.env`, so the settings are the ones `etl-platform` chose (exported
variables first) and `dagster` cannot apply a file over them."""

from __future__ import annotations

import os

import click

from etl_platform.cli.environment import (
    DAGSTER_CWD,
    dagster_bin,
    ensure_pools,
    ensure_postgres_database,
    workspace_file,
)
from etl_platform.core.target import describe_target


@click.command("dev")
@click.option("--port", default=3000, show_default=True, help="the UI's port")
def command(port: int) -> None:
    """Start the Dagster UI and daemon on this project (the sandbox unless configured otherwise)."""
    from etl_platform.cli.run import uses_sandbox
    from etl_platform.cli.sandbox import sandbox_start

    ensure_postgres_database(os.environ["DAGSTER_POSTGRES_URL"])
    ensure_pools()
    if uses_sandbox():
        sandbox_start()
    click.echo(f"warehouse target: {describe_target(os.environ)}")
    DAGSTER_CWD.mkdir(parents=True, exist_ok=True)
    os.chdir(DAGSTER_CWD)
    workspace = str(workspace_file())
    os.execv(dagster_bin(), [dagster_bin(), "dev", "-w", workspace, "-p", str(port)])
