"""The deployment as separate processes (deployment.py: `dagster code-server start`, the webserver, the
daemon, one PostgreSQL instance): a partition submitted through the webserver's GraphQL endpoint runs to
success; a queued run whose code server goes away waits for it instead of failing
(`max_user_code_failure_retries` in dagster.yaml), and finishes once it is back."""

from __future__ import annotations

import datetime as dt
import time

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.utils import make_new_run_id

from etl_platform.core.results import COMPLIANCE_CHECK, DATA_CHECKS, RESULT_COLUMNS
from etl_platform.core.stages import DAILY_JOB
from etl_platform_tests.deployment import LOCATION, wait_for
from etl_platform_tests.helpers import fetch

FIRST_DAY = dt.date(2026, 4, 8)
WAITING_DAY = dt.date(2026, 4, 9)
HOLD_TAG = {"etl/parallel": "1"}  # dagster.yaml: at most one run with this tag runs at a time

LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""
STATUS = """
query Status($runId: ID!) {
  runOrError(runId: $runId) { __typename ... on Run { status tags { key value } } }
}"""


def launch(deployment, day: dt.date, tags: dict[str, str] | None = None) -> str:
    tags = {"dagster/partition": day.isoformat()} | (tags or {})
    params = {
        "selector": {"repositoryLocationName": LOCATION, "repositoryName": "__repository__", "jobName": DAILY_JOB},
        "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
        "runConfigData": {},
    }
    result = deployment.graphql(LAUNCH, {"params": params})["launchRun"]
    assert result["__typename"] == "LaunchRunSuccess", result
    return result["run"]["runId"]


def status(deployment, run_id: str) -> str:
    return deployment.graphql(STATUS, {"runId": run_id})["runOrError"]["status"]


def finished(deployment, run_id: str) -> str | None:
    state = status(deployment, run_id)
    return state if state in ("SUCCESS", "FAILURE", "CANCELED") else None


CHECKS = """
query Checks($checkName: String!, $partition: String) {
  assetCheckExecutions(assetKey: {path: ["lead_results"]}, checkName: $checkName, partition: $partition, limit: 5) {
    runId status partition
  }
}"""
RESULTS_ASSET = """
query Results($partition: String!) {
  assetNodes(assetKeys: [{path: ["lead_results"]}]) {
    owners { ... on TeamAssetOwner { team } }
    metadataEntries {
      label
      ... on TextMetadataEntry { text }
      ... on TableSchemaMetadataEntry { schema { columns { name type } } }
    }
  }
  assetOrError(assetKey: {path: ["lead_results"]}) {
    ... on Asset {
      assetMaterializations(partitions: [$partition], limit: 1) {
        runId partition
        metadataEntries { label ... on IntMetadataEntry { intValue } }
      }
    }
  }
}"""


def test_a_partition_submitted_through_the_webserver_runs_and_the_ui_shows_it(
    deployment, registry_loaded, sandbox, warehouse
):
    """Submitted through the webserver's GraphQL endpoint, run on the code server; then read back the way
    the UI reads it: each check's result for that day, and LEAD_RESULTS' table name, schema and row count."""
    sandbox.seed_leads([FIRST_DAY], per_day=20)
    run_id = launch(deployment, FIRST_DAY)
    outcome = wait_for("the run to finish", lambda: finished(deployment, run_id), 180, deployment.processes)
    assert outcome == "SUCCESS", deployment.logs()

    for check in DATA_CHECKS:
        executions = deployment.graphql(CHECKS, {"checkName": check, "partition": FIRST_DAY.isoformat()})
        mine = [e for e in executions["assetCheckExecutions"] if e["runId"] == run_id]
        assert mine and mine[0]["partition"] == FIRST_DAY.isoformat(), (check, executions)
        if check == COMPLIANCE_CHECK:
            assert mine[0]["status"] == "SUCCEEDED"

    data = deployment.graphql(RESULTS_ASSET, {"partition": FIRST_DAY.isoformat()})
    (node,) = data["assetNodes"]
    assert {"team": "data-engineering"} in node["owners"]
    entries = {e["label"]: e for e in node["metadataEntries"]}
    assert entries["dagster/table_name"]["text"] == "LEAD_RESULTS"
    columns = [c["name"] for c in entries["dagster/column_schema"]["schema"]["columns"]]
    assert columns == RESULT_COLUMNS
    (materialization,) = data["assetOrError"]["assetMaterializations"]
    counts = {e["label"]: e.get("intValue") for e in materialization["metadataEntries"]}
    stored = fetch(warehouse, "SELECT COUNT(*) AS N FROM LEAD_RESULTS WHERE PARTITION_DATE = ?", [FIRST_DAY])[0]["N"]
    assert materialization["runId"] == run_id
    assert counts["dagster/row_count"] == counts["dagster/partition_row_count"] == stored > 0


