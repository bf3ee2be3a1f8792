"""Delivery: the verdicts uploaded to LEAD_RESULTS (lead_results), the daily job and its schedule."""

from __future__ import annotations

import dagster as dg

from etl_platform.core.settings import Settings
from etl_platform.defs.delivery.assets import build_assets
from etl_platform.defs.delivery.schedules import build_daily_job, build_schedule


def build_defs(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=build_assets(settings), jobs=[build_daily_job(settings)], schedules=[build_schedule(settings)]
    )
