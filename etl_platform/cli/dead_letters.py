"""`etl-platform dead-letters list|replay --partition D`.

Replay re-materializes the partition through Dagster once the cause is fixed (the lead corrected in LEADS,
the vendor back): `lead_results` replaces the partition's results and dead letters in one transaction, so a
replayed lead moves from LEAD_DEAD_LETTERS to LEAD_RESULTS and nothing is duplicated; the enrichment cache
keeps the leads that had succeeded from being searched (and billed) again.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import sys

import click

from etl_platform.core.settings import Settings


def fetch_dead_letters(day: dt.date) -> list[dict]:
    # Imported here: the Snowflake resource's module costs seconds to import, and every command is
    # registered with the CLI at start-up.
    from etl_platform.adapters.warehouse import Warehouse
    from etl_platform.defs.resources import snowflake_resource

    # Outside a run, EnvVar fields are resolved by initializing the resource the way Dagster does.
    settings = Settings.from_env(os.environ)
    snowflake = snowflake_resource(os.environ, settings).process_config_and_initialize()
    warehouse = Warehouse.from_settings(snowflake, settings)
    with warehouse.session() as session:
        session.ensure_tables()
        frame = session.frame("list_dead_letters", [day])
    return frame.to_dict("records")


def summarise(rows: list[dict]) -> str:
    if not rows:
        return "no dead letters"
    counts = collections.Counter((r["STAGE"], r["REASON"]) for r in rows)
    lines = [f"{len(rows)} dead letters"]
    lines += [f"  {stage:<10} {reason:<32} {n}" for (stage, reason), n in counts.most_common()]
    return "\n".join(lines)


def list_command(day: dt.date, as_json: bool) -> int:
    rows = fetch_dead_letters(day)
    if as_json:
        print(json.dumps(rows, default=str, indent=2))
        return 0
    print(f"Dead letters for {day}: {summarise(rows)}")
    for r in rows:
        print(f"  {r['LEAD_ID']:<20} {r['STAGE']:<10} {r['REASON']:<32} run {str(r['RUN_ID'])[:8]}")
    return 0


@click.command("dead-letters")
@click.argument("action", type=click.Choice(["list", "replay"]))
@click.option("--partition", required=True, type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output (list)")
def command(action: str, partition: dt.datetime, as_json: bool) -> None:
    """List or replay a partition's dead letters."""
    day = partition.date()
    if action == "list":
        sys.exit(list_command(day, as_json))
    sys.exit(replay(day))


def replay(day: dt.date) -> int:
    """Re-materialize the partition and report which dead letters it delivered."""
    from etl_platform.cli.run import materialize_partition

    before = fetch_dead_letters(day)
    click.echo(f"replaying {day}: {summarise(before)}")
    code = materialize_partition(day.isoformat())
    after = {(r["LEAD_ID"], r["STAGE"]) for r in fetch_dead_letters(day)}
    replayed = [r for r in before if (r["LEAD_ID"], r["STAGE"]) not in after]
    click.echo(f"replayed {len(replayed)} of {len(before)} dead letters; {len(after)} remain")
    return code
