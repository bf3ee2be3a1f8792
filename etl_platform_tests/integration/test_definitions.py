"""The code location loads the way `dagster dev` and the CLI load it, with the graph of DESIGN.md."""

from __future__ import annotations

import datetime as dt
import os
import subprocess

import dagster as dg

from etl_platform.cli.environment import dagster_bin
from etl_platform_tests.conftest import PROJECT_ROOT

EDGES = {
    "leads": set(),
    "raw_leads": {"leads"},
    "new_leads": {"raw_leads"},
    "lead_contacts": {"new_leads"},
    "litigator_scrub": {"lead_contacts"},
    "dnc_scrub": {"lead_contacts", "dnc_registry"},
    "lead_results": {"lead_contacts", "litigator_scrub", "dnc_scrub"},
    "dnc_registry": set(),
}


def test_asset_graph_partitions_and_dependencies(defs):
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == set(EDGES)
    for name, parents in EDGES.items():
        node = graph.get(dg.AssetKey(name))
        assert {p.to_user_string() for p in node.parent_keys} == parents, name
        if name in ("dnc_registry", "leads"):
            assert node.partitions_def is None
        else:
            assert isinstance(node.partitions_def, dg.DailyPartitionsDefinition)
            assert node.partitions_def.timezone == "UTC"
    assert set(defs.resources) >= {"snowflake", "idicore", "ccc", "dnc"}
    job = defs.resolve_job_def("daily_leads_job")
    assert job.executor_def.name == "in_process"


# Every sensor, with its job and whether it runs without being turned on. Those that launch runs calling
# billed vendors start stopped; the alerts only post, so they run from the start.
SENSORS = {
    "dnc_registry_files_sensor": ("dnc_registry_job", dg.DefaultSensorStatus.STOPPED),
    "late_leads_sensor": ("daily_leads_job", dg.DefaultSensorStatus.STOPPED),
    "run_failure_alert_sensor": (None, dg.DefaultSensorStatus.RUNNING),
    "freshness_alert_sensor": (None, dg.DefaultSensorStatus.RUNNING),
}


def test_the_sensors_their_jobs_and_default_status(defs):
    got = {}
    for sensor in (defs.resolve_sensor_def(s.name) for s in defs.sensors):
        job = sensor.job_name if sensor.targets else None
        got[sensor.name] = (job, sensor.default_status)
    assert got == SENSORS


def test_the_late_leads_window_follows_its_settings(settings):
    from etl_platform.definitions import build_definitions

    env = {"SNOWFLAKE_PASSWORD": "unused: nothing connects"}
    other = settings.model_copy(update={"late_leads_lookback_days": 3, "late_leads_sensor_interval_seconds": 600})
    sensor = build_definitions(other, env).resolve_sensor_def("late_leads_sensor")
    assert sensor.minimum_interval_seconds == 600 and "last 3 " in sensor.description
    capped = settings.model_copy(update={"late_leads_lookback_days": 400, "lead_lookback_days": 30})
    assert "last 30 " in build_definitions(capped, env).resolve_sensor_def("late_leads_sensor").description


def test_scrubs_do_not_depend_on_each_other(defs):
    graph = defs.resolve_asset_graph()
    assert dg.AssetKey("dnc_scrub") not in graph.get(dg.AssetKey("litigator_scrub")).parent_keys
    assert dg.AssetKey("litigator_scrub") not in graph.get(dg.AssetKey("dnc_scrub")).parent_keys


