"""The checks' rules as functions: baselines scaled by volume, the learned baseline, each data check of
lead_results, and what counts as a vendor failure."""

from __future__ import annotations

import pandas as pd
import pytest

from etl_platform.adapters.baselines_file import load_baselines
from etl_platform.core.baselines import judge_volume
from etl_platform.core.results import COMPLIANCE_CHECK, results_data_checks
from etl_platform.core.vendor_failures import failed_calls, is_vendor_failure, kind_of, scrub_reason


def test_baseline_scales_with_volume_and_grades():
    idicore = load_baselines().stages["lead_contacts"]
    assert idicore.judge(15, {"searches": 200}).status == "OK"
    assert idicore.judge(25, {"searches": 200}).status == "SLOW"
    assert idicore.judge(25, {"searches": 400}).status == "OK"  # limits double with twice the volume
    assert idicore.judge(61, {"searches": 100}).status == "CONCERN"  # small volumes keep the base limits
    assert load_baselines().stages["raw_leads"].judge(31, {"rows_out": 10_000}).status == "CONCERN"


def test_learned_baseline_needs_history_and_flags_far_off():
    learned = load_baselines().learned
    assert learned.judge(100, [1, 1]) == (False, None)
    assert learned.judge(5, [1, 1.2, 0.9])[0] is True
    assert learned.judge(1.5, [1, 1.2, 0.9])[0] is False


def test_extract_volume_warns_on_an_empty_day_and_on_far_fewer_leads_than_usual():
    empty = judge_volume(0, [], 0.5)
    assert empty.low and empty.describe() == "no history, 0 leads: an empty extract"
    assert not judge_volume(5, [], 0.5).low
    assert not judge_volume(5, [100, 100], 0.5).low  # two earlier extracts give no median yet
    assert judge_volume(0, [100, 100], 0.5).low  # but 0 leads always warns
    assert judge_volume(49, [100, 90, 110], 0.5).low
    assert not judge_volume(50, [100, 90, 110], 0.5).low
    assert "49 leads vs a median of 100 over 3 earlier extracts" in judge_volume(49, [100, 90, 110], 0.5).describe()
    assert judge_volume(0, [0, 0, 0], 0.5).low  # a run of empty days keeps warning
    assert not judge_volume(1, [100, 90, 110], 0).low  # share 0: only an empty day warns


def _results(**overrides) -> pd.DataFrame:
    row = {"LEAD_ID": "L1", "PHONE": "2012345678", "LITIGATOR_STATUS": "clear", "DNC_STATUS": "clear", "CALLABLE": True}
    return pd.DataFrame([row | overrides])


def _scrub(prefix: str, phones=("2012345678",)) -> pd.DataFrame:
    return pd.DataFrame({"PHONE": list(phones), f"{prefix}_STATUS": "clear", f"{prefix}_REASON": None})


@pytest.mark.parametrize(
    ("results", "failing"),
    [
        (_results(DNC_STATUS="unknown"), COMPLIANCE_CHECK),
        (_results(LITIGATOR_STATUS="litigator"), COMPLIANCE_CHECK),
        (pd.concat([_results(), _results()]), "no_duplicate_lead_phone"),
        (_results(PHONE="1234567890", CALLABLE=False), "phones_are_valid_nanp"),
        (_results(LEAD_ID="L2"), "every_lead_accounted_for"),
        (_results(PHONE="2019999999", CALLABLE=False), "every_phone_scrubbed_twice"),
    ],
)
def test_each_data_check_can_fail(results, failing):
    contacts = pd.DataFrame({"LEAD_ID": ["L1"]})
    scrubbed = ["2012345678"] if failing == "every_phone_scrubbed_twice" else results["PHONE"].tolist()
    outcome = results_data_checks(results, contacts, _scrub("LITIGATOR", scrubbed), _scrub("DNC", scrubbed), set())
    assert outcome[failing][0] is False
    assert all(passed for name, (passed, _) in outcome.items() if name != failing)


# --- what counts as a vendor failure (core/vendor_failures.py) --------------------------------------------
@pytest.mark.parametrize(
    ("kind", "vendor_failed"),
    [
        ("http_503", True),
        ("timeout", True),
        ("connection", True),
        ("http_429", True),  # a 429 that outlived every retry left the item without an answer
        ("bad_reply_html", True),
        ("breaker_open", True),  # refused because the vendor is down: no answer for the item
        ("invalid_number", False),
        ("rejected_number", False),
        ("http_400", False),
        ("batch_split", False),
        ("idicore_TooManyMatches", False),
        (None, False),
    ],
)
def test_one_definition_of_a_vendor_failure(kind, vendor_failed):
    assert is_vendor_failure(kind) is vendor_failed


def test_scrub_reasons_map_back_to_their_error_kinds():
    assert kind_of(scrub_reason("ccc", "http_503"), "ccc") == "http_503"
    assert is_vendor_failure(kind_of("ccc_breaker_open", "ccc"))
    assert not is_vendor_failure(kind_of("ccc_rejected_number", "ccc"))
    assert not is_vendor_failure(kind_of("invalid_number", "ccc"))


def test_the_error_rate_counts_failed_calls_not_breaker_refusals_or_input_problems():
    figures = {
        "ccc_calls": 20,
        "ccc_error_http_503": 3,
        "ccc_error_timeout": 1,
        "ccc_error_breaker_open": 7,
        "ccc_error_http_400": 2,
        "ccc_error_batch_split": 1,
        "idicore_error_http_503": 50,  # another vendor's counters are not this one's
    }
    assert failed_calls(figures, "ccc") == 4
