"""Messy rows in LEADS, as a real feed delivers them: none sinks the day, none is lost silently. Each one is
delivered, dead-lettered with a reason, or reported by the check on the LEADS source."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import pytest

from etl_platform_tests.helpers import dead_letters_for, fetch, results_for, run_partition, stage_meta

BAD_DAY = dt.date(2026, 4, 9)
NOON = dt.datetime.combine(BAD_DAY, dt.time(12))


def lead(lead_id, created_at=NOON, **fields) -> dict:
    row = {
        "LEAD_ID": lead_id,
        "FIRST_NAME": "Ada",
        "LAST_NAME": "Messy",
        "ADDRESS": "12 Main St",
        "CITY": "Springfield",
        "STATE": "PA",
        "ZIP": "19104",
        "EMAIL": None,
        "CREATED_AT": created_at,
    }
    return row | fields


BAD_ROWS = [
    lead(None, FIRST_NAME="Nobody"),  # no LEAD_ID
    lead("BAD-DUP", FIRST_NAME="First"),  # the same LEAD_ID twice, different content:
    lead("BAD-DUP", NOON + dt.timedelta(minutes=5), FIRST_NAME="Second"),  # the later one is dead-lettered
    lead("BAD-SAME"),  # the same row twice: a re-send, counted as a duplicate
    lead("BAD-SAME"),
    lead("BAD-LONG", FIRST_NAME="A" * 100_000),  # a 100 KB name must never reach idiCORE
    lead("BAD-CTRL", LAST_NAME="Mes\x00sy\x07"),  # control characters
    lead("BAD-NODATE", None),  # no CREATED_AT: belongs to no day
]


@pytest.fixture(scope="module")
def bad_day(sandbox, defs, instance, registry_loaded):
    from etl_platform.adapters.warehouse import WarehouseSession

    sandbox.seed_leads([BAD_DAY], per_day=30)
    with sandbox.connect() as conn:
        session = WarehouseSession(conn, batch_rows=100)
        session.insert_json("sandbox/insert_leads", BAD_ROWS)
    sandbox.idicore_counters.reset()
    result = run_partition(defs, instance, BAD_DAY, raise_on_error=False)
    searched = dict(sandbox.idicore_counters.snapshot()["references"])
    yield result, searched
    with sandbox.connect() as conn:
        conn.cursor().execute("DELETE FROM LEADS WHERE LEAD_ID LIKE 'BAD-%' OR LEAD_ID IS NULL")


def letters_by_reason(cur) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for row in dead_letters_for(cur, BAD_DAY):
        out.setdefault(row["REASON"], []).append(row)
    return out


def test_the_day_is_delivered_despite_its_bad_rows(bad_day, warehouse):
    result, _ = bad_day
    assert result.success
    delivered = {r["LEAD_ID"] for r in results_for(warehouse, BAD_DAY)}
    assert len(delivered) > 20 and "BAD-SAME" in delivered


def test_a_lead_without_lead_id_is_a_dead_letter_with_its_row(bad_day, warehouse):
    (letter,) = letters_by_reason(warehouse)["missing_lead_id"]
    assert letter["LEAD_ID"] is None and json.loads(letter["ROW_JSON"])["FIRST_NAME"] == "Nobody"


def test_two_rows_with_one_lead_id_keep_the_first_and_dead_letter_the_other(bad_day, warehouse):
    result, _ = bad_day
    (letter,) = letters_by_reason(warehouse)["conflicting_duplicate_lead_id"]
    assert letter["LEAD_ID"] == "BAD-DUP" and json.loads(letter["ROW_JSON"])["FIRST_NAME"] == "Second"
    assert "BAD-DUP" in {r["LEAD_ID"] for r in results_for(warehouse, BAD_DAY)}, "the first arrival is delivered"
    meta = stage_meta(result, "new_leads")
    letters = {r["LEAD_ID"] for r in dead_letters_for(warehouse, BAD_DAY)}
    assert "BAD-SAME" not in letters and meta["duplicates"] >= 1, "an identical re-send is counted, not a letter"
    assert meta["returning_leads"] + meta["duplicates"] + meta["dead_lettered"] + meta["rows_out"] == meta["rows_in"]


@pytest.mark.parametrize(
    ("lead_id", "reason"), [("BAD-LONG", "field_too_long:FIRST_NAME"), ("BAD-CTRL", "invalid_characters:LAST_NAME")]
)
def test_out_of_bounds_fields_are_dead_letters_and_never_reach_the_vendor(bad_day, warehouse, lead_id, reason):
    _, searched = bad_day
    letters = {r["LEAD_ID"]: r for r in dead_letters_for(warehouse, BAD_DAY)}
    assert letters[lead_id]["STAGE"] == "pre_filter" and letters[lead_id]["REASON"] == reason
    assert lead_id not in searched, "checked before any billed search"
    assert searched, "the day's other leads were searched"


def test_a_lead_without_created_at_is_reported_by_the_check_on_the_leads_source(bad_day, defs, instance, warehouse):
    job = defs.resolve_job_def("leads_source_checks_job")
    result = job.execute_in_process(instance=instance, raise_on_error=False)
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "every_lead_has_a_day"]
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    assert evaluation.metadata["rows_without_created_at"].value == 1
    assert "BAD-NODATE" in evaluation.metadata["sample_lead_ids"].value
    rows = fetch(warehouse, "SELECT COUNT(*) AS N FROM LEADS WHERE CREATED_AT IS NULL")
    assert rows[0]["N"] == 1
