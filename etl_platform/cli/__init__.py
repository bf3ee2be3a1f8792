"""`etl-platform`: run a day end to end, manage the local sandbox, report on recorded runs.

One module per command (click): run, trace, analyze, backfill, dead-letters, health, sandbox, setup, dev, evidence. The
commands may import every layer below (definitions, defs, adapters, core); nothing imports them.
"""

from __future__ import annotations

import functools
import importlib

import click

from etl_platform.cli.environment import load_env
from etl_platform.core.settings import SettingsError


def dependency_error(err: BaseException) -> str | None:
    """One line for an error that comes from outside the code (a server down, a path not writable), or None
    for anything else (a bug keeps its traceback)."""
    module = type(err).__module__
    first = (str(err).strip().splitlines() or [type(err).__name__])[0][:300]
    if module.startswith(("sqlalchemy", "psycopg2")) or "postgres" in first.lower():
        return f"the Dagster instance's PostgreSQL (DAGSTER_POSTGRES_URL) is not reachable: {first}"
    if module.startswith("snowflake"):
        return f"Snowflake is not reachable or refused the request (SNOWFLAKE_* variables): {first}"
    if isinstance(err, OSError):
        return f"{first}"
    return None


# command name -> its module in etl_platform.cli; each module defines `command`
COMMANDS = {
    "run": "run",
    "trace": "trace",
    "analyze": "analyze",
    "backfill": "backfill",
    "dead-letters": "dead_letters",
    "health": "health",
    "sandbox": "sandbox",
    "setup": "setup",
    "dev": "dev",
    "evidence": "evidence",
}


class _LazyCommands(click.Group):
    """Imports a command's module only when that command is used: `sandbox status` need not pay for
    importing Dagster (~2 s), which `analyze` and `trace` need."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return _load(name) if name in COMMANDS else None


@functools.cache
def _load(name: str) -> click.Command:
    return _with_environment(importlib.import_module(f"etl_platform.cli.{COMMANDS[name]}").command)


@click.group(cls=_LazyCommands, context_settings={"help_option_names": ["-h", "--help"]})
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
        except click.ClickException:
            raise
        except Exception as err:  # a dependency down or unusable: say which, in one line
            if (message := dependency_error(err)) is None:
                raise
            raise click.ClickException(message) from None

    command.callback = run
    return command
