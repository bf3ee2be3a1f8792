"""The daily schedule asks for yesterday's UTC partition, once per tick."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from etl_platform.schedules import _cron, daily_leads_schedule, partition_for_tick


def test_schedule_requests_yesterdays_partition(defs, instance):
    tick = dt.datetime(2026, 11, 22, 6, 0, tzinfo=dt.UTC)
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick)
    request = daily_leads_schedule(context)
    assert request.partition_key == "2026-11-21" and request.run_key == "daily-2026-11-21"
    assert defs.resolve_schedule_def("daily_leads_schedule").job_name == "daily_leads_job"
    job = defs.resolve_job_def("daily_leads_job")
    assert "2026-11-21" in job.partitions_def.get_partition_keys(dynamic_partitions_store=instance)


def test_partition_follows_the_utc_day_whatever_the_schedule_timezone():
    # 01:00 in New York on Nov 22 is 06:00 UTC on Nov 22: yesterday (UTC) is Nov 21.
    assert partition_for_tick(dt.datetime(2026, 11, 22, 1, 0, tzinfo=ZoneInfo("America/New_York"))) == "2026-11-21"
    # 21:00 in New York on Nov 21 is 02:00 UTC on Nov 22.
    assert partition_for_tick(dt.datetime(2026, 11, 21, 21, 0, tzinfo=ZoneInfo("America/New_York"))) == "2026-11-21"


def test_schedule_time_is_validated():
    assert _cron("06:30") == "30 6 * * *"
    for bad in ("6", "25:00", "06:75", "six"):
        with pytest.raises(ValueError):
            _cron(bad)


def test_registry_sensor_requests_a_reload_only_when_files_change(defs, instance, sandbox, registry_loaded, tmp_path):
    from etl_platform.sensors import dnc_registry_files_sensor

    context = dg.build_sensor_context(instance=instance)
    assert isinstance(dnc_registry_files_sensor(context), dg.SkipReason)
    source = Path(sandbox.env["DNC_SOURCE_DIR"])
    extra = source / "dnc_646_2026-11-20.txt"
    extra.write_text("646,2345678\n")
    try:
        request = dnc_registry_files_sensor(dg.build_sensor_context(instance=instance))
        assert isinstance(request, dg.RunRequest) and request.run_key.startswith("dnc-files-")
        again = dnc_registry_files_sensor(dg.build_sensor_context(instance=instance))
        assert again.run_key == request.run_key, "same files, same run key: the daemon runs it once"
    finally:
        extra.unlink()
    assert isinstance(dnc_registry_files_sensor(dg.build_sensor_context(instance=instance)), dg.SkipReason)
    assert defs.resolve_sensor_def("dnc_registry_files_sensor").job_name == "dnc_registry_job"
