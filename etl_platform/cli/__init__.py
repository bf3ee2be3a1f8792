"""`etl-platform`: run a day end to end, manage the local sandbox, report on recorded runs.

One module per command (click): run, trace, analyze, backfill, dead-letters, health, sandbox, setup. The
commands may import every layer below (definitions, defs, adapters, core); nothing imports them.
"""

from __future__ import annotations

import click

from etl_platform.cli.environment import load_env


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """etl_platform: daily loan leads -> idiCORE -> CCC + DNC scrubs -> LEAD_RESULTS."""
    load_env()


def _register() -> None:
    from etl_platform.cli import analyze, backfill, dead_letters, health, run, sandbox, setup, trace

    for module in (run, trace, analyze, backfill, dead_letters, health, sandbox, setup):
        main.add_command(module.command)


_register()
