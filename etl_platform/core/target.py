"""Which warehouse a run reads and writes: said at every run's start, in its tags and metadata, and by the CLI
before anything is written. A run meant for production must never land in the sandbox unnoticed."""

from __future__ import annotations

from collections.abc import Mapping

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def warehouse_target(environ: Mapping[str, str]) -> dict[str, str]:
    """Account, host, database, schema and whether it is the local sandbox (no credentials)."""
    account = environ.get("SNOWFLAKE_ACCOUNT") or "?"
    host = environ.get("SNOWFLAKE_HOST") or f"{account}.snowflakecomputing.com"
    port = environ.get("SNOWFLAKE_PORT")
    return {
        "account": account,
        "host": f"{host}:{port}" if environ.get("SNOWFLAKE_HOST") and port else host,
        "database": environ.get("SNOWFLAKE_DATABASE") or "?",
        "schema": environ.get("SNOWFLAKE_SCHEMA") or "?",
        "sandbox": "yes" if (environ.get("SNOWFLAKE_HOST") or "").strip() in LOCAL_HOSTS else "no",
    }


def describe_target(environ: Mapping[str, str]) -> str:
    t = warehouse_target(environ)
    kind = "the LOCAL SANDBOX" if t["sandbox"] == "yes" else "Snowflake"
    return f"{kind}: account {t['account']} at {t['host']}, {t['database']}.{t['schema']}"


def shadowed_variables(dotenv: Mapping[str, str | None], started_with: Mapping[str, str]) -> list[str]:
    """Variables a `.env` file sets to another value than the environment the process was started with:
    Dagster applies a `.env` in its working directory over the environment, so these were overridden."""
    return sorted(k for k, v in dotenv.items() if v is not None and k in started_with and started_with[k] != v)
