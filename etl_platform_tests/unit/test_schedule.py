"""The daily schedule asks for yesterday's UTC partition, once per tick, at the configured time and zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from etl_platform.core.settings import Settings, SettingsError
from etl_platform.defs.delivery.schedules import build_schedule, partition_for_tick


def test_schedule_requests_yesterdays_partition_once_per_tick():
    schedule = build_schedule(Settings())
    tick = dt.datetime(2026, 11, 22, 6, 0, tzinfo=dt.UTC)
    request = schedule(dg.build_schedule_context(scheduled_execution_time=tick))
    assert request.partition_key == "2026-11-21" and request.run_key == "daily-2026-11-21"
    assert schedule.job_name == "daily_leads_job"
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 6 * * *", "UTC")


def test_schedule_time_and_zone_come_from_the_settings():
    schedule = build_schedule(
        Settings.from_env({"ETL_SCHEDULE_TIME": "05:30", "ETL_SCHEDULE_TIMEZONE": "America/Chicago"})
    )
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 5 * * *", "America/Chicago")


def test_partition_follows_the_utc_day_whatever_the_schedule_timezone():
    # 01:00 in New York on Nov 22 is 06:00 UTC on Nov 22: yesterday (UTC) is Nov 21.
    assert partition_for_tick(dt.datetime(2026, 11, 22, 1, 0, tzinfo=ZoneInfo("America/New_York"))) == "2026-11-21"
    # 21:00 in New York on Nov 21 is 02:00 UTC on Nov 22.
    assert partition_for_tick(dt.datetime(2026, 11, 21, 21, 0, tzinfo=ZoneInfo("America/New_York"))) == "2026-11-21"


@pytest.mark.parametrize("bad", ["6", "25:00", "06:75", "six", "6:5"])
def test_schedule_time_is_validated(bad):
    with pytest.raises(SettingsError, match="ETL_SCHEDULE_TIME"):
        Settings.from_env({"ETL_SCHEDULE_TIME": bad})
