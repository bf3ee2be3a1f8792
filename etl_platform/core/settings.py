"""The pipeline's settings: every tuning knob, its environment variable, its default and its bounds, in one
typed object (pydantic). Read once, when the definitions are built (`etl_platform/definitions.py`) or a
command starts, never at import. An invalid value is one clear error naming the variables.

Credentials and endpoints are not here: the Dagster resources read them as `dg.EnvVar`s, which Dagster
resolves at run time and never shows in the UI (`etl_platform/defs/resources.py`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

CCC_MAX_BATCH = 10_000  # DESIGN.md: at most 10,000 phones per CCC request
_HH_MM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class SettingsError(ValueError):
    """One message for every invalid setting, naming the environment variables (never their values when
    they may be secret)."""


class VendorCallPolicy(BaseModel):
    """How one vendor is called: timeouts, retries, breaker (built by `Settings.call_policy`)."""

    model_config = ConfigDict(frozen=True)

    timeout_seconds: float
    max_attempts: int
    max_retry_seconds: float
    backoff_initial_seconds: float
    breaker_fail_max: int
    breaker_reset_seconds: float


class Settings(BaseModel):
    """Field names are the settings; aliases are the environment variables (see .env.example)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    # --- idiCORE ---------------------------------------------------------------------------------------
    idicore_concurrency: int = Field(16, alias="IDICORE_CONCURRENCY", ge=1, le=256)
    idicore_rate_limit: float = Field(50.0, alias="IDICORE_RATE_LIMIT", gt=0, description="searches per second")
    idicore_timeout_seconds: float = Field(10.0, alias="IDICORE_TIMEOUT_SECONDS", gt=0)
    idicore_max_attempts: int = Field(5, alias="IDICORE_MAX_ATTEMPTS", ge=1)
    idicore_max_retry_seconds: float = Field(60.0, alias="IDICORE_MAX_RETRY_SECONDS", gt=0)
    # --- CCC -------------------------------------------------------------------------------------------
    ccc_batch_size: int = Field(5_000, alias="CCC_BATCH_SIZE", ge=1, le=CCC_MAX_BATCH)
    ccc_timeout_seconds: float = Field(30.0, alias="CCC_TIMEOUT_SECONDS", gt=0)
    ccc_max_attempts: int = Field(5, alias="CCC_MAX_ATTEMPTS", ge=1)
    ccc_max_retry_seconds: float = Field(60.0, alias="CCC_MAX_RETRY_SECONDS", gt=0)
    # --- both vendors ----------------------------------------------------------------------------------
    vendor_backoff_initial_seconds: float = Field(0.5, alias="VENDOR_BACKOFF_INITIAL_SECONDS", ge=0)
    vendor_breaker_fail_max: int = Field(10, alias="VENDOR_BREAKER_FAIL_MAX", ge=1)
    vendor_breaker_reset_seconds: float = Field(30.0, alias="VENDOR_BREAKER_RESET_SECONDS", gt=0)
    vendor_max_error_share: float = Field(0.05, alias="VENDOR_MAX_ERROR_SHARE", ge=0, le=1)
    vendor_alert_error_share: float = Field(0.05, alias="VENDOR_ALERT_ERROR_SHARE", ge=0, le=1)
    # raw_leads warns (asset check, not blocking) when the day's extract holds fewer leads than this share of
    # the median of its recent extracts; 0 leads always warns. An empty extract is the first sign of a
    # broken loader (or a holiday: the check is the signal, the day still runs).
    extract_min_share: float = Field(0.5, alias="EXTRACT_MIN_SHARE", ge=0, le=1)
    # --- whole-step retries (Dagster RetryPolicy on the vendor-bound steps) ----------------------------
    step_retry_max: int = Field(2, alias="STEP_RETRY_MAX", ge=0)
    step_retry_delay_seconds: float = Field(30.0, alias="STEP_RETRY_DELAY_SECONDS", ge=0)
    # --- warehouse, cache, DNC store -------------------------------------------------------------------
    snowflake_batch_rows: int = Field(5_000, alias="SNOWFLAKE_BATCH_ROWS", ge=1)
    # Every warehouse statement is bounded in time. Client side (the connector's per-statement timeout: it
    # cancels the query and stops retrying a failing request), and on a real account also server side
    # (STATEMENT_TIMEOUT_IN_SECONDS). The default is far above any statement of a 100,000-lead day.
    snowflake_statement_timeout_seconds: int = Field(300, alias="SNOWFLAKE_STATEMENT_TIMEOUT_SECONDS", ge=1)
    # How long a statement waits for a lock held by another transaction (Snowflake's LOCK_TIMEOUT, 12 h by
    # default): a crashed run's open transaction then stops a rerun with a clear error in a minute.
    snowflake_lock_timeout_seconds: int = Field(60, alias="SNOWFLAKE_LOCK_TIMEOUT_SECONDS", ge=0)
    enrichment_cache_ttl_days: float = Field(30.0, alias="ENRICHMENT_CACHE_TTL_DAYS", ge=0)
    dnc_batch_size: int = Field(1_000_000, alias="DNC_BATCH_SIZE", ge=1)
    # The DNC scrub fails (nothing written, the previous partition kept) when the registry cannot vouch for
    # more than this share of the day's phones: missing, stale or future-dated copies. Uncovered area codes
    # stay per-phone unknowns.
    dnc_max_unvouched_share: float = Field(0.5, alias="DNC_MAX_UNVOUCHED_SHARE", ge=0, le=1)
    # A lead belongs to the earliest day it appears on in LEADS, looking back this many days: one seen again
    # later is a returning lead (skipped, counted); one seen again after the window is a new lead again.
    lead_lookback_days: int = Field(90, alias="LEAD_LOOKBACK_DAYS", ge=1)
    # Late leads (DESIGN.md "Leads arrive late"): the sensor compares the last this-many days' rows in LEADS
    # with what each day's materialization saw, and asks for a changed day again. Its own knob, smaller than
    # the look-back: every tick aggregates these days of LEADS and LEAD_RESULTS on the warehouse (and keeps
    # it awake), and a loader is late by hours or days, not months. Capped at LEAD_LOOKBACK_DAYS (a day beyond
    # the look-back no longer decides where its leads belong). Older changed days: `etl-platform health`.
    late_leads_lookback_days: int = Field(7, alias="LATE_LEADS_LOOKBACK_DAYS", ge=1)
    late_leads_sensor_interval_seconds: int = Field(3600, alias="LATE_LEADS_SENSOR_INTERVAL_SECONDS", ge=30)
    # --- partitions, schedule, alerts ------------------------------------------------------------------
    partitions_start: dt.date = Field(dt.date(2026, 1, 1), alias="ETL_PARTITIONS_START")
    schedule_time: str = Field("06:00", alias="ETL_SCHEDULE_TIME", description="HH:MM")
    schedule_timezone: str = Field("UTC", alias="ETL_SCHEDULE_TIMEZONE")
    freshness_deadline: str = Field("08:00", alias="ETL_FRESHNESS_DEADLINE", description="HH:MM, UTC")
    daemon_heartbeat_max_age_seconds: float = Field(120.0, alias="ETL_DAEMON_HEARTBEAT_MAX_AGE", ge=0)
    # A Slack webhook URL is a credential: kept secret in reprs and logs.
    alert_webhook_url: SecretStr | None = Field(None, alias="ALERT_WEBHOOK_URL")
    baselines_path: Path | None = Field(None, alias="ETL_BASELINES_PATH")

    @field_validator("schedule_time", "freshness_deadline")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        if not _HH_MM.match(value):
            raise ValueError(f"must be HH:MM (24-hour), got {value!r}")
        return value

    @field_validator("schedule_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """The settings from an environment mapping; an empty variable counts as unset (its default)."""
        aliases = {f.alias for f in cls.model_fields.values() if f.alias}
        given = {k: v for k, v in environ.items() if k in aliases and v not in (None, "")}
        try:
            return cls.model_validate(given)
        except ValidationError as err:
            raise SettingsError(describe(err)) from None

    # --- derived values ------------------------------------------------------------------------------
    def call_policy(self, vendor: str) -> VendorCallPolicy:
        """Timeouts and retries of `vendor` ("idicore" | "ccc") with the shared backoff and breaker knobs."""
        return VendorCallPolicy(
            timeout_seconds=getattr(self, f"{vendor}_timeout_seconds"),
            max_attempts=getattr(self, f"{vendor}_max_attempts"),
            max_retry_seconds=getattr(self, f"{vendor}_max_retry_seconds"),
            backoff_initial_seconds=self.vendor_backoff_initial_seconds,
            breaker_fail_max=self.vendor_breaker_fail_max,
            breaker_reset_seconds=self.vendor_breaker_reset_seconds,
        )

    @property
    def late_leads_window_days(self) -> int:
        """The late-leads sensor's window: LATE_LEADS_LOOKBACK_DAYS, never beyond LEAD_LOOKBACK_DAYS."""
        return min(self.late_leads_lookback_days, self.lead_lookback_days)

    def as_text(self) -> dict[str, str]:
        """Every setting by environment variable, as text (metadata, `analyze`); secrets masked."""
        out = {}
        for name, info in type(self).model_fields.items():
            value = getattr(self, name)
            out[info.alias or name] = "***" if isinstance(value, SecretStr) else ("" if value is None else str(value))
        return out


def describe(err: ValidationError) -> str:
    """`VAR: problem` per invalid setting; the offending input is left out (it may be a secret)."""
    problems = []
    for error in err.errors():
        name = ".".join(str(part) for part in error["loc"])
        problems.append(f"{name}: {error['msg']}")
    return "invalid configuration: " + "; ".join(problems)


def cron_of(time_of_day: str) -> str:
    """'HH:MM' -> the daily cron expression at that time."""
    hour, minute = time_of_day.split(":")
    return f"{int(minute)} {int(hour)} * * *"
