"""`etl-platform setup`: the Dagster instance database and the vendor pools' slots."""

from __future__ import annotations

import os

import click

from etl_platform.cli.environment import ensure_pools, ensure_postgres_database


@click.command("setup")
def command() -> None:
    """Create the Dagster instance database if missing, and the vendor pools' slots."""
    ensure_postgres_database(os.environ["DAGSTER_POSTGRES_URL"])
    ensure_pools()
