"""End to end through Dagster, against the sandbox servers and the Postgres instance."""

from __future__ import annotations

import collections

import pytest

from etl_platform.core.leads import day_bounds
from etl_platform.sandbox.world import CCC_CLEAR_TEST_NUMBER, CCC_LITIGATOR_TEST_NUMBERS, COVERED_AREA_CODES
from etl_platform_tests.conftest import DAY1, DAY2, LEADS_PER_DAY
from etl_platform_tests.helpers import dead_letters_for, fetch, leads_of_day, results_for, run_partition


@pytest.fixture(scope="module")
def day1_run(defs, instance, registry_loaded, sandbox):
    sandbox.idicore_counters.reset()
    result = run_partition(defs, instance, DAY1)
    return result, sandbox.idicore_counters.snapshot()


def expected_verdict(world, phone: str) -> tuple[bool, set[str]]:
    """An independent oracle from the sandbox's world: what the verdict must be for this phone."""
    reasons = set()
    if world.is_litigator(phone):
        reasons.add("LITIGATOR")
    if phone[:3] not in COVERED_AREA_CODES:
        reasons.add("DNC_UNKNOWN:area_code_not_covered")
    elif world.is_dnc_listed(phone):
        reasons.add("DNC_LISTED")
    return (not reasons), reasons


def test_every_phone_gets_the_verdict_the_world_implies(day1_run, warehouse, sandbox):
    result, _ = day1_run
    assert result.success
    rows = results_for(warehouse, DAY1)
    phones = [r for r in rows if r["PHONE"] is not None]
    assert len(phones) > 100
    for row in phones:
        callable_, reasons = expected_verdict(sandbox.world, row["PHONE"])
        assert row["CALLABLE"] is callable_, row
        got = set(row["BLOCK_REASON"].split(";")) if row["BLOCK_REASON"] else set()
        assert got == reasons, row
    # the documented CCC numbers behave as documented, and each kind of block actually occurs
    seen = collections.Counter(reason for r in phones for reason in (r["BLOCK_REASON"] or "").split(";") if reason)
    assert seen["LITIGATOR"] and seen["DNC_LISTED"] and seen["DNC_UNKNOWN:area_code_not_covered"]
    for row in phones:
        if row["PHONE"] in CCC_LITIGATOR_TEST_NUMBERS:
            assert row["LITIGATOR_STATUS"] == "litigator" and not row["CALLABLE"]
        if row["PHONE"] == CCC_CLEAR_TEST_NUMBER:
            assert row["LITIGATOR_STATUS"] == "clear" and row["DNC_STATUS"] == "clear" and row["CALLABLE"]
    assert any(r["PHONE"] in CCC_LITIGATOR_TEST_NUMBERS for r in phones)
    assert any(r["CALLABLE"] for r in phones)


def test_no_callable_phone_without_two_clear_scrubs(day1_run, warehouse):
    rows = results_for(warehouse, DAY1)
    for row in rows:
        if row["CALLABLE"]:
            assert (row["LITIGATOR_STATUS"], row["DNC_STATUS"]) == ("clear", "clear")
            assert row["BLOCK_REASON"] is None
        else:
            assert row["BLOCK_REASON"]


def test_phones_are_ranked_at_most_three_and_valid(day1_run, warehouse):
    rows = results_for(warehouse, DAY1)
    by_lead = collections.defaultdict(list)
    for row in rows:
        by_lead[row["LEAD_ID"]].append(row)
    for lead_rows in by_lead.values():
        with_phone = [r for r in lead_rows if r["PHONE"]]
        assert len(with_phone) <= 3
        assert [r["PHONE_RANK"] for r in with_phone] == list(range(1, len(with_phone) + 1))
        assert len({r["PHONE"] for r in with_phone}) == len(with_phone)
        for r in with_phone:
            assert len(r["PHONE"]) == 10 and r["PHONE"].isdigit()


def test_leads_without_phones_are_present_and_not_callable(day1_run, warehouse):
    rows = [r for r in results_for(warehouse, DAY1) if r["PHONE"] is None]
    assert rows, "the sandbox has people with no match and people with only disconnected numbers"
    for row in rows:
        assert row["CALLABLE"] is False and row["BLOCK_REASON"] == "NO_PHONE"


