"""Which settings a command uses (docs/configuration.md, "Which settings win"): exported variables, then the
project's .env, then the sandbox defaults only when nothing configures Snowflake; and which folder is the
project."""

from __future__ import annotations

import os

import pytest

from etl_platform.cli import environment
from etl_platform.core.target import shadowed_variables


@pytest.fixture(autouse=True)
def _environment_restored():
    """load_env writes os.environ (that is its job): put it back as it was for the next test."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "etl_platform").mkdir()
    (tmp_path / ".env.example").write_text("SNOWFLAKE_ACCOUNT=sandbox\nSNOWFLAKE_HOST=127.0.0.1\n")
    return tmp_path


def test_the_sandbox_defaults_apply_only_when_nothing_configures_snowflake(project):
    source, values = environment.settings_sources(project, {})
    assert source.name == ".env.example" and values["SNOWFLAKE_HOST"] == "127.0.0.1"
    # A production environment is never topped up with the sandbox's host: that would retarget it.
    assert environment.settings_sources(project, {"SNOWFLAKE_ACCOUNT": "acme-prod"}) == (None, {})
    (project / ".env").write_text("SNOWFLAKE_ACCOUNT=acme-dev\n")
    source, values = environment.settings_sources(project, {"SNOWFLAKE_ACCOUNT": "acme-prod"})
    assert source.name == ".env" and values == {"SNOWFLAKE_ACCOUNT": "acme-dev"}


def test_exported_variables_win_over_dotenv_and_the_difference_is_named(project, monkeypatch, capsys):
    (project / ".env").write_text("SNOWFLAKE_DATABASE=SANDBOX_DB\nETL_SCHEDULE_TIME=07:00\n")
    monkeypatch.setenv("SNOWFLAKE_DATABASE", "PROD_DB")
    monkeypatch.delenv("ETL_SCHEDULE_TIME", raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    environment.load_env(project)
    assert os.environ["SNOWFLAKE_DATABASE"] == "PROD_DB" and os.environ["ETL_SCHEDULE_TIME"] == "07:00"
    warning = capsys.readouterr().err
    assert "SNOWFLAKE_DATABASE" in warning and "PROD_DB" not in warning and "SANDBOX_DB" not in warning
    assert os.environ["DAGSTER_HOME"] == str(project)


def test_no_command_writes_a_dotenv(project, monkeypatch):
    for name in ("SNOWFLAKE_ACCOUNT", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)
    environment.load_env(project)
    assert not (project / ".env").exists()


def test_the_project_is_the_checkout_the_command_runs_in(project, monkeypatch):
    monkeypatch.chdir(project)
    assert environment._project_root() == project  # noqa: SLF001 - not the checkout the package came from


def test_a_dotenv_override_is_one_that_changed_a_value():
    started = {"SNOWFLAKE_DATABASE": "PROD", "SNOWFLAKE_SCHEMA": "S"}
    dotenv = {"SNOWFLAKE_DATABASE": "SANDBOX", "SNOWFLAKE_SCHEMA": "S", "ONLY_IN_FILE": "x"}
    assert shadowed_variables(dotenv, started) == ["SNOWFLAKE_DATABASE"]


def test_an_exported_warehouse_is_never_completed_from_a_dotenv(project, monkeypatch, capsys):
    """An old sandbox .env beside a production environment: its host and password must not be added."""
    (project / ".env").write_text(
        "SNOWFLAKE_HOST=127.0.0.1\nSNOWFLAKE_PASSWORD=sandbox-password\nETL_SCHEDULE_TIME=07:00\n"
    )
    monkeypatch.setenv("SNOWFLAKE_ACCOUNT", "acme-prod")
    for name in (
        "SNOWFLAKE_HOST",
        "SNOWFLAKE_PASSWORD",
        "ETL_SCHEDULE_TIME",
        "DAGSTER_HOME",
    ):
        monkeypatch.delenv(name, raising=False)
    environment.load_env(project)
    assert "SNOWFLAKE_HOST" not in os.environ and "SNOWFLAKE_PASSWORD" not in os.environ
    assert os.environ["ETL_SCHEDULE_TIME"] == "07:00", "other settings still come from the file"
    warning = capsys.readouterr().err
    assert "SNOWFLAKE_HOST, SNOWFLAKE_PASSWORD" in warning and "sandbox-password" not in warning


def test_dagster_home_is_the_checkouts_instance_folder_unless_exported(project, monkeypatch):
    """Not the project folder: `dagster`/`dg` started there without DAGSTER_HOME would read a dagster.yaml at
    the top for their temporary instance (and need DAGSTER_POSTGRES_URL to check the definitions)."""
    (project / "dagster_home").mkdir()
    (project / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    environment.load_env(project)
    assert os.environ["DAGSTER_HOME"] == str(project / "dagster_home")
    monkeypatch.setenv("DAGSTER_HOME", "/srv/dagster")
    environment.load_env(project)
    assert os.environ["DAGSTER_HOME"] == "/srv/dagster", "an exported one wins"


def test_the_checkout_keeps_no_dagster_yaml_at_its_top():
    from etl_platform_tests.conftest import INSTANCE_YAML, PROJECT_ROOT

    assert INSTANCE_YAML.is_file() and not (PROJECT_ROOT / "dagster.yaml").exists()
    assert environment.default_dagster_home(PROJECT_ROOT) == INSTANCE_YAML.parent


def test_each_project_folder_gets_its_own_sandbox_instance_database(tmp_path):
    one, two = tmp_path / "clone-a", tmp_path / "clone-b"
    assert environment.sandbox_database_name(one) == environment.sandbox_database_name(one), "deterministic"
    assert environment.sandbox_database_name(one) != environment.sandbox_database_name(two)
    assert environment.sandbox_database_name(one).startswith("etl_platform_")


def _clean_env(monkeypatch, *names):
    for name in ("SNOWFLAKE_ACCOUNT", "DAGSTER_HOME", "SANDBOX_DAYS", *names):
        monkeypatch.delenv(name, raising=False)


def test_the_sandbox_defaults_name_the_folders_database_and_start_partitions_on_the_first_seeded_day(
    project, monkeypatch
):
    import datetime as dt

    (project / ".env.example").write_text(
        "SNOWFLAKE_ACCOUNT=sandbox\nDAGSTER_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/etl_platform\n"
        "ETL_PARTITIONS_START=2026-01-01\nSANDBOX_DAYS=7\n"
    )
    _clean_env(monkeypatch, "DAGSTER_POSTGRES_URL", "ETL_PARTITIONS_START")
    environment.load_env(project)
    name = environment.sandbox_database_name(project)
    assert os.environ["DAGSTER_POSTGRES_URL"] == f"postgresql://postgres@127.0.0.1:5432/{name}"
    first = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=7)
    assert os.environ["ETL_PARTITIONS_START"] == first.isoformat()
    # what every Dagster process started from here (code server, run worker, daemon) builds its partitions from
    from etl_platform.core.settings import Settings
    from etl_platform.defs.partitions import daily_partitions

    assert daily_partitions(Settings.from_env(os.environ)).start.date() == first


def test_an_exported_or_dotenv_database_and_partition_start_are_kept(project, monkeypatch):
    (project / ".env.example").write_text(
        "DAGSTER_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/etl_platform\nETL_PARTITIONS_START=2026-01-01\n"
    )
    _clean_env(monkeypatch)
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/mine")
    monkeypatch.setenv("ETL_PARTITIONS_START", "2025-06-01")
    environment.load_env(project)
    assert os.environ["DAGSTER_POSTGRES_URL"].endswith("/mine") and os.environ["ETL_PARTITIONS_START"] == "2025-06-01"

    for name in ("DAGSTER_POSTGRES_URL", "ETL_PARTITIONS_START"):
        monkeypatch.delenv(name)
    (project / ".env").write_text(
        "DAGSTER_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/etl_platform\nETL_PARTITIONS_START=2026-01-01\n"
    )
    environment.load_env(project)
    assert os.environ["DAGSTER_POSTGRES_URL"].endswith("/etl_platform"), "a .env is the team's own setting"
    assert os.environ["ETL_PARTITIONS_START"] == "2026-01-01"
