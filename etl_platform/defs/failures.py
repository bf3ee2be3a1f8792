"""A failed step says what happened and what it left behind, on the run page and in the alert.

With a RetryPolicy, Dagster reports a step that failed on every attempt as "Exceeded max_retries of N", the
cause only nested below. So the last attempt fails without asking for another retry: its own message, the
cause, is then the step's final failure. Every such message ends with what was (not) written and which
LEAD_RESULTS the partition keeps.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from etl_platform.core.stages import LEAD_RESULTS


def kept_results(context: dg.AssetExecutionContext) -> str:
    """What LEAD_RESULTS holds for this partition now: the last committed run, or nothing yet."""
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(LEAD_RESULTS.asset), asset_partitions=[context.partition_key]),
        limit=1,
    ).records
    if not records:
        return f"LEAD_RESULTS holds nothing for {context.partition_key} yet"
    record = records[0]
    when = dt.datetime.fromtimestamp(record.timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"LEAD_RESULTS keeps {context.partition_key} as run {record.run_id[:8]} wrote it ({when})"


def stage_failure(
    context: dg.AssetExecutionContext, cause: str, max_retries: int, metadata: dict | None = None, retry: bool = True
) -> dg.Failure:
    """The failure to raise: the cause, the attempt, nothing written, the partition kept. Retried while
    attempts remain (and `retry`), final on the last one so that its message is what the run shows."""
    attempt, attempts = context.retry_number + 1, max_retries + 1
    final = not retry or attempt >= attempts
    where = f"attempt {attempt} of {attempts}" if retry else "not retried"
    return dg.Failure(
        f"{cause} ({where}). Nothing was written for {context.partition_key}; {kept_results(context)}.",
        metadata=metadata,
        allow_retries=not final,
    )
