"""lead_results (Results Upload): one verdict per (lead, phone), replacing the partition in LEAD_RESULTS."""

import datetime as dt

import dagster as dg
import pandas as pd
from dagster_snowflake import SnowflakeResource

from etl_platform import dead_letters as dl
from etl_platform.alerts import freshness_policy
from etl_platform.checks import (
    COMPLIANCE_CHECK,
    duration_check_specs,
    duration_checks,
    results_check_specs,
    results_data_checks,
)
from etl_platform.partitions import daily_partitions, day_of
from etl_platform.settings import PipelineSettings
from etl_platform.stages import StageRecord
from etl_platform.verdict import ScrubOutcome, decide, outcomes_by_phone
from etl_platform.warehouse import Warehouse

RESULT_COLUMNS = [
    "PARTITION_DATE",
    "LEAD_ID",
    "PHONE",
    "PHONE_RANK",
    "LITIGATOR_STATUS",
    "DNC_STATUS",
    "CALLABLE",
    "BLOCK_REASON",
    "EMAILS",
    "SCRUBBED_AT",
    "RUN_ID",
]


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _outcomes(frame: pd.DataFrame, prefix: str) -> dict[str, ScrubOutcome]:
    # Columns as lists first: iterating an Arrow-backed pandas column is ~10x slower than a list.
    return outcomes_by_phone(
        frame["PHONE"].tolist(), frame[f"{prefix}_STATUS"].tolist(), frame[f"{prefix}_REASON"].tolist()
    )


def result_rows(
    contacts: pd.DataFrame,
    litigator: pd.DataFrame,
    dnc: pd.DataFrame,
    *,
    day: dt.date,
    run_id: str,
    scrubbed_at: dt.datetime,
) -> list[tuple]:
    """Join contacts with both scrubs by exact phone, one tuple per RESULT_COLUMNS; `decide` is the only
    source of CALLABLE."""
    lit = _outcomes(litigator, "LITIGATOR")
    dn = _outcomes(dnc, "DNC")
    partition = day.isoformat()
    rows = []
    for lead_id, phone, rank, emails in zip(
        contacts["LEAD_ID"].tolist(),
        contacts["PHONE"].tolist(),
        contacts["PHONE_RANK"].tolist(),
        contacts["EMAILS"].tolist(),
        strict=True,
    ):
        phone = None if _missing(phone) else str(phone)
        lit_outcome, dnc_outcome = lit.get(phone), dn.get(phone)
        verdict = decide(phone, lit_outcome, dnc_outcome)
        rows.append(
            (
                partition,
                lead_id,
                phone,
                None if _missing(rank) else int(rank),
                None if phone is None else (str(lit_outcome.status) if lit_outcome else "unknown"),
                None if phone is None else (str(dnc_outcome.status) if dnc_outcome else "unknown"),
                verdict.callable,
                verdict.block_reason,
                None if _missing(emails) else emails,
                scrubbed_at,
                run_id,
            )
        )
    return rows


def upload_records(rows: list[tuple], scrubbed_at: dt.datetime) -> list[dict]:
    """The rows as the JSON objects sql/insert_results.sql reads (the timestamp formatted once, not per row)."""
    stamp = scrubbed_at.strftime("%Y-%m-%d %H:%M:%S.%f")
    stamp_at = RESULT_COLUMNS.index("SCRUBBED_AT")
    return [dict(zip(RESULT_COLUMNS, (*row[:stamp_at], stamp, *row[stamp_at + 1 :]), strict=True)) for row in rows]


@dg.asset(
    check_specs=duration_check_specs("lead_results") + results_check_specs(),
    partitions_def=daily_partitions,
    group_name="delivery",
    freshness_policy=freshness_policy(),
    kinds={"snowflake", "pandas"},
    description="The final verdict per (lead, phone); replaces the partition in LEAD_RESULTS, and its dead "
    "letters in LEAD_DEAD_LETTERS, in one transaction.",
)
def lead_results(
    context: dg.AssetExecutionContext,
    lead_contacts: pd.DataFrame,
    litigator_scrub: pd.DataFrame,
    dnc_scrub: pd.DataFrame,
    snowflake: SnowflakeResource,
    settings: PipelineSettings,
):
    record = StageRecord("lead_results")
    day = day_of(context)
    is_dead = lead_contacts[dl.STAGE].notna()
    letters = dl.dead_letter_records(lead_contacts[is_dead], day=day, run_id=context.run_id)
    scrubbed_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = result_rows(
        lead_contacts[~is_dead], litigator_scrub, dnc_scrub, day=day, run_id=context.run_id, scrubbed_at=scrubbed_at
    )
    results = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    checks = results_data_checks(
        results, lead_contacts, litigator_scrub, dnc_scrub, set(lead_contacts.loc[is_dead, "LEAD_ID"])
    )
    if not checks[COMPLIANCE_CHECK][0]:
        # The blocking check guards the upload itself: a verdict bug must never reach the dialers.
        raise dg.Failure(
            f"compliance check failed: {checks[COMPLIANCE_CHECK][1]['violations']} callable phones without two "
            f"clear scrubs; nothing uploaded for {day}",
            allow_retries=False,
        )
    records = upload_records(rows, scrubbed_at)
    with Warehouse(snowflake, settings.snowflake_batch_rows).session() as session:
        session.ensure_tables(context.run_id)
        # Results and dead letters of the partition are replaced together: every lead is in exactly one.
        with session.transaction():
            session.execute("delete_results_partition", [day])
            session.execute("delete_dead_letters", [day])
            inserted = session.insert_json("insert_results", records)
            dead_inserted = session.insert_json("insert_dead_letters", letters)
            (stored,) = session.rows("count_results_partition", [day])[0]
            if (inserted, dead_inserted, stored) != (len(records), len(letters), len(records)):
                # Raising inside the transaction rolls it back: the previous partition stays as it was.
                raise dg.Failure(
                    f"wrote {inserted}/{len(records)} results ({stored} stored) and "
                    f"{dead_inserted}/{len(letters)} dead letters; rolled back"
                )
    checks["rows_written_match"] = (stored == len(records), {"computed": len(records), "stored": int(stored)})
    blocked = results.loc[~results["CALLABLE"], "BLOCK_REASON"].str.split(";").explode()
    record.add(
        rows_out=len(results),
        leads=int(results["LEAD_ID"].nunique()),
        phones=int(results["PHONE"].notna().sum()),
        callable=int(results["CALLABLE"].sum()),
        blocked=int((~results["CALLABLE"]).sum()),
        dead_letters=len(letters),
        **{
            f"blocked_{k.split(':')[0].lower()}": int(v)
            for k, v in blocked.str.split(":").str[0].value_counts().items()
        },
    )
    context.log.info("uploaded %d rows for %s: %d callable", len(results), day, int(results["CALLABLE"].sum()))
    metadata = record.metadata()
    yield dg.Output(results, metadata=metadata)
    for name, (passed, figures) in checks.items():
        yield dg.AssetCheckResult(
            check_name=name, passed=bool(passed), metadata=figures, severity=dg.AssetCheckSeverity.ERROR
        )
    yield from duration_checks(context, "lead_results", metadata)
