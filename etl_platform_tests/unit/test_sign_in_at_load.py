"""Building the warehouse resource never raises on the sign-in (DESIGN: the location loads with nothing
set); it names the problem in its description every time, and warns once per process. No connection is made
here: the step's failure is tested through real runs (integration/test_environment_contract.py)."""

from __future__ import annotations

import logging

from etl_platform.core.settings import Settings
from etl_platform.defs import resources
from etl_platform.defs.resources import snowflake_resource

BOTH = {"SNOWFLAKE_PASSWORD": "pw-value", "SNOWFLAKE_PRIVATE_KEY": "key-value"}


def description(environ) -> str:
    return snowflake_resource(environ, Settings()).get_resource_definition().description


def test_every_build_names_the_problem_and_the_warning_comes_once(caplog, monkeypatch):
    monkeypatch.setattr(resources, "_WARNED", set())  # as in a fresh process
    with caplog.at_level(logging.WARNING, logger="etl_platform"):
        first, second = description(BOTH), description(BOTH)
    for text in (first, second):
        assert text.startswith("SIGN-IN PROBLEM: Snowflake sign-in: set exactly one of"), text
    warnings = [r.getMessage() for r in caplog.records if "set exactly one of" in r.getMessage()]
    assert len(warnings) == 1
    assert not any(value in caplog.text + first for value in BOTH.values()), "names variables, never values"


def test_a_usable_sign_in_is_described_without_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="etl_platform"):
        text = description({"SNOWFLAKE_PASSWORD": "pw-value"})
    assert text.startswith("Sign-in when the definitions loaded: password, from SNOWFLAKE_PASSWORD.")
    assert "pw-value" not in text and not caplog.records
