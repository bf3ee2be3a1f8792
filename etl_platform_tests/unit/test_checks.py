"""The checks' rules as functions: baselines scaled by volume, the learned baseline, each data check of
lead_results, and what counts as a vendor failure."""

from __future__ import annotations

import pandas as pd
import pytest

from etl_platform.core.baselines import load_baselines
from etl_platform.core.results import COMPLIANCE_CHECK, results_data_checks


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
