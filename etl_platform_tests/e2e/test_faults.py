"""Vendor faults through Dagster. Never a callable phone without two clear scrubs, never a lost lead, and a
failed run leaves the previous LEAD_RESULTS partition untouched.

The matrix: each of the 22 fault kinds (8 per vendor, and 3 odd reply forms for each) is injected a fixed
number of times (the sandbox's `fault_limit`) into the one step it touches, materialized with only the cheap
steps before it (a committed partition keeps no stored frames) on top of a partition already run once: the
step must ride the faults out with exactly those retries, and the sandbox must have served exactly those
faults. Whole partitions run only where the whole partition is the point: a vendor down, faults of every
kind at once, a stale registry, bad credentials.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from etl_platform.core.results import DATA_CHECKS
from etl_platform.sandbox.world import COVERED_AREA_CODES
from etl_platform_tests.conftest import load_registry
from etl_platform_tests.helpers import (
    dead_letters_for,
    leads_of_day,
    results_for,
    run_partition,
    stage_meta,
    through,
)

FAULT_DAY = dt.date(2026, 3, 9)
INJECTED = 2  # faults per matrix case: below every retry budget (attempts 5), above zero


@pytest.fixture(scope="module")
def fault_day(sandbox, defs, instance, registry_loaded):
    sandbox.seed_leads([FAULT_DAY], per_day=60)
    # The "previous" partition every failed run must keep, and the stored inputs of single-step runs.
    assert run_partition(defs, instance, FAULT_DAY).success
    return FAULT_DAY


@pytest.fixture(scope="module")
def cur(sandbox):
    with sandbox.connect() as conn:
        cursor = conn.cursor()
        yield cursor


def snapshot(cur, day):
    return [tuple(sorted(r.items())) for r in results_for(cur, day)]


def expected_lead_ids(cur, day) -> set[str]:
    return leads_of_day(cur, day)


def assert_fail_closed(cur, world, day):
    """Every callable phone is callable in the world and has two clear verdicts; a phone the world says is
    blocked is never callable; every lead is in LEAD_RESULTS or LEAD_DEAD_LETTERS."""
    rows = results_for(cur, day)
    assert rows
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


def step_retries(result) -> list:
    return [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]


def served(sandbox, vendor: str) -> dict[str, int]:
    return getattr(sandbox, f"{vendor}_counters").snapshot()["counts"]


# --- the matrix: each kind, injected INJECTED times, into the step it touches ----------------------------
IDICORE_KINDS = ["429", "500", "503", "slow", "drop", "malformed", "html", "token_expiry"]
CCC_KINDS = ["429", "500", "503", "slow", "drop", "malformed", "html", "missing_phone"]
# Replies in unusual but possible forms, for both vendors: a 429 whose Retry-After is "soon" (the old clients
# raised ValueError: three whole-step attempts, then the day failed), bytes that are not UTF-8, a
# Content-Encoding that lies (httpx's DecodingError escaped the CCC client). Ridden out like the others.
ODD_REPLY_KINDS = ["retry_after_garbage", "not_utf8", "bad_encoding"]


@pytest.mark.parametrize("kind", IDICORE_KINDS + ODD_REPLY_KINDS)
def test_idicore_fault_is_ridden_out_with_one_retry_per_fault(kind, fault_day, sandbox, defs, instance, cur):
    cur.execute("DELETE FROM ENRICHMENT_CACHE")  # every person is searched again
    sandbox.idicore.update(faults={kind: 1.0}, fault_limit=INJECTED)
    result = run_partition(defs, instance, FAULT_DAY, steps=through("lead_contacts"))
    assert result.success, kind
    meta = stage_meta(result, "lead_contacts")
    assert served(sandbox, "idicore")[f"fault_{kind}"] == INJECTED
    if kind == "token_expiry":
        # one login per revoked token, however many searches were in flight with it; no retry needed
        assert (meta["idicore_relogins"], meta["idicore_retries"]) == (INJECTED, 0), meta
    else:
        assert meta["idicore_retries"] == INJECTED, meta
    assert meta["failed"] == 0 and meta["idicore_failed_calls"] == 0, meta
    assert meta["searches"] == meta["found"] + meta["no_match"] + meta["rejected"] > 0
    assert meta["idicore_breaker_openings"] == 0
    assert not step_retries(result), "ridden out by the client, not by a whole-step retry"


@pytest.mark.parametrize("kind", CCC_KINDS + ODD_REPLY_KINDS)
def test_ccc_fault_is_ridden_out_with_one_retry_per_fault(kind, fault_day, sandbox, defs, instance):
    sandbox.ccc.update(faults={kind: 1.0}, fault_limit=INJECTED)
    result = run_partition(defs, instance, FAULT_DAY, steps=through("litigator_scrub"))
    assert result.success, kind
    meta = stage_meta(result, "litigator_scrub")
    assert served(sandbox, "ccc")[f"fault_{kind}"] == INJECTED
    assert meta["ccc_retries"] == INJECTED, meta
    assert meta["vendor_unknown"] == 0 and meta.get("status_unknown", 0) == 0, meta
    assert meta.get("status_clear", 0) + meta.get("status_litigator", 0) == meta["distinct_phones"] > 0
    assert not step_retries(result), "ridden out by the client, not by a whole-step retry"


@pytest.mark.parametrize("vendor", ["idicore", "ccc"])
def test_every_fault_kind_at_once_stays_fail_closed(vendor, fault_day, sandbox, defs, instance, cur):
    """All eight kinds of a vendor at once, end to end: the run succeeds and its verdicts are exactly right."""
    kinds = IDICORE_KINDS if vendor == "idicore" else CCC_KINDS
    cur.execute("DELETE FROM ENRICHMENT_CACHE")
    # idiCORE makes ~60 calls: 2% of each kind is about one of each; CCC makes one call per try. The
    # sandbox's faults follow its seed, so the same faults are drawn on every run.
    getattr(sandbox, vendor).update(faults={k: 0.02 if vendor == "idicore" else 0.05 for k in kinds})
    result = run_partition(defs, instance, FAULT_DAY)
    assert result.success
    assert_fail_closed(cur, sandbox.world, FAULT_DAY)
    step = "lead_contacts" if vendor == "idicore" else "litigator_scrub"
    assert stage_meta(result, step)[f"{vendor}_calls"] > 0


def test_idicore_too_many_matches_dead_letters_the_lead(fault_day, sandbox, defs, instance, cur):
    cur.execute("DELETE FROM ENRICHMENT_CACHE")
    sandbox.idicore.update(faults={"too_many_matches": 1.0}, fault_limit=3)
    result = run_partition(defs, instance, FAULT_DAY)
    assert result.success
    refused = [r for r in dead_letters_for(cur, FAULT_DAY) if r["REASON"] == "idicore_TooManyMatches"]
    meta = stage_meta(result, "lead_contacts")
    # the 3 refused by the fault plus the day's leads too broad to search (no address and no ZIP)
    assert meta["rejected"] >= 3 and len(refused) == meta["rejected"]
    assert meta["idicore_retries"] == 0, "a refused query is not retried as is"
    assert_fail_closed(cur, sandbox.world, FAULT_DAY)


# --- whole partitions ----------------------------------------------------------------------------------
@pytest.mark.parametrize("vendor", ["idicore", "ccc"])
def test_vendor_down_fails_the_run_and_keeps_the_previous_partition(vendor, fault_day, sandbox, defs, instance, cur):
    cur.execute("DELETE FROM ENRICHMENT_CACHE")
    before = snapshot(cur, FAULT_DAY)
    getattr(sandbox, vendor).update(faults={"503": 1.0})
    result = run_partition(defs, instance, FAULT_DAY, raise_on_error=False)
    assert not result.success
    failed_steps = {e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE}
    assert failed_steps == {"lead_contacts" if vendor == "idicore" else "litigator_scrub"}
    retried = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    assert retried, "the step is retried by its RetryPolicy before the run fails"
    assert not result.asset_materializations_for_node("lead_results")
    assert snapshot(cur, FAULT_DAY) == before, "a failed run must leave the previous partition as it was"

    # The compliance checks of lead_results could not run, and the daily job does not plan them: a planned check
    # of a failed run reads "Failed" in the UI (test_checks_display.py). The failed run leaves no record of them.
    run = instance.get_run_by_id(result.run_id)
    assert run.status == dg.DagsterRunStatus.FAILURE
    for name in DATA_CHECKS:
        key = dg.AssetCheckKey(dg.AssetKey("lead_results"), name)
        history = instance.event_log_storage.get_asset_check_execution_history(key, limit=20)
        assert not [r for r in history if r.run_id == result.run_id], name
        assert history and history[0].status == AssetCheckExecutionRecordStatus.SUCCEEDED, (name, history[:1])

    failure = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE][-1]
    # The run page's last word is the cause, not "Exceeded max_retries": vendor, counts, what was kept.
    message = failure.step_failure_data.error.message
    assert "max_retries" not in message
    assert ("idiCORE failed for" if vendor == "idicore" else "CCC gave no verdict for") in message
    assert "attempt 2 of 2" in message and f"Nothing was written for {FAULT_DAY}" in message
    assert f"LEAD_RESULTS keeps {FAULT_DAY} as run" in message, message
    meta = {k: getattr(v, "value", v) for k, v in failure.step_failure_data.user_failure_data.metadata.items()}
    if vendor == "idicore":  # ~57 searches fail in a row: the breaker opens (CCC's one batch makes 5 calls)
        assert meta["idicore_breaker_openings"] >= 1
        assert meta["idicore_breaker_rejections"] > 0, "searches after the breaker opened did not hit the vendor"
        assert meta["idicore_calls"] < 60 * 5, "without the breaker every search would have made every attempt"


@pytest.mark.parametrize(
    ("registry", "cause"),
    [
        ("stale", "days old"),
        ("future", "dated in the future (2099-01-01)"),
        ("missing", "does not exist"),
    ],
)
def test_a_registry_that_cannot_vouch_for_the_day_fails_it_and_keeps_the_previous_partition(
    registry, cause, fault_day, sandbox, defs, instance, cur, tmp_path
):
    """The old behaviour: the run succeeded with 0 callable phones and replaced a good partition; a copy dated
    2099 was taken as fresh. Now dnc_scrub fails, naming the cause, and nothing is written."""
    source, store = Path(sandbox.env["DNC_SOURCE_DIR"]), Path(sandbox.env["DNC_REGISTRY_PATH"])
    before = snapshot(cur, FAULT_DAY)
    backup = tmp_path / "registry-backup"
    shutil.copytree(source, backup)
    try:
        if registry == "missing":
            store.rename(tmp_path / "registry.duckdb")
        else:
            day = dt.date(2099, 1, 1) if registry == "future" else dt.date.today() - dt.timedelta(days=40)
            sandbox.write_registry(copy_date=day)
            load_registry(defs, instance)
        result = run_partition(defs, instance, FAULT_DAY, raise_on_error=False)
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
        assert failure.step_key == "dnc_scrub"
        text = failure.step_failure_data.user_failure_data.description
        assert "cannot vouch" in text and cause in text, text
        assert not step_retries(result), "a retry cannot freshen the files"
        assert snapshot(cur, FAULT_DAY) == before, "the previous partition stays"
    finally:
        if registry == "missing":
            (tmp_path / "registry.duckdb").rename(store)
        shutil.rmtree(source)
        shutil.copytree(backup, source)
        load_registry(defs, instance)


def test_bad_idicore_credentials_fail_without_retry(fault_day, sandbox, defs, instance, cur, monkeypatch):
    cur.execute("DELETE FROM ENRICHMENT_CACHE")  # so idiCORE has to be called
    before = snapshot(cur, FAULT_DAY)
    monkeypatch.setenv("IDICORE_CLIENT_SECRET", "not-the-secret")  # resolved by the resource's EnvVar
    result = run_partition(defs, instance, FAULT_DAY, raise_on_error=False)
    assert not result.success
    events = result.all_events
    assert not [e for e in events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY]
    failure = next(e for e in events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert failure.step_key == "lead_contacts"
    assert "configuration" in str(failure.step_failure_data.user_failure_data.description)
    assert "not-the-secret" not in str(events)
    assert snapshot(cur, FAULT_DAY) == before
