"""The daily partitioning shared by every partitioned asset: one calendar day, UTC."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from etl_platform.core.settings import Settings


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    """Days from ETL_PARTITIONS_START. Equal settings give equal definitions, so the assets built from the
    same Settings share one partitions definition (Dagster compares them by value)."""
    return dg.DailyPartitionsDefinition(start_date=settings.partitions_start.isoformat(), timezone="UTC")


def day_of(context: dg.AssetExecutionContext) -> dt.date:
    return dt.date.fromisoformat(context.partition_key)
