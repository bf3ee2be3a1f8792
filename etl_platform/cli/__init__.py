"""`etl-platform`: run a day end to end, manage the local sandbox, report on recorded runs.

One module per command (click): run, trace, analyze, backfill, dead-letters, health, sandbox, setup. The
commands may import every layer below (definitions, defs, adapters, core); nothing imports them.
"""

from __future__ import annotations

import functools

import click

from etl_platform.cli.environment import load_env
from etl_platform.core.settings import SettingsError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """etl_platform: daily loan leads -> idiCORE -> CCC + DNC scrubs -> LEAD_RESULTS."""


def _with_environment(command: click.Command) -> click.Command:
    """Load .env when the command runs, after its options parsed: `--help` and a usage error touch nothing."""
    callback = command.callback

    @functools.wraps(callback)
    def run(*args, **kwargs):
        load_env()
        try:
            return callback(*args, **kwargs)
        except SettingsError as err:  # one line naming the variables, not a traceback
            raise click.ClickException(str(err)) from None

    command.callback = run
    return command


def _register() -> None:
    from etl_platform.cli import analyze, backfill, dead_letters, health, run, sandbox, setup, trace

    for module in (run, trace, analyze, backfill, dead_letters, health, sandbox, setup):
        main.add_command(_with_environment(module.command))


_register()
