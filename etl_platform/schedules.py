"""The daily schedule: at a settable time of day, in a settable timezone, materialize yesterday's partition."""

from __future__ import annotations

import datetime as dt
import os

import dagster as dg

JOB_NAME = "daily_leads_job"
SCHEDULE_TIME = os.environ.get("ETL_SCHEDULE_TIME") or "06:00"  # HH:MM
SCHEDULE_TIMEZONE = os.environ.get("ETL_SCHEDULE_TIMEZONE") or "UTC"


def _cron(time_of_day: str) -> str:
    hour, _, minute = time_of_day.partition(":")
    if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
        raise ValueError(f"ETL_SCHEDULE_TIME must be HH:MM, got {time_of_day!r}")
    return f"{int(minute)} {int(hour)} * * *"


def partition_for_tick(scheduled: dt.datetime) -> str:
    """The UTC day before the tick: partitions are UTC days, whatever timezone the schedule runs in."""
    return (scheduled.astimezone(dt.UTC).date() - dt.timedelta(days=1)).isoformat()


@dg.schedule(
    job_name=JOB_NAME,
    cron_schedule=_cron(SCHEDULE_TIME),
    execution_timezone=SCHEDULE_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Yesterday's partition (UTC) every day at ETL_SCHEDULE_TIME in ETL_SCHEDULE_TIMEZONE.",
)
def daily_leads_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    partition = partition_for_tick(context.scheduled_execution_time)
    # run_key makes a re-evaluated tick idempotent: the daemon launches one run per day, not two.
    return dg.RunRequest(run_key=f"daily-{partition}", partition_key=partition)
