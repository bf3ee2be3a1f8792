"""What can be checked of the deployment files without Docker, a cluster or helm: the image's build context
holds what the Dockerfile copies, its command serves the definitions, its runtime lock pins what the tested
lock pins, and the Helm values say what dagster.yaml says (the same facts, kept in step by this test)."""

from __future__ import annotations

import fnmatch
import re
import shlex

import yaml

from etl_platform_tests.conftest import INSTANCE_YAML, PROJECT_ROOT

DOCKERFILE = (PROJECT_ROOT / "Dockerfile").read_text()
INSTANCE = yaml.safe_load(INSTANCE_YAML.read_text())
VALUES = yaml.safe_load((PROJECT_ROOT / "deploy" / "helm" / "values.yaml").read_text())


def in_build_context(path: str) -> bool:
    """.dockerignore semantics for the patterns used here: the last matching line wins; `!` re-includes."""
    included = True
    for line in (PROJECT_ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate, pattern = line.startswith("!"), line.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
            included = negate
    return included


def test_the_build_context_holds_what_the_dockerfile_copies_and_nothing_secret():
    copied = [s for line in re.findall(r"^COPY (.+)$", DOCKERFILE, re.M) for s in line.split()[:-1]]
    assert copied, "the Dockerfile copies nothing"
    for source in copied:
        assert (PROJECT_ROOT / source).exists(), source
        assert in_build_context(source), f"{source} is excluded by .dockerignore"
    for secret in (".env", ".sandbox/registry.duckdb", ".venv/bin/python", "run-logs/run.log"):
        assert not in_build_context(secret), f"{secret} would be sent to the image build"


def test_the_image_serves_the_definitions_on_the_port_the_chart_uses():
    command = shlex.split(" ".join(re.search(r"^CMD \[(.+)\]$", DOCKERFILE, re.M).group(1).replace('"', "").split(",")))
    assert command[:3] == ["dagster", "code-server", "start"]
    module = command[command.index("-m") + 1]
    port = int(command[command.index("-p") + 1])
    assert module == "etl_platform.definitions" and f"EXPOSE {port}" in DOCKERFILE
    (deployment,) = VALUES["dagster-user-deployments"]["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", module] and deployment["port"] == port
    assert "DAGSTER_HOME" in DOCKERFILE and "COPY dagster_home/dagster.yaml ${DAGSTER_HOME}/dagster.yaml" in DOCKERFILE


def pins(name: str) -> dict[str, str]:
    text = (PROJECT_ROOT / name).read_text()
    return dict(re.findall(r"^([A-Za-z0-9_.\-\[\]]+)==(\S+)", text, re.M))


def test_the_runtime_lock_pins_the_tested_versions_without_test_tools():
    runtime, tested = pins("requirements.runtime.lock"), pins("requirements.lock")
    assert {"dagster", "dagster-snowflake", "snowflake-connector-python", "httpx"} <= set(runtime)
    assert {k: v for k, v in runtime.items() if k in tested and tested[k] != v} == {}
    # What the Helm values use must be in the image the runs start from.
    assert VALUES["runLauncher"]["type"] == "K8sRunLauncher" and "dagster-k8s" in runtime
    assert VALUES["computeLogManager"]["type"] == "S3ComputeLogManager" and "dagster-aws" in runtime
    assert not {"pytest", "ruff", "import-linter"} & set(runtime)


def test_the_helm_values_say_what_dagster_yaml_says():
    queue = VALUES["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    runs = INSTANCE["concurrency"]["runs"]
    retries = INSTANCE["run_coordinator"]["config"]
    # Limits in one place only, as in dagster.yaml: Dagster refuses them both in the coordinator and in
    # `concurrency.runs` (DagsterInvalidConfigError), which is where the chart's `concurrency` puts them.
    assert not {"maxConcurrentRuns", "tagConcurrencyLimits"} & set(queue)
    assert VALUES["concurrency"]["runs"]["maxConcurrentRuns"] == runs["max_concurrent_runs"]
    assert VALUES["concurrency"]["runs"]["tagConcurrencyLimits"] == runs["tag_concurrency_limits"]
    assert queue["maxUserCodeFailureRetries"] == retries["max_user_code_failure_retries"] > 0
    assert queue["userCodeFailureRetryDelay"] == retries["user_code_failure_retry_delay"]
    monitoring, mine = VALUES["dagsterDaemon"]["runMonitoring"], INSTANCE["run_monitoring"]
    assert monitoring["enabled"] is mine["enabled"] is True
    assert monitoring["maxRuntimeSeconds"] == mine["max_runtime_seconds"]
    assert monitoring["freeSlotsAfterRunEndSeconds"] == mine["free_slots_after_run_end_seconds"] > 0
    assert monitoring["pollIntervalSeconds"] == mine["poll_interval_seconds"]
    assert VALUES["concurrency"]["pools"]["defaultLimit"] == INSTANCE["concurrency"]["pools"]["default_limit"]
    assert VALUES["pythonLogs"]["managedPythonLoggers"] == INSTANCE["python_logs"]["managed_python_loggers"]
    assert VALUES["pythonLogs"]["pythonLogLevel"] == INSTANCE["python_logs"]["python_log_level"]
    assert VALUES["retention"]["schedule"]["purgeAfterDays"] == INSTANCE["retention"]["schedule"]["purge_after_days"]
    assert VALUES["runLauncher"]["type"] == "K8sRunLauncher"


def test_the_image_compiles_bytecode_at_install_and_sets_only_the_contract_for_the_instance():
    """PYTHONDONTWRITEBYTECODE=1 means no process in the container writes .pyc: without bytecode from the
    install every code server and run worker compiles dagster, pandas and the connector from source."""
    installs = re.findall(r"pip install ([^\n]+)", DOCKERFILE)
    assert len(installs) == 2 and all("--compile" in line and "--no-compile" not in line for line in installs)
    assert "PYTHONDONTWRITEBYTECODE=1" in DOCKERFILE
    # dagster.yaml reads DAGSTER_POSTGRES_URL alone (the Secret); nothing else is needed to start an instance
    assert "DAGSTER_COMPUTE_LOG_DIR" not in DOCKERFILE and "compute_logs" not in INSTANCE