def validate(tmp_path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [dagster_bin(), "definitions", "validate", "-w", str(PROJECT_ROOT / "workspace.yaml")],
        cwd=tmp_path,
        env=os.environ.copy() | env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_an_invalid_setting_is_one_clear_error_when_the_code_location_loads(dagster_home, tmp_path):
    """Through workspace.yaml, as `dagster dev` loads it. (That the same workspace loads with valid settings
    is proven by every `dagster` process of the e2e tier: the CLI run, the daemon's backfill runs.)"""
    result = validate(tmp_path, IDICORE_RATE_LIMIT="fast", ETL_SCHEDULE_TIME="25:00")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "invalid configuration" in output and "IDICORE_RATE_LIMIT" in output and "ETL_SCHEDULE_TIME" in output


def test_settings_shape_the_definitions(settings):
    """Built from other settings, the same code gives other Dagster objects: nothing was fixed at import."""
    from etl_platform.definitions import build_definitions

    other = settings.model_copy(update={"step_retry_max": 7, "partitions_start": dt.date(2026, 6, 1)})
    built = build_definitions(other, {"SNOWFLAKE_PASSWORD": "unused: nothing connects"})
    node = built.resolve_asset_graph().get(dg.AssetKey("lead_contacts"))
    assert node.partitions_def.get_first_partition_key() == "2026-06-01"
    assert built.resolve_assets_def("lead_contacts").op.retry_policy.max_retries == 7


def test_a_command_given_an_invalid_setting_says_so_in_one_line(monkeypatch):
    from etl_platform_tests.helpers import cli_in_process

    monkeypatch.setenv("VENDOR_MAX_ERROR_SHARE", "lots")
    out = cli_in_process("analyze", "--last", "1")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "invalid configuration" in out.stderr and "VENDOR_MAX_ERROR_SHARE" in out.stderr


def test_a_dotenv_that_overrides_an_exported_variable_is_named_loudly(dagster_home, tmp_path):
    """`dagster` applies a .env in its working directory over the environment: the code location names each
    variable it overrode (never a value), so a production run cannot be retargeted silently."""
    (tmp_path / ".env").write_text("SNOWFLAKE_DATABASE=SANDBOX_DB_FROM_FILE\nSNOWFLAKE_SCHEMA=SAME_SCHEMA\n")
    result = validate(tmp_path, SNOWFLAKE_DATABASE="PROD_DB_EXPORTED", SNOWFLAKE_SCHEMA="SAME_SCHEMA")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    (warning,) = [line for line in output.splitlines() if "sets SNOWFLAKE_DATABASE to other values" in line]
    assert "SNOWFLAKE_SCHEMA" not in warning, "an equal value is not an override"
    assert "PROD_DB_EXPORTED" not in output and "SANDBOX_DB_FROM_FILE" not in output


def test_a_double_snowflake_credential_loads_and_is_named_in_one_warning(dagster_home, tmp_path):
    """DESIGN: the code location loads whatever the credentials are (the UI's graph, the schedule and sensors
    keep going while a secret is rotated); the problem is named once at load, and a step fails on it."""
    result = validate(tmp_path, SNOWFLAKE_PRIVATE_KEY_PATH=str(tmp_path / "rsa_key.p8"))  # beside the password
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    (warning,) = [line for line in output.splitlines() if "set exactly one of" in line]
    assert "SNOWFLAKE_PRIVATE_KEY_PATH and SNOWFLAKE_PASSWORD" in warning and "every step that needs" in warning
    assert os.environ["SNOWFLAKE_PASSWORD"] not in output


def test_dg_loads_the_project_and_names_a_dotenv_override_too(dagster_home, tmp_path):
    """The project is a `dg` project ([tool.dg] in pyproject.toml): `dg check defs` loads it. `dg` also applies
    the project root's .env over the environment, and the same warning names what it overrode."""
    import sys
    from pathlib import Path

    project = tmp_path / "project"  # a copy of the project's root: its pyproject.toml, the package linked
    project.mkdir()
    (project / "pyproject.toml").write_text((PROJECT_ROOT / "pyproject.toml").read_text())
    (project / "etl_platform").symlink_to(PROJECT_ROOT / "etl_platform")
    (project / ".env").write_text("SNOWFLAKE_SCHEMA=SCHEMA_FROM_FILE\n")
    result = subprocess.run(
        [str(Path(sys.executable).with_name("dg")), "check", "defs"],
        cwd=project,
        env=os.environ.copy() | {"SNOWFLAKE_SCHEMA": "SCHEMA_EXPORTED"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "All definitions loaded successfully" in output, output[-3000:]
    assert "sets SNOWFLAKE_SCHEMA to other values" in output
    assert "SCHEMA_EXPORTED" not in output and "SCHEMA_FROM_FILE" not in output


def test_every_asset_describes_itself(defs):
    """Owners, tags (stage, vendor, PII) and a code version on every asset; LEAD_RESULTS with its table name
    and the column schema the warehouse has (read from create_tables.sql), and the schemas of the tables
    written beside it."""
    from etl_platform.core.results import RESULT_COLUMNS

    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        if key.to_user_string() == "leads":
            continue  # the external source table: described by its AssetSpec
        node = graph.get(key)
        assert node.owners == ["team:data-engineering"], key
        assert {"stage", "vendor", "pii"} <= set(node.tags), (key, node.tags)
        assert node.code_version, key
    results = graph.get(dg.AssetKey("lead_results"))
    assert results.tags["vendor"] == "none" and graph.get(dg.AssetKey("lead_contacts")).tags["vendor"] == "idicore"
    meta = results.metadata
    assert meta["dagster/table_name"] == "LEAD_RESULTS"
    assert [c.name for c in meta["dagster/column_schema"].columns] == RESULT_COLUMNS
    assert "PHONE" in [c.name for c in meta["scrub_evidence_schema"].columns]
    assert "REASON" in [c.name for c in meta["lead_dead_letters_schema"].columns]


PARENT = """
import os, subprocess, sys
from dotenv import dotenv_values
os.environ.update({k: v for k, v in dotenv_values(".env").items() if v is not None})  # what `dagster dev` does
child = "from etl_platform.defs.target import warn_if_dotenv_shadows; print(warn_if_dotenv_shadows())"
sys.exit(subprocess.run([sys.executable, "-c", child]).returncode)
"""


def test_a_dotenv_applied_by_a_dagster_parent_is_named_in_its_children(tmp_path):
    """Under `dagster dev` the process that applied .env is the parent of the code server and run workers,
    whose own start-up environment already holds the file's values: the check looks up the Dagster chain."""
    import sys

    (tmp_path / ".env").write_text("SNOWFLAKE_SCHEMA=SCHEMA_FROM_FILE\n")
    result = subprocess.run(
        [sys.executable, "-c", PARENT, "dagster-dev-stand-in"],  # its command line names dagster, as dagster dev's
        cwd=tmp_path,
        env=os.environ.copy() | {"SNOWFLAKE_SCHEMA": "SCHEMA_EXPORTED"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "['SNOWFLAKE_SCHEMA']" in result.stdout
    assert "sets SNOWFLAKE_SCHEMA to other values" in result.stderr and "SCHEMA_EXPORTED" not in result.stderr
