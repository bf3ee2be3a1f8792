"""The daily partitioning shared by every partitioned asset: one calendar day, UTC."""

from __future__ import annotations

import datetime as dt
import os

import dagster as dg

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=os.environ.get("ETL_PARTITIONS_START") or "2026-01-01", timezone="UTC"
)


def day_of(context: dg.AssetExecutionContext) -> dt.date:
    return dt.date.fromisoformat(context.partition_key)


def day_bounds(day: dt.date) -> list[dt.datetime]:
    """[start, end) of a UTC day as naive timestamps, matching LEADS.CREATED_AT (TIMESTAMP_NTZ, UTC)."""
    start = dt.datetime.combine(day, dt.time())
    return [start, start + dt.timedelta(days=1)]
