"""lead_results (Results Upload): one verdict per (lead, phone), replacing the partition in LEAD_RESULTS.
The verdict rows and data checks are computed in `core/results.py`; this module guards and writes them."""

import datetime as dt

import dagster as dg
import pandas as pd

from etl_platform.adapters.warehouse import Warehouse
from etl_platform.core import dead_letters as dl
from etl_platform.core.results import (
    COMPLIANCE_CHECK,
    RESULT_COLUMNS,
    ROWS_WRITTEN_CHECK,
    block_counts,
    evidence_records,
    result_rows,
    results_data_checks,
    upload_records,
)
from etl_platform.core.settings import Settings
from etl_platform.core.stages import DNC_SCRUB, LEAD_CONTACTS, LEAD_RESULTS, LITIGATOR_SCRUB, StageRecord
from etl_platform.defs.asset_info import asset_info, row_counts, table_definition_metadata
from etl_platform.defs.checks import results_check_specs, stage_check_specs, stage_checks
from etl_platform.defs.monitoring.alerts import freshness_policy
from etl_platform.defs.partitions import daily_partitions, day_of
from etl_platform.defs.resources import SnowflakeWarehouseResource
from etl_platform.defs.step_outputs import forget_partition
from etl_platform.defs.target import announce_target


def replace_partition(
    warehouse: Warehouse,
    run_id: str,
    day: dt.date,
    records: list[dict],
    letters: list[dict],
    evidence: list[dict] = (),
) -> int:
    """Results and dead letters of the partition replaced together, and the verdicts' evidence appended, in
    one transaction: every lead is in exactly one table, the evidence matches what the dialers read, and a
    failure leaves everything as it was. Returns the rows stored."""
    with warehouse.session() as session:
        session.ensure_tables(run_id)
        with session.transaction():
            session.execute("delete_results_partition", [day])
            session.execute("delete_dead_letters", [day])
            inserted = session.insert_json("insert_results", records)
            dead_inserted = session.insert_json("insert_dead_letters", letters)
            evidence_inserted = session.insert_json("insert_evidence", list(evidence))
            (stored,) = session.rows("count_results_partition", [day])[0]
            written = (inserted, dead_inserted, stored, evidence_inserted)
            if written != (len(records), len(letters), len(records), len(evidence)):
                # Raising inside the transaction rolls it back: the previous partition stays as it was.
                raise dg.Failure(
                    f"wrote {inserted}/{len(records)} results ({stored} stored), "
                    f"{dead_inserted}/{len(letters)} dead letters and {evidence_inserted}/{len(evidence)} "
                    "evidence rows; rolled back"
                )
    return int(stored)


def build_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    # A multi-asset only to be subsettable: the daily job leaves these checks out of its plan (see
    # `defs/delivery/schedules.py`), and the step reports them whenever it runs. A check planned in a run that
    # fails before its step starts is shown by Dagster as "Failed" (EXECUTION_FAILED) in the Checks tab, over
    # the evaluation that passed: a compliance check that never ran must not read as a failed one.
    @dg.multi_asset(
        name=LEAD_RESULTS.asset,
        specs=[
            dg.AssetSpec(
                LEAD_RESULTS.asset,
                deps=[LEAD_CONTACTS.asset, LITIGATOR_SCRUB.asset, DNC_SCRUB.asset],  # the step's inputs
                **asset_info(LEAD_RESULTS),
                metadata=table_definition_metadata("LEAD_RESULTS", "LEAD_DEAD_LETTERS", "SCRUB_EVIDENCE"),
                group_name=LEAD_RESULTS.group,
                freshness_policy=freshness_policy(settings),
                kinds={"snowflake", "pandas"},
                description="The final verdict per (lead, phone); replaces the partition in LEAD_RESULTS, and "
                "its dead letters in LEAD_DEAD_LETTERS, in one transaction.",
            )
        ],
        check_specs=stage_check_specs(LEAD_RESULTS.asset, daily_partitions(settings))
        + results_check_specs(daily_partitions(settings)),
        partitions_def=daily_partitions(settings),
        can_subset=True,
    )
    def lead_results(
        context: dg.AssetExecutionContext,
        lead_contacts: pd.DataFrame,
        litigator_scrub: pd.DataFrame,
        dnc_scrub: pd.DataFrame,
        snowflake: SnowflakeWarehouseResource,
    ):
        record = StageRecord(LEAD_RESULTS.asset)
        day = day_of(context)
        is_dead = lead_contacts[dl.STAGE].notna()
        letters = dl.dead_letter_records(lead_contacts[is_dead], day=day, run_id=context.run_id)
        scrubbed_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        rows = result_rows(
            lead_contacts[~is_dead],
            litigator_scrub,
            dnc_scrub,
            day=day,
            run_id=context.run_id,
            scrubbed_at=scrubbed_at,
        )
        results = pd.DataFrame(rows, columns=RESULT_COLUMNS)
        checks = results_data_checks(
            results, lead_contacts, litigator_scrub, dnc_scrub, set(lead_contacts.loc[is_dead, "LEAD_ID"])
        )
        if not checks[COMPLIANCE_CHECK][0]:
            # The blocking check guards the upload itself: a verdict bug must never reach the dialers.
            raise dg.Failure(
                f"compliance check failed: {checks[COMPLIANCE_CHECK][1]['observed']} callable phones without "
                f"two clear scrubs; nothing uploaded for {day}",
                allow_retries=False,
            )
        records = upload_records(rows, scrubbed_at)
        evidence = evidence_records(rows, litigator_scrub, dnc_scrub, scrubbed_at)
        target = announce_target(context)  # said again just before the write
        stored = replace_partition(
            Warehouse.from_settings(snowflake, settings, day), context.run_id, day, records, letters, evidence
        )
        checks[ROWS_WRITTEN_CHECK] = (stored == len(records), {"computed": len(records), "stored": stored})
        record.add(
            rows_out=len(results),
            leads_delivered=int(results["LEAD_ID"].nunique()),
            phone_rows=int(results["PHONE"].notna().sum()),
            callable=int(results["CALLABLE"].sum()),
            blocked=int((~results["CALLABLE"]).sum()),
            dead_letters=len(letters),
            evidence_rows=len(evidence),
            **block_counts(results),
        )
        context.log.info("uploaded %d rows for %s: %d callable", len(results), day, int(results["CALLABLE"].sum()))
        # The phones are in the warehouse now: the partition's frames between steps are deleted, and this
        # asset hands on no frame of its own (it is the last step).
        removed = forget_partition(context.instance, day.isoformat())
        context.log.info("deleted %d stored step outputs of %s", removed, day)
        metadata = record.metadata()
        yield dg.MaterializeResult(metadata=metadata | target | row_counts(len(records), partition_rows=int(stored)))
        for name, (passed, check_figures) in checks.items():
            yield dg.AssetCheckResult(
                check_name=name, passed=bool(passed), metadata=check_figures, severity=dg.AssetCheckSeverity.ERROR
            )
        yield from stage_checks(context, LEAD_RESULTS.asset, metadata, settings)

    return [lead_results]
