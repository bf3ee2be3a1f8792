"""The pre-filter's rules on a day's rows: every row is delivered, counted as a re-send, or rejected with a
reason; nothing disappears."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from etl_platform.core.leads import LEAD_COLUMNS, MAX_LENGTHS, prefilter

T0 = dt.datetime(2026, 4, 9, 12)


def row(lead_id, minutes=0, **fields) -> dict:
    base = dict.fromkeys(LEAD_COLUMNS)
    base |= {"LEAD_ID": lead_id, "FIRST_NAME": "Ada", "LAST_NAME": "Lovelace", "ADDRESS": "1 Main St"}
    base |= {"CITY": "Springfield", "STATE": "PA", "ZIP": "19104", "CREATED_AT": T0 + dt.timedelta(minutes=minutes)}
    return base | fields


def run(rows, earlier=()) -> pd.DataFrame:
    result = prefilter(pd.DataFrame(rows, columns=LEAD_COLUMNS), set(earlier))
    figures = result.figures()
    parts = figures["returning_leads"] + figures["duplicates"] + figures["dead_lettered"] + figures["rows_out"]
    assert parts == figures["rows_in"] == len(rows), figures
    return result.leads


def reasons(frame) -> dict:
    return {
        (None if pd.isna(r["LEAD_ID"]) else r["LEAD_ID"], r["FIRST_NAME"]): r["REJECT_REASON"]
        for r in frame.to_dict("records")
    }


def test_same_lead_id_other_content_keeps_the_earliest_and_rejects_the_other():
    got = reasons(run([row("L1", 5, FIRST_NAME="Later"), row("L1", 0, FIRST_NAME="First")]))
    assert got == {("L1", "First"): None, ("L1", "Later"): "conflicting_duplicate_lead_id"}


def test_an_identical_resend_is_a_duplicate_not_a_dead_letter():
    leads = run([row("L1", 0), row("L1", 1), row("L2", 0)])
    assert sorted(leads["LEAD_ID"]) == ["L1", "L2"] and leads["REJECT_REASON"].isna().all()


def test_rows_without_lead_id_are_each_rejected():
    leads = run([row(None, FIRST_NAME="A"), row(None, FIRST_NAME="B"), row("L1")])
    assert reasons(leads) == {(None, "A"): "missing_lead_id", (None, "B"): "missing_lead_id", ("L1", "Ada"): None}


@pytest.mark.parametrize("column", sorted(MAX_LENGTHS))
def test_each_field_is_bounded(column):
    limit = MAX_LENGTHS[column]
    (reason,) = run([row("L1", **{column: "7" * (limit + 1)})])["REJECT_REASON"]
    assert reason == f"field_too_long:{column}"
    (at_limit,) = run([row("L1", **{column: "7" * limit})])["REJECT_REASON"]
    assert at_limit != f"field_too_long:{column}"


@pytest.mark.parametrize("bad", ["\x00", "\x07", "\n", "\x7f", "\x85"])
def test_control_characters_are_rejected(bad):
    (reason,) = run([row("L1", LAST_NAME=f"Love{bad}lace")])["REJECT_REASON"]
    assert reason == "invalid_characters:LAST_NAME"


def test_accents_and_apostrophes_are_fine():
    (reason,) = run([row("L1", FIRST_NAME="Zoë", LAST_NAME="O'Brien-Núñez")])["REJECT_REASON"]
    assert reason is None


def test_returning_leads_are_dropped_and_counted():
    leads = run([row("L1"), row("L2")], earlier={"L1"})
    assert list(leads["LEAD_ID"]) == ["L2"]
