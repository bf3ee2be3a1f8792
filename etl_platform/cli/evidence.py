"""`etl-platform evidence --phone N`: every verdict recorded for one number, across partitions and runs, with
the evidence behind it (SCRUB_EVIDENCE: the DNC copy and file, when CCC answered). What an auditor asks for
first. The number is printed in full here (the person asking typed it); logs only ever show it masked.

To find a number to look up: `--partition D` lists a day's leads and their phones, `--lead ID` shows the
evidence for each phone of one lead. Both print the phones masked (nobody typed them); the full numbers stay
in the warehouse (LEAD_RESULTS)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys

import click

from etl_platform.core.phones import mask, normalise

log = logging.getLogger(__name__)

LISTED = 20  # rows `--partition` prints unless --limit says otherwise


def how_to_find(day: str = "YYYY-MM-DD") -> str:
    """How to find a number to look up, without printing one."""
    query = "SELECT LEAD_ID, PHONE FROM LEAD_RESULTS WHERE PARTITION_DATE ="  # a hint for a person, never run
    return (
        f"to find one: `etl-platform evidence --partition {day}` lists that day's leads and their phones (masked), "
        "`etl-platform evidence --lead ID` shows the evidence for each phone of a lead; the full numbers are in "
        f"the warehouse: {query} '{day}'"
    )


def _query(name: str, params: list) -> list[dict]:
    from etl_platform.adapters.warehouse import Warehouse, WarehouseError
    from etl_platform.core.settings import Settings
    from etl_platform.defs.resources import snowflake_resource

    settings = Settings.from_env(os.environ)
    snowflake = snowflake_resource(os.environ, settings).process_config_and_initialize()
    # Read only (an auditor's role may not create tables): a warehouse without the table has no history.
    with Warehouse.from_settings(snowflake, settings).session() as session:
        try:
            frame = session.frame(name, params)
        except WarehouseError as err:
            if "does not exist" in str(err):
                return []
            raise
    return frame.to_dict("records")


def fetch_evidence(phone: str) -> list[dict]:
    return _query("phone_evidence", [phone])


def render(phone: str, rows: list[dict]) -> str:
    if not rows:
        return f"no verdict recorded for {phone}; {how_to_find()}"
    lines = [f"{len(rows)} verdicts recorded for {phone} (oldest first)"]
    lines += [_verdict(r) for r in rows]
    return "\n".join(lines)


def _verdict(r: dict) -> str:
    verdict = "CALLABLE" if r["CALLABLE"] else f"blocked ({r['BLOCK_REASON']})"
    return (
        f"  {r['PARTITION_DATE']} run {str(r['RUN_ID'])[:8]} lead {r['LEAD_ID']}: {verdict}\n"
        f"      litigator {r['LITIGATOR_STATUS']}{_why(r['LITIGATOR_REASON'])}, CCC answered "
        f"{r['CCC_ANSWERED_AT'] or 'never'}\n"
        f"      DNC {r['DNC_STATUS']}{_why(r['DNC_REASON'])}, area code {r['DNC_AREA_CODE'] or '-'} copy of "
        f"{r['DNC_COPY_DATE'] or '-'} from {r['DNC_SOURCE_FILE'] or '-'}\n"
        f"      recorded {r['RECORDED_AT']}"
    )


def _masked(rows: list[dict]) -> list[dict]:
    return [r | {"PHONE": mask(r["PHONE"]) if r.get("PHONE") else None} for r in rows]


def render_lead(lead: str, rows: list[dict]) -> str:
    if not rows:
        return f"no verdict recorded for lead {lead}; {how_to_find()}"
    lines = [f"{len(rows)} verdicts recorded for lead {lead}, by phone (masked), oldest first"]
    phone = object()
    for r in rows:
        if r["PHONE"] != phone:
            phone = r["PHONE"]
            lines.append(f"phone {phone}")
        lines.append(_verdict(r))
    return "\n".join(lines)


def render_partition(day: str, rows: list[dict], limit: int) -> str:
    if not rows:
        return f"LEAD_RESULTS holds nothing for {day} (not materialized yet, or no leads that day)"
    lines = [f"{len(rows)} (lead, phone) rows in LEAD_RESULTS for {day}, phones masked" + _first(limit, len(rows))]
    for r in rows[:limit]:
        verdict = "CALLABLE" if r["CALLABLE"] else f"blocked ({r['BLOCK_REASON']})"
        rank = r["PHONE_RANK"]
        rank = "-" if rank is None or rank != rank else int(rank)  # NaN (a lead without a phone) != NaN
        lines.append(f"  lead {r['LEAD_ID']} phone {rank} {r['PHONE'] or '(none found)'}: {verdict}")
    lines.append(
        "evidence for a lead's phones: `etl-platform evidence --lead ID`; for one number: "
        "`etl-platform evidence --phone N` with the number from LEAD_RESULTS"
    )
    return "\n".join(lines)


def _first(limit: int, total: int) -> str:
    return f" (the first {limit}; --limit for more)" if total > limit else ""


def _why(reason) -> str:
    return f" ({reason})" if reason else ""


@click.command("evidence")
@click.option("--phone", help="the number, in any common format (e.g. 267-546-6417)")
@click.option("--lead", "lead", help="a LEAD_ID: the evidence for each of its phones (masked)")
@click.option(
    "--partition", type=click.DateTime(["%Y-%m-%d"]), help="YYYY-MM-DD: list the day's leads and phones (masked)"
)
@click.option("--limit", type=click.IntRange(min=1), default=LISTED, show_default=True, help="rows --partition lists")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def command(phone: str | None, lead: str | None, partition: dt.datetime | None, limit: int, as_json: bool) -> None:
    """The scrub evidence for one phone number (or one lead's phones), across partitions and runs."""
    if sum(x is not None for x in (phone, lead, partition)) != 1:
        raise click.UsageError(f"give one of --phone N, --lead ID, --partition D; {how_to_find()}")
    if partition is not None:
        day = partition.date().isoformat()
        rows = _masked(_query("partition_phones", [partition.date()]))
        out = json.dumps(rows[:limit], default=str, indent=2) if as_json else render_partition(day, rows, limit)
    elif lead is not None:
        rows = _masked(_query("lead_evidence", [lead]))
        out = json.dumps(rows, default=str, indent=2) if as_json else render_lead(lead, rows)
    else:
        normalised = normalise(phone)
        if normalised.phone is None:
            raise click.BadParameter(f"not a valid US number ({normalised.reason})", param_hint="--phone")
        log.info("evidence requested for %s", mask(normalised.phone))
        rows = fetch_evidence(normalised.phone)
        out = json.dumps(rows, default=str, indent=2) if as_json else render(normalised.phone, rows)
    click.echo(out)
    sys.exit(0)
