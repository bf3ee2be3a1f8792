"""`etl-platform evidence --phone N`: every verdict recorded for one number, across partitions and runs, with
the evidence behind it (SCRUB_EVIDENCE: the DNC copy and file, when CCC answered). What an auditor asks for
first. The number is printed in full here (the person asking typed it); logs only ever show it masked."""

from __future__ import annotations

import json
import logging
import os
import sys

import click

from etl_platform.core.phones import mask, normalise

log = logging.getLogger(__name__)


def fetch_evidence(phone: str) -> list[dict]:
    from etl_platform.adapters.warehouse import Warehouse, WarehouseError
    from etl_platform.core.settings import Settings
    from etl_platform.defs.resources import snowflake_resource

    settings = Settings.from_env(os.environ)
    snowflake = snowflake_resource(os.environ, settings).process_config_and_initialize()
    # Read only (an auditor's role may not create tables): a warehouse without SCRUB_EVIDENCE has no history.
    with Warehouse.from_settings(snowflake, settings).session() as session:
        try:
            frame = session.frame("phone_evidence", [phone])
        except WarehouseError as err:
            if "does not exist" in str(err):
                return []
            raise
    return frame.to_dict("records")


def render(phone: str, rows: list[dict]) -> str:
    if not rows:
        return f"no verdict recorded for {phone}"
    lines = [f"{len(rows)} verdicts recorded for {phone} (oldest first)"]
    for r in rows:
        verdict = "CALLABLE" if r["CALLABLE"] else f"blocked ({r['BLOCK_REASON']})"
        lines.append(
            f"  {r['PARTITION_DATE']} run {str(r['RUN_ID'])[:8]} lead {r['LEAD_ID']}: {verdict}\n"
            f"      litigator {r['LITIGATOR_STATUS']}{_why(r['LITIGATOR_REASON'])}, CCC answered "
            f"{r['CCC_ANSWERED_AT'] or 'never'}\n"
            f"      DNC {r['DNC_STATUS']}{_why(r['DNC_REASON'])}, area code {r['DNC_AREA_CODE'] or '-'} copy of "
            f"{r['DNC_COPY_DATE'] or '-'} from {r['DNC_SOURCE_FILE'] or '-'}\n"
            f"      recorded {r['RECORDED_AT']}"
        )
    return "\n".join(lines)


def _why(reason) -> str:
    return f" ({reason})" if reason else ""


@click.command("evidence")
@click.option("--phone", required=True, help="the number, in any common format (e.g. 267-546-6417)")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def command(phone: str, as_json: bool) -> None:
    """The scrub evidence for one phone number, across partitions and runs."""
    normalised = normalise(phone)
    if normalised.phone is None:
        raise click.BadParameter(f"not a valid US number ({normalised.reason})", param_hint="--phone")
    log.info("evidence requested for %s", mask(normalised.phone))
    rows = fetch_evidence(normalised.phone)
    if as_json:
        click.echo(json.dumps(rows, default=str, indent=2))
    else:
        click.echo(render(normalised.phone, rows))
    sys.exit(0)
