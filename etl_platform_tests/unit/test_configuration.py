"""The configuration contract: every variable the code reads is documented in .env.example, and DESIGN's
variables are all read."""

from __future__ import annotations

import re

from etl_platform_tests.conftest import INSTANCE_YAML, PROJECT_ROOT

PATTERNS = [
    r'EnvVar\("([A-Z0-9_]+)"\)',
    r'environ(?:\.get)?\(\s*"([A-Z0-9_]+)"',
    r'environ\["([A-Z0-9_]+)"\]',
    r'getenv\("([A-Z0-9_]+)"',
    r'alias="([A-Z0-9_]+)"',  # core/settings.py: each setting's environment variable
    r'^[A-Z_]+ = "(SNOWFLAKE_(?!JWT")[A-Z0-9_]+)"$',  # core/snowflake_auth.py: sign-in variables (not the JWT value)
]
NOT_OURS = {"DAGSTER_HOME", "PGHOST", "PGPORT", "TEST_PG_ADMIN_URL"}


def variables_read_by_the_code() -> set[str]:
    names: set[str] = set()
    for path in (PROJECT_ROOT / "etl_platform").rglob("*.py"):
        text = path.read_text()
        for pattern in PATTERNS:
            names.update(re.findall(pattern, text, re.MULTILINE))
    return names - NOT_OURS


def test_every_variable_is_in_env_example():
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (PROJECT_ROOT / ".env.example").read_text(), re.M))
    read = variables_read_by_the_code()
    assert {"SNOWFLAKE_ACCOUNT", "IDICORE_CLIENT_SECRET", "CCC_LOGIN_ID", "DNC_REGISTRY_PATH"} <= read
    assert read - documented == set()


def test_design_variables_are_all_used():
    design = {
        "SNOWFLAKE_ACCOUNT",
        "SNOWFLAKE_USER",
        "SNOWFLAKE_PASSWORD",
        "SNOWFLAKE_PRIVATE_KEY",
        "SNOWFLAKE_PRIVATE_KEY_PATH",
        "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE",
        "SNOWFLAKE_AUTHENTICATOR",
        "SNOWFLAKE_DATABASE",
        "SNOWFLAKE_SCHEMA",
        "SNOWFLAKE_WAREHOUSE",
        "SNOWFLAKE_ROLE",
        "SNOWFLAKE_HOST",
        "SNOWFLAKE_PORT",
        "SNOWFLAKE_PROTOCOL",
        "IDICORE_AUTH_URL",
        "IDICORE_SEARCH_URL",
        "IDICORE_CLIENT_ID",
        "IDICORE_CLIENT_SECRET",
        "CCC_LITIGATOR_URL",
        "CCC_LOGIN_ID",
        "DNC_REGISTRY_PATH",
        "DNC_SOURCE_DIR",
    }
    assert design <= variables_read_by_the_code()
    assert "DAGSTER_POSTGRES_URL" in INSTANCE_YAML.read_text()


def env_sources(node) -> set[str]:
    """Every `env:` a Dagster YAML reads (Dagster's StringSource/IntSource: `{env: NAME}`, no default)."""
    if isinstance(node, dict):
        found = {node["env"]} if set(node) == {"env"} else set()
        return found.union(*(env_sources(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(env_sources(value) for value in node))
    return set()


def test_dagster_yaml_starts_with_dagster_home_and_the_postgres_url_alone():
    """DESIGN: with DAGSTER_HOME and DAGSTER_POSTGRES_URL alone the instance must start; an `env:` has no
    default, so the file may name no other variable (the compute logs use Dagster's default, under
    DAGSTER_HOME). The instance really starting so: integration/test_environment_contract.py."""
    import yaml

    instance = yaml.safe_load(INSTANCE_YAML.read_text())
    assert env_sources(instance) == {"DAGSTER_POSTGRES_URL"}
    assert "compute_logs" not in instance, "Dagster's default keeps them under $DAGSTER_HOME/storage"
