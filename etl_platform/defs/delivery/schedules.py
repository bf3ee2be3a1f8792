"""The daily job (the six daily stages of one partition) and the schedule that runs yesterday's partition."""

import datetime as dt

import dagster as dg

from etl_platform.core.settings import Settings, cron_of
from etl_platform.core.stages import DAILY_JOB, DNC_SCRUB, LEAD_RESULTS, LITIGATOR_SCRUB, PIPELINE_ORDER
from etl_platform.defs.partitions import daily_partitions


def partition_for_tick(scheduled: dt.datetime) -> str:
    """The UTC day before the tick: partitions are UTC days, whatever timezone the schedule runs in."""
    return (scheduled.astimezone(dt.UTC).date() - dt.timedelta(days=1)).isoformat()


# The stages (subsettable multi-assets) whose checks the daily job leaves out of its plan; their steps report
# them. The checks of the stages before them are planned: their steps run, or fail themselves.
UNPLANNED_CHECKS = (LITIGATOR_SCRUB.asset, DNC_SCRUB.asset, LEAD_RESULTS.asset)


def build_daily_job(settings: Settings):
    return dg.define_asset_job(
        DAILY_JOB,
        # The scrubs' and lead_results' checks are reported by their steps but not planned: planned checks of a
        # run that fails upstream would show as "Failed" in the UI though they never ran (defs/checks.py).
        selection=dg.AssetSelection.assets(*PIPELINE_ORDER) - dg.AssetSelection.checks_for_assets(*UNPLANNED_CHECKS),
        partitions_def=daily_partitions(settings),
        description="One day of leads, end to end.",
    )


def build_schedule(settings: Settings) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="daily_leads_schedule",
        job_name=DAILY_JOB,
        cron_schedule=cron_of(settings.schedule_time),
        execution_timezone=settings.schedule_timezone,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Yesterday's partition (UTC) every day at ETL_SCHEDULE_TIME in ETL_SCHEDULE_TIMEZONE.",
    )
    def daily_leads_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        partition = partition_for_tick(context.scheduled_execution_time)
        # run_key makes a re-evaluated tick idempotent: the daemon launches one run per day, not two.
        return dg.RunRequest(run_key=f"daily-{partition}", partition_key=partition)

    return daily_leads_schedule
