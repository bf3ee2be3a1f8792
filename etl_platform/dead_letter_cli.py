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

from etl_platform.resources import build_resources
from etl_platform.warehouse import Warehouse


def fetch_dead_letters(day: dt.date) -> list[dict]:
    # Outside a run, EnvVar fields are resolved by initializing the resource the way Dagster does.
    warehouse = Warehouse(build_resources(os.environ)["snowflake"].process_config_and_initialize())
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
