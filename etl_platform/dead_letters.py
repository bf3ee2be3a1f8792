"""Dead-letter rows: a lead a stage could not process, with the reason; replayable from ROW_JSON."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from etl_platform.warehouse import WarehouseSession


def dead_letter_records(rows: pd.DataFrame, reasons: pd.Series, *, day: dt.date, stage: str, run_id: str) -> list[dict]:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    records = []
    for (_, row), reason in zip(rows.iterrows(), reasons, strict=True):
        payload = {k: (None if pd.isna(v) else str(v)) for k, v in row.items()}
        records.append(
            {
                "PARTITION_DATE": day.isoformat(),
                "LEAD_ID": payload.get("LEAD_ID"),
                "STAGE": stage,
                "REASON": reason,
                "ROW_JSON": json.dumps(payload, sort_keys=True),
                "RUN_ID": run_id,
                "CREATED_AT": now,
            }
        )
    return records


def replace_dead_letters(session: WarehouseSession, day: dt.date, stage: str, records: list[dict]) -> int:
    """The stage's dead letters for the day, replaced in one transaction (reruns do not duplicate)."""
    with session.transaction():
        session.execute("delete_dead_letters", [day, stage])
        return session.insert_json("insert_dead_letters", records)
