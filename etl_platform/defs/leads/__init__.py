"""Leads: the LEADS source table (an external asset with its check), the day's extract (raw_leads), the
pre-filter (new_leads), and the sensor that re-runs a day whose rows in LEADS changed after it ran (late
leads)."""

from __future__ import annotations

import dagster as dg

from etl_platform.core.settings import Settings, cron_of
from etl_platform.core.stages import SOURCE_CHECKS_JOB
from etl_platform.defs.leads.assets import LEADS, build_assets, build_source_check
from etl_platform.defs.leads.late_leads import build_sensor


def build_defs(settings: Settings) -> dg.Definitions:
    source_check = build_source_check(settings)
    checks_job = dg.define_asset_job(
        SOURCE_CHECKS_JOB,
        selection=dg.AssetSelection.checks(source_check),
        description="The checks on the LEADS source table (rows no partition can read).",
    )
    return dg.Definitions(
        assets=[LEADS, *build_assets(settings)],
        asset_checks=[source_check],
        jobs=[checks_job],
        sensors=[build_sensor(settings)],
        schedules=[
            dg.ScheduleDefinition(
                name="leads_source_checks_schedule",
                job=checks_job,
                cron_schedule=cron_of(settings.schedule_time),
                execution_timezone=settings.schedule_timezone,
                default_status=dg.DefaultScheduleStatus.STOPPED,
                description="The LEADS source checks, daily with the pipeline's schedule.",
            )
        ],
    )
