"""DESIGN.md's environment contract, in subprocesses whose environment is built from nothing (`env -i`):

- the code location loads with NO variable set (CI, `dg check defs` in a pull request, the UI's graph while a
  secret is rotated): its definitions, `dagster definitions validate`, `dg check defs` in the project folder;
- the instance starts with DAGSTER_HOME (holding the project's dagster.yaml) and DAGSTER_POSTGRES_URL alone;
- the plain Dagster CLI runs a day with exactly DESIGN's variables, none of the tests' knobs;
- a step that needs Snowflake, given no credential, fails with the one line naming the variables.

PATH and HOME are the only other variables: the `dagster` executables are named by absolute path, and HOME is
a temporary folder, so nothing of the developer's is read."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

from etl_platform.cli.environment import dagster_bin, materialize_args
from etl_platform_tests.conftest import PROJECT_ROOT
from etl_platform_tests.helpers import results_for

# DESIGN.md, "Environment variables": the sign-in is one of the credential variables (the sandbox: a password).
DESIGN_VARIABLES = (
    *("SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER", "SNOWFLAKE_DATABASE", "SNOWFLAKE_SCHEMA"),
    *("SNOWFLAKE_WAREHOUSE", "SNOWFLAKE_ROLE", "SNOWFLAKE_PASSWORD"),
    *("SNOWFLAKE_HOST", "SNOWFLAKE_PORT", "SNOWFLAKE_PROTOCOL"),
    *("IDICORE_AUTH_URL", "IDICORE_SEARCH_URL", "IDICORE_CLIENT_ID", "IDICORE_CLIENT_SECRET"),
    *("CCC_LITIGATOR_URL", "CCC_LOGIN_ID", "DNC_REGISTRY_PATH", "DNC_SOURCE_DIR"),
    *("DAGSTER_POSTGRES_URL", "DAGSTER_HOME"),
)
CONTRACT_DAY = dt.date(2026, 5, 11)  # days no other test runs
NO_CREDENTIAL_DAY = dt.date(2026, 5, 12)


def bare(tmp_path: Path, **variables: str) -> dict[str, str]:
    """An environment built from nothing: PATH, a temporary HOME, and `variables`."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"PATH": os.environ["PATH"], "HOME": str(home), **variables}


