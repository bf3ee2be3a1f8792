"""What the UI's Checks tab says about the checks of the steps after a failed one (the two scrubs, the compliance
group, and lead_results), read through the deployment's GraphQL (the fields the UI's AssetChecksQuery reads). A
check whose step did not run must not read as Failed over the evaluation that passed; the failed run itself
shows the step that failed."""

from __future__ import annotations

import datetime as dt

import pytest

from etl_platform.core.results import COMPLIANCE_CHECK, DATA_CHECKS
from etl_platform_tests.helpers import run_partition

GOOD_DAY = dt.date(2026, 7, 20)  # days no other test file uses: a session database may hold them all
FAILED_DAY = dt.date(2026, 7, 21)

CHECKS_QUERY = """
query ($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    ... on AssetNode {
      assetChecksOrError {
        ... on AssetChecks {
          checks {
            name
            blocking
            executionForLatestMaterialization { runId status partition evaluation { success severity } }
            partitionStatuses {
              __typename
              ... on AssetCheckTimePartitionStatuses { ranges { startKey endKey status } }
            }
          }
        }
      }
    }
  }
}
"""

RUN_QUERY = """
query ($runId: ID!) {
  runOrError(runId: $runId) { ... on Run { status stepStats { stepKey status } } }
}
"""


def ui_status(check: dict, ranges: list[dict]) -> str:
    """The word the Checks list shows under a check's name, as dagster-webserver 1.13 computes it
    (ui-core/src/assets/asset-checks/util.tsx: getAggregateCheckIconType + assetCheckStatusDescription): any
    partition FAILED or EXECUTION_FAILED reads "Failed"; otherwise in progress, skipped, succeeded."""
    statuses = {r["status"] for r in ranges}
    if not statuses:  # no partition statuses: the latest execution decides
        latest = check["executionForLatestMaterialization"]
        status = latest["status"] if latest else None
        return {
            None: "Not evaluated",
            "FAILED": "Failed",
            "EXECUTION_FAILED": "Failed",
            "IN_PROGRESS": "In progress",
            "SKIPPED": "Skipped",
            "SUCCEEDED": "Succeeded",
        }[status]
    if statuses & {"FAILED", "EXECUTION_FAILED"}:
        return "Failed"
    for status, word in (("IN_PROGRESS", "In progress"), ("SKIPPED", "Skipped"), ("SUCCEEDED", "Succeeded")):
        if status in statuses:
            return word
    return "Not evaluated"


def covering(ranges: list[dict], day: dt.date) -> list[dict]:
    return [r for r in ranges if r["startKey"] <= day.isoformat() <= r["endKey"]]


@pytest.fixture(scope="module")
def days(sandbox, registry_loaded):
    sandbox.seed_leads([GOOD_DAY, FAILED_DAY], per_day=20)


def test_checks_that_did_not_run_on_a_failed_day_do_not_read_as_failed(days, deployment, defs, instance, sandbox):
    good = run_partition(defs, instance, GOOD_DAY)
    assert good.success
    sandbox.idicore.update(faults={"503": 1.0})  # idiCORE down: lead_contacts fails, lead_results never starts
    failed = run_partition(defs, instance, FAILED_DAY, raise_on_error=False)
    assert not failed.success

    # The failed run shows the step that failed, and lead_results as not run.
    run = deployment.graphql(RUN_QUERY, {"runId": failed.run_id})["runOrError"]
    assert run["status"] == "FAILURE"
    steps = {s["stepKey"]: s["status"] for s in run["stepStats"]}
    assert steps["lead_contacts"] == "FAILURE"
    assert all(steps.get(a) in (None, "SKIPPED") for a in ("litigator_scrub", "dnc_scrub", "lead_results")), steps

    checks = {}
    for asset in ("litigator_scrub", "dnc_scrub", "lead_results"):
        node = deployment.graphql(CHECKS_QUERY, {"assetKey": {"path": [asset]}})["assetNodeOrError"]
        checks |= {(asset, c["name"]): c for c in node["assetChecksOrError"]["checks"]}
    assert {name for asset, name in checks if asset == "lead_results"} >= set(DATA_CHECKS)
    assert len(checks) == 3 + 2 + 8  # the scrubs' stage checks, lead_results' stage and data checks
    assert checks["lead_results", COMPLIANCE_CHECK]["blocking"]
    for name, check in checks.items():
        ranges = check["partitionStatuses"]["ranges"]
        # the good day passed; the failed day has no status of its own: its checks did not run
        assert [r["status"] for r in covering(ranges, GOOD_DAY)] == ["SUCCEEDED"], (name, ranges)
        assert covering(ranges, FAILED_DAY) == [], (name, ranges)
        latest = check["executionForLatestMaterialization"]
        assert (latest["status"], latest["runId"], latest["partition"]) == (
            "SUCCEEDED",
            good.run_id,
            GOOD_DAY.isoformat(),
        ), (name, latest)
        mine = covering(ranges, GOOD_DAY) + covering(ranges, FAILED_DAY)
        assert ui_status(check, mine) == "Succeeded", name

    # The steps did report their checks in the good run, though the daily job does not plan them.
    reported = {(e.asset_key.to_user_string(), e.check_name) for e in good.get_asset_check_evaluations()}
    assert reported >= set(checks)
