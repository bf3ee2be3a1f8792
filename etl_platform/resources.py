"""The project's resources, configured only from the environment (see .env.example and DESIGN.md)."""

from __future__ import annotations

import os

import dagster as dg
from dagster_snowflake import SnowflakeResource

from etl_platform.settings import env_number, settings_from_env
from etl_platform.vendors.ccc import CccResource
from etl_platform.vendors.dnc import DncRegistryResource
from etl_platform.vendors.idicore import IdiCoreResource
from etl_platform.warehouse import connection_args_from_env


def call_policy(vendor: str, timeout_seconds: float, environ=os.environ) -> dict[str, float]:
    """Timeout, retry and breaker settings of a vendor client: <VENDOR>_TIMEOUT_SECONDS,
    <VENDOR>_MAX_ATTEMPTS, <VENDOR>_MAX_RETRY_SECONDS, and the shared VENDOR_* knobs."""
    return {
        "timeout_seconds": env_number(f"{vendor}_TIMEOUT_SECONDS", timeout_seconds, environ),
        "max_attempts": int(env_number(f"{vendor}_MAX_ATTEMPTS", 5, environ)),
        "max_retry_seconds": env_number(f"{vendor}_MAX_RETRY_SECONDS", 60, environ),
        "backoff_initial_seconds": env_number("VENDOR_BACKOFF_INITIAL_SECONDS", 0.5, environ),
        "breaker_fail_max": int(env_number("VENDOR_BREAKER_FAIL_MAX", 10, environ)),
        "breaker_reset_seconds": env_number("VENDOR_BREAKER_RESET_SECONDS", 30, environ),
    }


def build_resources(environ=os.environ) -> dict[str, object]:
    """Secrets and endpoints are `dg.EnvVar`s (resolved at run time, never shown in the UI); the optional
    tuning knobs are read here with their defaults."""
    return {
        "snowflake": SnowflakeResource(
            account=dg.EnvVar("SNOWFLAKE_ACCOUNT"),
            user=dg.EnvVar("SNOWFLAKE_USER"),
            password=dg.EnvVar("SNOWFLAKE_PASSWORD"),
            database=dg.EnvVar("SNOWFLAKE_DATABASE"),
            schema=dg.EnvVar("SNOWFLAKE_SCHEMA"),
            warehouse=dg.EnvVar("SNOWFLAKE_WAREHOUSE"),
            role=dg.EnvVar("SNOWFLAKE_ROLE"),
            # SnowflakeResource has no host/port/protocol fields; the connector takes them as extra args.
            additional_snowflake_connection_args=connection_args_from_env(environ),
        ),
        "idicore": IdiCoreResource(
            auth_url=dg.EnvVar("IDICORE_AUTH_URL"),
            search_url=dg.EnvVar("IDICORE_SEARCH_URL"),
            client_id=dg.EnvVar("IDICORE_CLIENT_ID"),
            client_secret=dg.EnvVar("IDICORE_CLIENT_SECRET"),
            concurrency=int(env_number("IDICORE_CONCURRENCY", 16, environ)),
            rate_limit=env_number("IDICORE_RATE_LIMIT", 50, environ),
            **call_policy("IDICORE", 10, environ),
        ),
        "ccc": CccResource(
            url=dg.EnvVar("CCC_LITIGATOR_URL"),
            login_id=dg.EnvVar("CCC_LOGIN_ID"),
            batch_size=int(env_number("CCC_BATCH_SIZE", 5_000, environ)),
            **call_policy("CCC", 30, environ),
        ),
        "dnc": DncRegistryResource(
            registry_path=dg.EnvVar("DNC_REGISTRY_PATH"),
            source_dir=dg.EnvVar("DNC_SOURCE_DIR"),
            batch_size=int(env_number("DNC_BATCH_SIZE", 1_000_000, environ)),
        ),
        "settings": settings_from_env(environ),
    }
