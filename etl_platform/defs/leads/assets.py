"""raw_leads (Snowflake Query) and new_leads (Pre-filtering). The rules are in `core/leads.py`."""

import datetime as dt

import dagster as dg
import pandas as pd

from etl_platform.adapters.warehouse import Warehouse
from etl_platform.core.late_leads import DayView, late_leads, views_by_day
from etl_platform.core.leads import LEAD_COLUMNS, day_bounds, prefilter, utc_wall_clock
from etl_platform.core.settings import Settings
from etl_platform.core.stages import LEADS_SOURCE, NEW_LEADS, RAW_LEADS, StageRecord
from etl_platform.defs.asset_info import asset_info, row_counts
from etl_platform.defs.checks import stage_check_specs, stage_checks, volume_check, volume_check_spec
from etl_platform.defs.leads.late_leads import seen_views
from etl_platform.defs.partitions import daily_partitions, day_of
from etl_platform.defs.resources import SnowflakeWarehouseResource
from etl_platform.defs.target import announce_target

LEADS = dg.AssetSpec(
    LEADS_SOURCE,
    description="The source table LEADS in Snowflake: where the data starts. The pipeline reads it, never writes it.",
    group_name=RAW_LEADS.group,
    kinds={"snowflake"},
    metadata={"dagster/table_name": "LEADS"},
)


def build_source_check(settings: Settings) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=LEADS.key,
        name="every_lead_has_a_day",
        description="WARN when LEADS holds rows without CREATED_AT: they belong to no day, so no partition "
        "reads them (they are reported here instead of being lost silently).",
    )
    def every_lead_has_a_day(snowflake: SnowflakeWarehouseResource) -> dg.AssetCheckResult:
        with Warehouse.from_settings(snowflake, settings).session() as session:
            rows = session.rows("leads_without_created_at")
        count = int(rows[0][0]) if rows else 0
        sample = ", ".join("<no LEAD_ID>" if r[1] is None else str(r[1]) for r in rows)
        return dg.AssetCheckResult(
            passed=count == 0,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"{count} rows of LEADS have no CREATED_AT" if count else "every row has a CREATED_AT",
            metadata={"rows_without_created_at": count, "sample_lead_ids": sample or "-"},
        )

    return every_lead_has_a_day


def build_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    partitions = daily_partitions(settings)

    @dg.asset(
        name=RAW_LEADS.asset,
        **asset_info(RAW_LEADS),
        deps=[LEADS],
        check_specs=stage_check_specs(RAW_LEADS.asset, partitions) + [volume_check_spec(RAW_LEADS.asset, partitions)],
        partitions_def=partitions,
        group_name=RAW_LEADS.group,
        kinds={"snowflake", "pandas"},
        description="The partition's leads from LEADS (sql/extract_leads.sql, bind parameters).",
    )
    def raw_leads(context: dg.AssetExecutionContext, snowflake: SnowflakeWarehouseResource):
        record = StageRecord(RAW_LEADS.asset)
        day = day_of(context)
        target = announce_target(context)  # the run's first step: say where it reads and will write
        with Warehouse.from_settings(snowflake, settings, day).session() as session:
            # What LEADS holds for the day, recorded for the late-leads sensor (defs/leads/late_leads.py). Read
            # BEFORE the extract on purpose: a row a loader inserts between the two statements is then
            # extracted but missing from the view, so the sensor asks for the day once more (a harmless
            # rerun). Read after, such a row would be in the view but not extracted: never delivered.
            view = views_by_day(session.rows("lead_day_digests", day_bounds(day))).get(day, DayView.empty())
            leads = session.frame("extract_leads", day_bounds(day))
        leads = leads.reindex(columns=LEAD_COLUMNS)
        leads["CREATED_AT"] = utc_wall_clock(leads["CREATED_AT"])
        late = late_leads(seen_views(context.instance, [day]).get(day), view)
        record.add(rows_out=len(leads), late_leads=late, **view.as_metadata())
        context.log.info("extracted %d leads", len(leads))
        if late:
            context.log.info("%d late leads: in LEADS since the day's previous materialization", late)
        metadata = record.metadata()
        yield dg.Output(leads, metadata=metadata | target | row_counts(len(leads)))
        yield from stage_checks(context, RAW_LEADS.asset, metadata, settings)
        yield volume_check(context, RAW_LEADS.asset, len(leads), settings)

    @dg.asset(
        name=NEW_LEADS.asset,
        **asset_info(NEW_LEADS),
        check_specs=stage_check_specs(NEW_LEADS.asset, partitions),
        partitions_def=partitions,
        group_name=NEW_LEADS.group,
        kinds={"snowflake", "pandas"},
        description="The day's new leads: not seen on an earlier day within LEAD_LOOKBACK_DAYS (a lead belongs to "
        "the earliest day it appears on), deduplicated and validated; an invalid lead keeps its REJECT_REASON "
        "and is dead-lettered with the partition's results.",
    )
    def new_leads(context: dg.AssetExecutionContext, raw_leads: pd.DataFrame, snowflake: SnowflakeWarehouseResource):
        record = StageRecord(NEW_LEADS.asset)
        day = day_of(context)
        with Warehouse.from_settings(snowflake, settings, day).session() as session:
            session.ensure_tables(context.run_id)
            start, end = day_bounds(day)
            # Only days that are partitions count as earlier: a lead first seen before ETL_PARTITIONS_START
            # has no partition to deliver it, so the first partition that sees it does.
            first_day = day_bounds(settings.partitions_start)[0]
            window = max(start - dt.timedelta(days=settings.lead_lookback_days), first_day)
            earlier = {row[0] for row in session.rows("earlier_leads", [start, end, window, start])}
        result = prefilter(raw_leads, earlier)
        figures = result.figures()
        record.add(**figures)
        context.log.info(
            "pre-filter: %d in, %d returning (seen on an earlier day), %d duplicates, %d to dead-letter, %d new",
            *(figures[k] for k in ("rows_in", "returning_leads", "duplicates", "dead_lettered", "rows_out")),
        )
        metadata = record.metadata()
        yield dg.Output(result.leads, metadata=metadata | row_counts(len(result.leads)))
        yield from stage_checks(context, NEW_LEADS.asset, metadata, settings)

    return [raw_leads, new_leads]
