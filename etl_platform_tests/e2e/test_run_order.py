"""A lead is delivered once, by the earliest day it appears on, whatever order the days run in: D then D-1
gives exactly what D-1 then D gives."""

from __future__ import annotations

import datetime as dt

from etl_platform.adapters.sql_files import statements
from etl_platform_tests.helpers import fetch, results_for, run_partition, stage_meta

EARLY, LATE = dt.date(2026, 4, 13), dt.date(2026, 4, 14)
BUSINESS = ["PARTITION_DATE", "LEAD_ID", "PHONE", "PHONE_RANK", "LITIGATOR_STATUS", "DNC_STATUS", "CALLABLE"]


def delivered(cur) -> list[tuple]:
    return sorted(tuple(str(r[c]) for c in BUSINESS) for day in (EARLY, LATE) for r in results_for(cur, day))


def run_in_order(defs, instance, cur, days) -> tuple[list[tuple], dict]:
    for statement in statements("create_tables"):  # when this test runs first in the session
        cur.execute(statement)
    cur.execute("DELETE FROM LEAD_RESULTS WHERE PARTITION_DATE IN (?, ?)", [EARLY, LATE])
    returning = {}
    for day in days:
        result = run_partition(defs, instance, day)
        assert result.success
        returning[day] = stage_meta(result, "new_leads")["returning_leads"]
    return delivered(cur), returning


def test_the_same_results_whichever_day_runs_first(sandbox, defs, instance, registry_loaded, warehouse):
    sandbox.seed_leads([EARLY, LATE], per_day=40)  # the later day re-sends some of the earlier day's leads
    resent = {r["LEAD_ID"] for r in fetch(warehouse, "SELECT LEAD_ID FROM LEADS WHERE LEAD_ID LIKE ?", ["L20260413-%"])}
    later_rows = fetch(
        warehouse, "SELECT LEAD_ID FROM LEADS WHERE CREATED_AT >= ? AND LEAD_ID LIKE ?", [LATE, "L20260413-%"]
    )
    assert later_rows and {r["LEAD_ID"] for r in later_rows} <= resent

    late_first, returning_a = run_in_order(defs, instance, warehouse, [LATE, EARLY])
    early_first, returning_b = run_in_order(defs, instance, warehouse, [EARLY, LATE])
    assert late_first == early_first
    assert returning_a[LATE] == returning_b[LATE] == len({r["LEAD_ID"] for r in later_rows}) > 0
    by_day = {day: {r["LEAD_ID"] for r in results_for(warehouse, day)} for day in (EARLY, LATE)}
    assert not by_day[EARLY] & by_day[LATE], "no lead delivered twice"
    assert {r["LEAD_ID"] for r in later_rows} <= by_day[EARLY], "a returning lead is delivered by its first day"


def test_a_lead_first_seen_before_the_partitions_start_is_delivered_by_the_first_partition(
    sandbox, defs, settings, instance, registry_loaded, warehouse
):
    from etl_platform.adapters.warehouse import WarehouseSession

    first = settings.partitions_start
    before = dt.datetime.combine(first - dt.timedelta(days=1), dt.time(12))
    row = {"LEAD_ID": "PRE-START-1", "FIRST_NAME": "Ada", "LAST_NAME": "Early", "ADDRESS": "1 Main St"}
    row |= {"CITY": "Springfield", "STATE": "PA", "ZIP": "19104", "EMAIL": None}
    sandbox.seed_leads([first], per_day=10)
    with sandbox.connect() as conn:
        WarehouseSession(conn, batch_rows=10).insert_json(
            "sandbox/insert_leads",
            [row | {"CREATED_AT": before}, row | {"CREATED_AT": before + dt.timedelta(days=1)}],
        )
    try:
        assert run_partition(defs, instance, first).success
        delivered = {r["LEAD_ID"] for r in results_for(warehouse, first)}
        assert "PRE-START-1" in delivered, "no partition before ETL_PARTITIONS_START could deliver it"
    finally:
        warehouse.execute("DELETE FROM LEADS WHERE LEAD_ID = 'PRE-START-1'")
