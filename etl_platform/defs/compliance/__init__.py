"""Compliance: the CCC litigator scrub, the DNC scrub, and the DNC registry they depend on (with its reload
job and sensor)."""

from __future__ import annotations

import dagster as dg

from etl_platform.core.settings import Settings
from etl_platform.defs.compliance.assets import build_assets
from etl_platform.defs.compliance.sensors import dnc_registry_files_sensor, dnc_registry_job


def build_defs(settings: Settings) -> dg.Definitions:
    return dg.Definitions(assets=build_assets(settings), jobs=[dnc_registry_job], sensors=[dnc_registry_files_sensor])