def test_invalid_leads_are_dead_lettered_with_reasons(day1_run, warehouse):
    letters = dead_letters_for(warehouse, DAY1)
    reasons = collections.Counter((r["STAGE"], r["REASON"]) for r in letters)
    for reason in ("missing_last_name", "invalid_state", "invalid_zip"):
        assert reasons[("pre_filter", reason)] >= 1, reasons
    assert reasons[("idicore", "idicore_TooManyMatches")] >= 1, reasons
    for row in letters:
        assert row["ROW_JSON"].startswith("{") and row["LEAD_ID"] in row["ROW_JSON"]
    result_leads = {r["LEAD_ID"] for r in results_for(warehouse, DAY1)}
    assert not result_leads & {r["LEAD_ID"] for r in letters}


def test_every_lead_in_is_accounted_for_out(day1_run, warehouse, sandbox):
    result, _ = day1_run
    raw = fetch(
        warehouse,
        "SELECT LEAD_ID FROM LEADS WHERE CREATED_AT >= ? AND CREATED_AT < ?",
        day_bounds(DAY1),
    )
    distinct_in = {r["LEAD_ID"] for r in raw}
    out = {r["LEAD_ID"] for r in results_for(warehouse, DAY1)} | {
        r["LEAD_ID"] for r in dead_letters_for(warehouse, DAY1)
    }
    assert out == leads_of_day(warehouse, DAY1) and out <= distinct_in
    meta = result.asset_materializations_for_node("new_leads")[0].metadata
    figures = {k: v.value for k, v in meta.items() if hasattr(v, "value")}
    assert figures["rows_in"] == len(raw) >= LEADS_PER_DAY
    assert (
        figures["returning_leads"] + figures["duplicates"] + figures["dead_lettered"] + figures["rows_out"]
        == figures["rows_in"]
    )


def test_rematerializing_leaves_results_identical(day1_run, defs, instance, warehouse):
    business = [
        "PARTITION_DATE",
        "LEAD_ID",
        "PHONE",
        "PHONE_RANK",
        "LITIGATOR_STATUS",
        "DNC_STATUS",
        "CALLABLE",
        "BLOCK_REASON",
        "EMAILS",
    ]
    before = [tuple(r[c] for c in business) for r in results_for(warehouse, DAY1)]
    letters_before = sorted((r["LEAD_ID"], r["STAGE"], r["REASON"]) for r in dead_letters_for(warehouse, DAY1))
    again = run_partition(defs, instance, DAY1)
    assert again.success
    after = [tuple(r[c] for c in business) for r in results_for(warehouse, DAY1)]
    assert after == before
    assert len(after) == len(set(after)), "no duplicate rows"
    letters_after = sorted((r["LEAD_ID"], r["STAGE"], r["REASON"]) for r in dead_letters_for(warehouse, DAY1))
    assert letters_after == letters_before
    run_ids = {r["RUN_ID"] for r in results_for(warehouse, DAY1)}
    assert run_ids == {again.run_id}, "the whole partition was replaced by the rerun"


def test_second_day_does_not_enrich_leads_delivered_on_day_one(day1_run, defs, instance, warehouse, sandbox):
    delivered_day1 = {r["LEAD_ID"] for r in results_for(warehouse, DAY1)}
    day2_ids = {
        r["LEAD_ID"]
        for r in fetch(
            warehouse,
            "SELECT LEAD_ID FROM LEADS WHERE CREATED_AT >= ? AND CREATED_AT < ?",
            day_bounds(DAY2),
        )
    }
    resent = delivered_day1 & day2_ids
    assert resent, "the sandbox re-sends some of yesterday's leads"
    sandbox.idicore_counters.reset()
    result = run_partition(defs, instance, DAY2)
    assert result.success
    searched = set(sandbox.idicore_counters.snapshot()["references"])
    assert searched, "day 2 has new leads that were searched"
    assert not searched & resent
    day2_results = {r["LEAD_ID"] for r in results_for(warehouse, DAY2)}
    assert not day2_results & resent
    meta = result.asset_materializations_for_node("new_leads")[0].metadata
    day1_rows = fetch(warehouse, "SELECT LEAD_ID FROM LEADS WHERE CREATED_AT >= ? AND CREATED_AT < ?", day_bounds(DAY1))
    returning_rows = [
        r
        for r in fetch(
            warehouse, "SELECT LEAD_ID FROM LEADS WHERE CREATED_AT >= ? AND CREATED_AT < ?", day_bounds(DAY2)
        )
        if r["LEAD_ID"] in {d["LEAD_ID"] for d in day1_rows}
    ]
    # every row of day 2 whose lead appears on day 1 (delivered or dead-lettered there) is returning
    assert meta["returning_leads"].value == len(returning_rows) >= len(resent)


