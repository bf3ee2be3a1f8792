"""Tuning knobs that are not vendor credentials: each has a default and its own environment variable."""

from __future__ import annotations

import os

import dagster as dg
from pydantic import Field


def env_number(name: str, default: float, environ=os.environ) -> float:
    value = environ.get(name)
    if value in (None, ""):
        return default
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"environment variable {name} must be a number") from None


class PipelineSettings(dg.ConfigurableResource):
    """Pipeline-wide settings (see .env.example)."""

    max_vendor_error_share: float = Field(
        default=0.05, description="share of failed vendor calls above which a stage fails the run"
    )
    enrichment_cache_ttl_days: float = Field(default=30, description="how long an idiCORE answer is reused")
    snowflake_batch_rows: int = Field(default=5_000, description="rows per bulk-insert statement")
    alert_error_share: float = Field(
        default=0.05, description="share of failed vendor calls above which the error-rate check warns"
    )


def settings_from_env(environ=os.environ) -> PipelineSettings:
    return PipelineSettings(
        max_vendor_error_share=env_number("VENDOR_MAX_ERROR_SHARE", 0.05, environ),
        enrichment_cache_ttl_days=env_number("ENRICHMENT_CACHE_TTL_DAYS", 30, environ),
        snowflake_batch_rows=int(env_number("SNOWFLAKE_BATCH_ROWS", 5_000, environ)),
        alert_error_share=env_number("VENDOR_ALERT_ERROR_SHARE", 0.05, environ),
    )


def vendor_step_retry_policy(environ=os.environ) -> dg.RetryPolicy:
    """Whole-step retries for the vendor-bound assets, on top of the clients' per-call retries: a vendor
    that is down for minutes gets another chance before the run fails."""
    return dg.RetryPolicy(
        max_retries=int(env_number("STEP_RETRY_MAX", 2, environ)),
        delay=env_number("STEP_RETRY_DELAY_SECONDS", 30, environ),
        backoff=dg.Backoff.EXPONENTIAL,
        jitter=dg.Jitter.PLUS_MINUS,
    )
