"""Enrichment: idiCORE people search for the day's new leads (lead_contacts), with the enrichment cache."""

from __future__ import annotations

import dagster as dg

from etl_platform.core.settings import Settings
from etl_platform.defs.enrichment.assets import build_assets


def build_defs(settings: Settings) -> dg.Definitions:
    return dg.Definitions(assets=build_assets(settings))
