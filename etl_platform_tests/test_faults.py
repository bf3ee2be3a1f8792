"""Vendor faults end to end through Dagster: the run completes with correct verdicts after retries, or fails
cleanly; never a callable phone without two clear scrubs, never a lost lead, and a failed run leaves the
previous LEAD_RESULTS partition untouched."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from etl_platform.partitions import day_bounds
from etl_platform.sandbox.world import COVERED_AREA_CODES
from etl_platform_tests.helpers import dead_letters_for, fetch, results_for, run_partition

FAULT_DAY = dt.date(2026, 3, 9)


@pytest.fixture(scope="module")
def fault_day(sandbox, defs, instance, registry_loaded, warehouse_module):
    sandbox.seed_leads([FAULT_DAY], per_day=60)
    assert run_partition(defs, instance, FAULT_DAY).success  # the "previous" partition every fault run must keep
    return FAULT_DAY


@pytest.fixture(scope="module")
def warehouse_module(sandbox):
    with sandbox.connect() as conn:
        cur = conn.cursor()
        yield cur


def snapshot(cur, day):
    return [tuple(sorted(r.items())) for r in results_for(cur, day)]


def expected_lead_ids(cur, day) -> set[str]:
    leads = {
        r["LEAD_ID"]
        for r in fetch(cur, "SELECT LEAD_ID FROM LEADS WHERE CREATED_AT >= ? AND CREATED_AT < ?", day_bounds(day))
    }
    earlier = {r["LEAD_ID"] for r in fetch(cur, "SELECT LEAD_ID FROM LEAD_RESULTS WHERE PARTITION_DATE < ?", [day])}
    return leads - earlier


def assert_fail_closed(cur, world, day):
    """Every callable phone is callable in the world and has two clear verdicts; a phone the world says is
    blocked is never callable; every lead is in LEAD_RESULTS or LEAD_DEAD_LETTERS."""
    rows = results_for(cur, day)
    for row in rows:
        phone = row["PHONE"]
        if row["CALLABLE"]:
            assert (row["LITIGATOR_STATUS"], row["DNC_STATUS"]) == ("clear", "clear"), row
            assert not world.is_litigator(phone) and not world.is_dnc_listed(phone), row
            assert phone[:3] in COVERED_AREA_CODES, row
        else:
            assert row["BLOCK_REASON"], row
    accounted = {r["LEAD_ID"] for r in rows} | {r["LEAD_ID"] for r in dead_letters_for(cur, day)}
    assert accounted == expected_lead_ids(cur, day)


def run_with_fault(sandbox, defs, instance, cur, vendor: str, faults: dict[str, float]):
    cur.execute("DELETE FROM ENRICHMENT_CACHE")  # make idiCORE do every search again under the fault
    before = snapshot(cur, FAULT_DAY)
    getattr(sandbox, vendor).update(faults=faults)
    try:
        result = run_partition(defs, instance, FAULT_DAY, raise_on_error=False)
    finally:
        getattr(sandbox, vendor).update(faults={})
    if not result.success:
        assert snapshot(cur, FAULT_DAY) == before, "a failed run must leave the previous partition as it was"
    assert_fail_closed(cur, sandbox.world, FAULT_DAY)
    return result


def stage_meta(result, node: str) -> dict:
    mats = result.asset_materializations_for_node(node)
    return {k: getattr(v, "value", v) for k, v in mats[-1].metadata.items()} if mats else {}


IDICORE_FAULTS = {
    "429": 0.3,
    "500": 0.3,
    "503": 0.3,
    "slow": 0.05,
    "drop": 0.2,
    "malformed": 0.2,
    "html": 0.2,
    "token_expiry": 0.05,
}
CCC_FAULTS = {
    "429": 0.5,
    "500": 0.5,
    "503": 0.5,
    "slow": 0.4,
    "drop": 0.5,
    "malformed": 0.5,
    "html": 0.5,
    "missing_phone": 0.5,
}


@pytest.mark.parametrize("kind", sorted(IDICORE_FAULTS))
def test_idicore_transient_fault_is_ridden_out(kind, fault_day, sandbox, defs, instance, warehouse_module):
    result = run_with_fault(sandbox, defs, instance, warehouse_module, "idicore", {kind: IDICORE_FAULTS[kind]})
    assert result.success, kind
    meta = stage_meta(result, "lead_contacts")
    recovered = meta["idicore_relogins"] if kind == "token_expiry" else meta["idicore_retries"]
    assert recovered > 0, meta
    assert meta["searches"] > 0


@pytest.mark.parametrize("kind", sorted(CCC_FAULTS))
def test_ccc_transient_fault_is_ridden_out_or_blocks(kind, fault_day, sandbox, defs, instance, warehouse_module):
    result = run_with_fault(sandbox, defs, instance, warehouse_module, "ccc", {kind: CCC_FAULTS[kind]})
    if result.success:
        meta = stage_meta(result, "litigator_scrub")
        assert meta["ccc_retries"] > 0, meta
    else:
        assert "CCC" in str(result.all_events), kind


def test_idicore_too_many_matches_dead_letters_the_lead(fault_day, sandbox, defs, instance, warehouse_module):
    result = run_with_fault(sandbox, defs, instance, warehouse_module, "idicore", {"too_many_matches": 0.1})
    assert result.success
    letters = [r for r in dead_letters_for(warehouse_module, FAULT_DAY) if r["STAGE"] == "idicore"]
    assert any(r["REASON"] == "idicore_TooManyMatches" for r in letters)
    assert stage_meta(result, "lead_contacts")["rejected"] >= 1


@pytest.mark.parametrize("vendor", ["idicore", "ccc"])
def test_vendor_down_fails_the_run_and_keeps_the_previous_partition(
    vendor, fault_day, sandbox, defs, instance, warehouse_module
):
    result = run_with_fault(sandbox, defs, instance, warehouse_module, vendor, {"503": 1.0})
    assert not result.success
    failed_steps = {e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE}
    assert failed_steps == {"lead_contacts" if vendor == "idicore" else "litigator_scrub"}
    retried = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    assert retried, "the step is retried by its RetryPolicy before the run fails"
    assert not result.asset_materializations_for_node("lead_results")


def test_vendor_down_opens_the_breaker_and_fails_fast(fault_day, sandbox, defs, instance, warehouse_module):
    result = run_with_fault(sandbox, defs, instance, warehouse_module, "idicore", {"503": 1.0})
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    meta = {k: getattr(v, "value", v) for k, v in failure.step_failure_data.user_failure_data.metadata.items()}
    assert meta["idicore_breaker_openings"] >= 1
    assert meta["idicore_breaker_rejections"] > 0, "searches after the breaker opened did not hit the vendor"
    assert meta["idicore_calls"] < 60 * 5, "without the breaker every search would have made every attempt"


def test_stale_dnc_registry_blocks_every_phone(fault_day, sandbox, defs, instance, warehouse_module, tmp_path):
    import shutil

    from etl_platform.assets.scrubs import dnc_registry

    source = sandbox.env["DNC_SOURCE_DIR"]
    backup = tmp_path / "registry-backup"
    shutil.copytree(source, backup)
    try:
        stale = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=40)
        sandbox.write_registry(copy_date=stale)
        assert dg.materialize([dnc_registry], resources=defs.resources, instance=instance).success
        result = run_partition(defs, instance, FAULT_DAY)
        assert result.success
        rows = [r for r in results_for(warehouse_module, FAULT_DAY) if r["PHONE"]]
        assert rows and not any(r["CALLABLE"] for r in rows)
        assert all("DNC_UNKNOWN:" in r["BLOCK_REASON"] for r in rows)
    finally:
        shutil.rmtree(source)
        shutil.copytree(backup, source)
        assert dg.materialize([dnc_registry], resources=defs.resources, instance=instance).success


def test_bad_idicore_credentials_fail_without_retry(fault_day, sandbox, defs, instance, warehouse_module):
    from etl_platform.definitions import PIPELINE_ASSETS
    from etl_platform.vendors.idicore import IdiCoreResource

    warehouse_module.execute("DELETE FROM ENRICHMENT_CACHE")  # so idiCORE has to be called
    before = snapshot(warehouse_module, FAULT_DAY)
    env = sandbox.env
    idicore = IdiCoreResource(
        auth_url=env["IDICORE_AUTH_URL"],
        search_url=env["IDICORE_SEARCH_URL"],
        client_id=env["IDICORE_CLIENT_ID"],
        client_secret="not-the-secret",
    )
    result = dg.materialize(
        PIPELINE_ASSETS,
        partition_key=FAULT_DAY.isoformat(),
        instance=instance,
        resources={**defs.resources, "idicore": idicore},
        raise_on_error=False,
    )
    assert not result.success
    events = result.all_events
    assert not [e for e in events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    failure = next(e for e in events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert "configuration" in str(failure.step_failure_data.user_failure_data.description)
    assert "not-the-secret" not in str(events)
    assert snapshot(warehouse_module, FAULT_DAY) == before