def test_stage_metadata_is_numeric_and_named(day1_run):
    result, _ = day1_run
    for node, stage in [
        ("raw_leads", "Snowflake Query"),
        ("new_leads", "Pre-filtering"),
        ("lead_contacts", "idiCORE"),
        ("litigator_scrub", "CCC"),
        ("dnc_scrub", "DNC"),
        ("lead_results", "Results Upload"),
    ]:
        meta = result.asset_materializations_for_node(node)[0].metadata
        assert meta["stage"].value == stage
        assert meta["stage_seconds"].value >= 0
    contacts = result.asset_materializations_for_node("lead_contacts")[0].metadata
    assert contacts["idicore_calls"].value >= contacts["searches"].value > 0


def test_the_run_says_which_warehouse_it_writes_to(day1_run, instance, sandbox):
    """In the run's tags (the UI's run list), its first step's log and the metadata of the steps that read and
    write the warehouse: account, host, database.schema, and that this is the sandbox."""
    result, _ = day1_run
    tags = instance.get_run_by_id(result.run_id).tags
    env = sandbox.env
    assert tags["etl/warehouse"] == f"{env['SNOWFLAKE_ACCOUNT']}/{env['SNOWFLAKE_DATABASE']}.{env['SNOWFLAKE_SCHEMA']}"
    assert tags["etl/sandbox"] == "yes"
    for node in ("raw_leads", "lead_results"):
        text = result.asset_materializations_for_node(node)[0].metadata["warehouse_target"].value
        assert text.startswith("the LOCAL SANDBOX: account sandbox at 127.0.0.1:") and env["SNOWFLAKE_SCHEMA"] in text
    logged = [e.user_message for e in instance.all_logs(result.run_id) if "warehouse target:" in e.user_message]
    assert logged and env["SNOWFLAKE_PASSWORD"] not in " ".join(logged)


def test_every_check_result_is_recorded_for_its_day(day1_run, instance):
    """Check specs carry the daily partitions: the UI shows a day's check status, not one undated list."""
    import dagster as dg

    from etl_platform.core.results import DATA_CHECKS
    from etl_platform.defs.checks import DURATION_CHECK

    result, _ = day1_run
    keys = [dg.AssetCheckKey(dg.AssetKey("lead_results"), name) for name in DATA_CHECKS]
    keys += [dg.AssetCheckKey(dg.AssetKey(a), DURATION_CHECK) for a in ("raw_leads", "lead_contacts", "dnc_scrub")]
    for key in keys:
        records = [
            r
            for r in instance.event_log_storage.get_asset_check_execution_history(key, limit=50)
            if r.run_id == result.run_id
        ]
        assert len(records) == 1 and records[0].partition == DAY1.isoformat(), (key, records)
    compliance = dg.AssetCheckKey(dg.AssetKey("lead_results"), "no_callable_without_two_clear_scrubs")
    (record,) = [
        r
        for r in instance.event_log_storage.get_asset_check_execution_history(compliance, limit=50)
        if r.run_id == result.run_id
    ]
    assert record.status.value == "SUCCEEDED"


def test_each_materialization_reports_its_row_counts(day1_run, warehouse):
    result, _ = day1_run
    rows = results_for(warehouse, DAY1)
    upload = result.asset_materializations_for_node("lead_results")[0].metadata
    assert upload["dagster/row_count"].value == upload["dagster/partition_row_count"].value == len(rows)
    for node in ("raw_leads", "new_leads", "lead_contacts", "litigator_scrub", "dnc_scrub"):
        assert result.asset_materializations_for_node(node)[0].metadata["dagster/row_count"].value > 0, node
