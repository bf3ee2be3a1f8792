"""Monitoring: alerts on failed runs and late partitions. (Each stage's own checks, durations against the
baselines and vendor error rates, are declared beside its asset from `defs/checks.py`.)"""

from __future__ import annotations

import dagster as dg

from etl_platform.core.settings import Settings
from etl_platform.defs.monitoring.alerts import build_sensors


def build_defs(settings: Settings) -> dg.Definitions:
    return dg.Definitions(sensors=build_sensors(settings))
