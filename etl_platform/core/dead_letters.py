"""Dead letters: a lead a stage could not process, with the stage, the reason and the row (replayable).

Stages do not write them as they go. They travel with the partition's data (columns below) and
`lead_results` writes them in the same transaction as the partition's results, so LEAD_RESULTS and
LEAD_DEAD_LETTERS always describe the same run: every lead is in exactly one of them.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

STAGE = "DEAD_LETTER_STAGE"
REASON = "DEAD_LETTER_REASON"
ROW_JSON = "ROW_JSON"


def row_json(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    """Each lead as JSON (strings or null), enough to replay it."""
    subset = frame[columns].astype(object).where(frame[columns].notna(), None)
    return [
        json.dumps({k: (None if v is None else str(v)) for k, v in row.items()}, sort_keys=True)
        for row in subset.to_dict("records")
    ]


def dead_letter_records(frame: pd.DataFrame, *, day: dt.date, run_id: str) -> list[dict]:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return [
        {
            "PARTITION_DATE": day.isoformat(),
            # a row without a LEAD_ID is a dead letter too; pandas holds its missing id as NaN, not None
            "LEAD_ID": None if pd.isna(lead_id) else str(lead_id),
            "STAGE": stage,
            "REASON": reason,
            "ROW_JSON": payload,
            "RUN_ID": run_id,
            "CREATED_AT": now,
        }
        for lead_id, stage, reason, payload in zip(
            frame["LEAD_ID"], frame[STAGE], frame[REASON], frame[ROW_JSON], strict=True
        )
    ]
