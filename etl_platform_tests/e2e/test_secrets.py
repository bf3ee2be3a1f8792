"""Secrets and phone numbers never reach the run's events (logs, metadata, check results)."""

from __future__ import annotations

import re

from etl_platform.sandbox.runner import SANDBOX_CREDENTIALS
from etl_platform_tests.conftest import DAY1
from etl_platform_tests.helpers import run_partition


def test_run_events_never_carry_secrets_or_full_phone_numbers(defs, instance, registry_loaded, sandbox):
    assert run_partition(defs, instance, DAY1).success
    records = instance.get_run_records(limit=50)
    secrets = [SANDBOX_CREDENTIALS[k] for k in ("SNOWFLAKE_PASSWORD", "IDICORE_CLIENT_SECRET", "CCC_LOGIN_ID")]
    phones = set(sandbox.world.pool)
    for record in records:
        for entry in instance.all_logs(record.dagster_run.run_id):
            text = entry.message + str(entry.dagster_event.event_specific_data if entry.dagster_event else "")
            assert not any(s in text for s in secrets), entry.message
            assert not set(re.findall(r"\d{10}", text)) & phones, entry.message
