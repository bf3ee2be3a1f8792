"""Leads: the day's extract from LEADS (raw_leads) and the pre-filter (new_leads)."""

from __future__ import annotations

import dagster as dg

from etl_platform.core.settings import Settings
from etl_platform.defs.leads.assets import build_assets


def build_defs(settings: Settings) -> dg.Definitions:
    return dg.Definitions(assets=build_assets(settings))
