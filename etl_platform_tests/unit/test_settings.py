"""The settings: read once from an environment mapping, defaults in one place, one clear error for every
invalid value (naming the variables, never echoing a value that could be a secret)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from etl_platform.core.settings import Settings, SettingsError
from etl_platform_tests.conftest import PROJECT_ROOT


def test_defaults_without_any_variable():
    settings = Settings.from_env({})
    assert settings.idicore_rate_limit == 50.0 and settings.idicore_concurrency == 16
    assert settings.ccc_batch_size == 5_000 and settings.partitions_start == dt.date(2026, 1, 1)
    assert settings.alert_webhook_url is None and settings.baselines_path is None


def test_values_are_read_and_typed_and_empty_means_default():
    settings = Settings.from_env(
        {"IDICORE_RATE_LIMIT": "12.5", "CCC_BATCH_SIZE": "", "ETL_PARTITIONS_START": "2026-05-01"}
    )
    assert settings.idicore_rate_limit == 12.5
    assert settings.ccc_batch_size == 5_000
    assert settings.partitions_start == dt.date(2026, 5, 1)


def test_every_invalid_value_is_named_in_one_error():
    with pytest.raises(SettingsError) as info:
        Settings.from_env(
            {"IDICORE_RATE_LIMIT": "fast", "CCC_BATCH_SIZE": "20000", "ETL_SCHEDULE_TIMEZONE": "Mars/Olympus"}
        )
    message = str(info.value)
    for name in ("IDICORE_RATE_LIMIT", "CCC_BATCH_SIZE", "ETL_SCHEDULE_TIMEZONE"):
        assert name in message, message


def test_a_webhook_url_is_kept_secret():
    settings = Settings.from_env({"ALERT_WEBHOOK_URL": "https://hooks.example.com/T000/secret-token"})
    assert settings.alert_webhook_url.get_secret_value().endswith("secret-token")
    assert "secret-token" not in repr(settings) and "secret-token" not in str(settings.as_text())


def test_each_setting_is_documented_in_env_example_with_its_default():
    """The defaults live in core/settings.py; .env.example shows each one (commented or not) with the same
    value, so the two cannot drift apart."""
    example = (PROJECT_ROOT / ".env.example").read_text()
    shown = dict(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=(.*)$", example, re.M))
    defaults = Settings().as_text()
    for variable, default in defaults.items():
        assert variable in shown, f"{variable} is missing from .env.example"
        if shown[variable] and default not in ("", "***"):
            assert float(shown[variable]) == float(default) if _number(default) else shown[variable] == default, (
                variable,
                shown[variable],
                default,
            )


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
