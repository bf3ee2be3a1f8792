"""The day's window is the UTC day whatever CREATED_AT's type: what the code sends to the warehouse for it
(session parameters, bound values) and how it reads CREATED_AT back. The local server cannot show a real
account's session time zone (integration/test_warehouse.py says what it can), so these are checked here."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from etl_platform.adapters.warehouse import bindings, connection_args_from_env
from etl_platform.core.leads import day_bounds, utc_wall_clock

REAL_ACCOUNT = {"SNOWFLAKE_ACCOUNT": "xy12345"}
LOCAL_SERVER = {"SNOWFLAKE_ACCOUNT": "sandbox", "SNOWFLAKE_HOST": "127.0.0.1", "SNOWFLAKE_PORT": "18080"}


@pytest.mark.parametrize(("statement_timeout", "lock_timeout"), [(None, None), (600, 60)])
def test_every_real_account_session_is_in_utc(statement_timeout, lock_timeout):
    """Snowflake's default session zone is America/Los_Angeles: an NTZ CREATED_AT compared with the day's
    bounds (TIMESTAMP_TZ) would be read there. Set for every session, with or without the timeouts."""
    args = connection_args_from_env(REAL_ACCOUNT, statement_timeout, lock_timeout)
    assert args["session_parameters"]["TIMEZONE"] == "UTC"
    if statement_timeout:
        assert args["session_parameters"]["STATEMENT_TIMEOUT_IN_SECONDS"] == statement_timeout
        assert args["session_parameters"]["LOCK_TIMEOUT"] == lock_timeout


def test_the_local_server_gets_no_time_zone_parameter():
    """fakesnow refuses the session parameters a real account takes (and ALTER SESSION SET TIMEZONE); its
    sessions are UTC already."""
    args = connection_args_from_env(LOCAL_SERVER, 600, 60)
    assert "TIMEZONE" not in args["session_parameters"]
    assert args["host"] == "127.0.0.1"


def test_the_days_bounds_are_utc_instants_a_day_apart():
    start, end = day_bounds(dt.date(2026, 3, 8))  # the day US clocks spring forward: still 24 h in UTC
    assert start == dt.datetime(2026, 3, 8, tzinfo=dt.UTC) and start.utcoffset() == dt.timedelta(0)
    assert end - start == dt.timedelta(hours=24)


def test_aware_datetimes_are_bound_as_timestamp_tz_and_the_rest_as_they_are():
    """The connector binds every datetime as TIMESTAMP_NTZ unless told: told, for an aware one."""
    start, end = day_bounds(dt.date(2026, 3, 2))
    naive = dt.datetime(2026, 3, 2)
    assert bindings([start, end, naive, dt.date(2026, 3, 2), "x", 3, None]) == [
        ("TIMESTAMP_TZ", start),
        ("TIMESTAMP_TZ", end),
        naive,
        dt.date(2026, 3, 2),
        "x",
        3,
        None,
    ]


def test_created_at_of_any_type_is_read_as_naive_utc_wall_clock():
    la = dt.timezone(dt.timedelta(hours=-8))
    india = dt.timezone(dt.timedelta(hours=5, minutes=30))
    read = pd.Series(
        [
            dt.datetime(2026, 3, 1, 23, 59, 59, tzinfo=la),  # a TIMESTAMP_TZ row with its own offset
            dt.datetime(2026, 3, 2, 5, 30, tzinfo=india),
            dt.datetime(2026, 3, 2, 7, 0, tzinfo=dt.UTC),
        ],
        dtype=object,
    )
    assert list(utc_wall_clock(read)) == [
        pd.Timestamp("2026-03-02 07:59:59"),
        pd.Timestamp("2026-03-02 00:00:00"),
        pd.Timestamp("2026-03-02 07:00:00"),
    ]
    ntz = pd.Series(pd.to_datetime(["2026-03-02 03:00:00"]))  # an NTZ column: already UTC wall clock
    assert list(utc_wall_clock(ntz)) == [pd.Timestamp("2026-03-02 03:00:00")]
    assert utc_wall_clock(pd.Series([], dtype=object)).empty