def test_a_queued_run_waits_for_its_code_server_and_finishes_when_it_is_back(
    deployment, deployed_instance, registry_loaded, sandbox
):
    """The run is held in the queue (a stand-in run occupies the `etl/parallel=1` limit) while the code server
    is stopped; then the queue is released: the daemon cannot reach the code server, puts the run back in the
    queue instead of failing it, and launches it once the code server is back."""
    sandbox.seed_leads([WAITING_DAY], per_day=20)
    holder = deployed_instance.add_run(
        DagsterRun(job_name="queue_holder", run_id=make_new_run_id(), status=dg.DagsterRunStatus.STARTED, tags=HOLD_TAG)
    )
    try:
        run_id = launch(deployment, WAITING_DAY, HOLD_TAG)
        time.sleep(1.5)  # several dequeue rounds of the daemon
        assert status(deployment, run_id) == "QUEUED", "held behind the stand-in run"
        deployment.stop_code_server()
    finally:
        deployed_instance.report_run_canceled(holder, "test: release the queue")

    def retried() -> bool:
        events = deployed_instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
        return any("failed to reach the user code server, re-submitting" in (e.message or "") for e in events)

    wait_for("the daemon to try, fail to reach the code server and requeue", retried, 60)
    time.sleep(1.5)
    assert status(deployment, run_id) == "QUEUED", "the run waits for its code server, it does not fail"

    deployment.start_code_server()
    outcome = wait_for("the run to finish", lambda: finished(deployment, run_id), 180, deployment.processes)
    assert outcome == "SUCCESS", deployment.logs()


FAILURE_LOGS = """
query Failure($runId: ID!) {
  logsForRun(runId: $runId) {
    ... on EventConnection {
      events { __typename ... on ExecutionStepFailureEvent { stepKey error { message } } }
    }
  }
}"""
FAILING_DAY = dt.date(2026, 4, 10)


def test_a_failed_run_says_why_on_its_run_page(deployment, registry_loaded, sandbox):
    """CCC down: the run page's step failure (read the way the UI reads it) names the vendor, the counts and
    what the partition kept, not "Exceeded max_retries"."""
    sandbox.seed_leads([FAILING_DAY], per_day=20)
    sandbox.ccc.update(faults={"503": 1.0})
    run_id = launch(deployment, FAILING_DAY)
    outcome = wait_for("the run to finish", lambda: finished(deployment, run_id), 180, deployment.processes)
    assert outcome == "FAILURE", deployment.logs()
    events = deployment.graphql(FAILURE_LOGS, {"runId": run_id})["logsForRun"]["events"]
    failures = [e for e in events if e["__typename"] == "ExecutionStepFailureEvent"]
    final = failures[-1]
    assert final["stepKey"] == "litigator_scrub"
    assert "CCC gave no verdict for" in final["error"]["message"]
    assert f"Nothing was written for {FAILING_DAY}" in final["error"]["message"]
    assert "max_retries" not in final["error"]["message"]