def run(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    return result.returncode, result.stdout + result.stderr


LOAD = """
import dagster as dg, os
from etl_platform.core.settings import Settings
from etl_platform.definitions import build_definitions
assert not {k for k in os.environ if k.startswith(("SNOWFLAKE_", "IDICORE_", "CCC_", "DNC_", "DAGSTER_"))}
defs = build_definitions(Settings.from_env(os.environ), os.environ)
dg.Definitions.validate_loadable(defs)
job = defs.resolve_job_def("daily_leads_job")
print("loaded", job.name, len(defs.resolve_asset_graph().get_all_asset_keys()), "assets")
# what the UI reads: the code location's snapshot of the resource
from dagster._core.remote_representation.external_data import RepositorySnap
(snowflake,) = [r for r in RepositorySnap.from_def(defs.get_repository_def()).resources if r.name == "snowflake"]
print(snowflake.resource_snapshot.description.splitlines()[0])
"""


def test_the_definitions_load_with_no_variable_set(tmp_path):
    code, output = run([sys.executable, "-c", LOAD], tmp_path, bare(tmp_path))
    assert code == 0, output[-3000:]
    assert "loaded daily_leads_job 8 assets" in output
    # the resource's description on the UI's resource page says what a run would fail on
    assert "SIGN-IN PROBLEM: Snowflake sign-in: no credential is set; set one of SNOWFLAKE_PRIVATE_KEY" in output


def test_dagster_definitions_validate_passes_with_no_variable_set(tmp_path):
    code, output = run(
        [dagster_bin(), "definitions", "validate", "-w", str(PROJECT_ROOT / "workspace.yaml")],
        tmp_path,
        bare(tmp_path),
    )
    assert code == 0, output[-3000:]
    assert "Validation successful for code location etl_platform" in output
    # named once, at load, for whoever reads the output (CI, a deploy log)
    assert output.count("Snowflake sign-in: no credential is set") == 1, output[-3000:]


def test_dg_check_defs_passes_in_the_project_folder_with_no_variable_set(tmp_path):
    """In a plain shell in the project folder: a copy of the checkout's top level (every file there but a
    developer's .env, so a dagster.yaml at the top would be read as it is in the checkout), the package and
    the instance folder linked."""
    project = tmp_path / "project"
    project.mkdir()
    for entry in PROJECT_ROOT.iterdir():
        if entry.is_file() and entry.name != ".env":
            shutil.copyfile(entry, project / entry.name)
    for folder in ("etl_platform", "dagster_home", ".venv"):
        if (PROJECT_ROOT / folder).exists():
            (project / folder).symlink_to(PROJECT_ROOT / folder)
    dg = str(Path(sys.executable).with_name("dg"))
    code, output = run([dg, "check", "defs"], project, bare(tmp_path))
    assert code == 0 and "All definitions loaded successfully" in output, output[-3000:]
    assert "DAGSTER_POSTGRES_URL" not in output


def test_the_instance_starts_with_dagster_home_and_the_postgres_url_alone(dagster_home, postgres_url, tmp_path):
    script = (
        "import dagster as dg\n"
        "with dg.DagsterInstance.get() as instance:\n"
        "    instance.get_run_records(limit=1)\n"
        "    print('compute logs in', instance.compute_log_manager._base_dir)\n"  # noqa: SLF001 - what we check
    )
    env = bare(tmp_path, DAGSTER_HOME=str(dagster_home), DAGSTER_POSTGRES_URL=postgres_url)
    code, output = run([sys.executable, "-c", script], tmp_path, env)
    assert code == 0, output[-3000:]
    assert f"compute logs in {dagster_home / 'storage'}" in output, "Dagster's default: under DAGSTER_HOME"


def contract_env(tmp_path: Path, dagster_home: Path) -> dict[str, str]:
    """Exactly DESIGN's variables, from the session's sandbox and instance; none of the tests' knobs."""
    env = bare(tmp_path, **{name: os.environ[name] for name in DESIGN_VARIABLES})
    assert env["DAGSTER_HOME"] == str(dagster_home)
    return env


def test_a_day_runs_with_exactly_the_design_variables(sandbox, dagster_home, registry_loaded, warehouse, tmp_path):
    sandbox.seed_leads([CONTRACT_DAY], per_day=40)
    code, output = run(
        [dagster_bin(), *materialize_args(CONTRACT_DAY.isoformat())], tmp_path, contract_env(tmp_path, dagster_home)
    )
    assert code == 0 and "RUN_SUCCESS" in output, output[-4000:]
    rows = results_for(warehouse, CONTRACT_DAY)
    assert rows and {r["PARTITION_DATE"] for r in rows} == {CONTRACT_DAY}
    assert not any(secret in output for secret in ("sandbox-password", "sandbox-secret", "sandbox-login"))


def test_a_step_without_a_credential_fails_with_the_one_line_naming_the_variables(
    sandbox, dagster_home, registry_loaded, tmp_path
):
    """The location loads (the run starts); the first step that connects fails on the sign-in: the line
    naming the variables is the step's failure, not retried, before the connector tries to log in."""
    sandbox.seed_leads([NO_CREDENTIAL_DAY], per_day=10)
    env = contract_env(tmp_path, dagster_home)
    del env["SNOWFLAKE_PASSWORD"]
    logins = dict(sandbox.snowflake_login.logins)
    code, output = run([dagster_bin(), *materialize_args(NO_CREDENTIAL_DAY.isoformat())], tmp_path, env)
    assert code != 0 and "RUN_FAILURE" in output, output[-4000:]
    line = (
        "Snowflake sign-in: no credential is set; set one of SNOWFLAKE_PRIVATE_KEY, SNOWFLAKE_PRIVATE_KEY_PATH, "
        "SNOWFLAKE_PASSWORD (key-pair is the production default), or SNOWFLAKE_AUTHENTICATOR"
    )
    # the step's failure is that line (a dg.Failure's description), and the first step that connects failed
    assert f"SnowflakeSignInError: {line}" in output.split("STEP_FAILURE", 1)[-1], output[-4000:]
    assert "Steps failed: ['raw_leads']" in output, output[-4000:]
    assert "STEP_UP_FOR_RETRY" not in output, "a credential does not fix itself between attempts"
    # stopped before the connector tried: no login, no refusal from the warehouse
    assert sandbox.snowflake_login.logins == logins and "Incorrect username or password" not in output
