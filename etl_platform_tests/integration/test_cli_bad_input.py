"""Every command answers bad input, and a dependency that is down, with one clear line on stderr and a
non-zero exit, never a traceback. Dependencies are taken down by pointing at a closed port, not by stopping
a shared server."""

from __future__ import annotations

import datetime as dt

import pytest

from etl_platform.sandbox.runner import free_port
from etl_platform_tests.helpers import cli_in_process

CLOSED = str(free_port())
TODAY = dt.datetime.now(dt.UTC).date()

CASES = [
    # (arguments, environment changes, words the one line must hold)
    (["backfill", "--start", "2026-03-10", "--end", "2026-03-01", "--sync"], {}, "is before --start"),
    (["backfill", "--start", "2026-13-01", "--end", "2026-03-01"], {}, "Invalid value for '--start'"),
    (["backfill", "--start", "2025-06-01", "--end", "2025-06-02", "--sync"], {}, "is not a daily partition"),
    (["backfill", "--start", "2099-01-01", "--end", "2099-01-02"], {}, "is not a daily partition"),
    (["backfill", "--start", "2026-03-01", "--end", "2026-03-02", "--parallel", "9"], {}, "'--parallel'"),
    (["run", "--partition", "2099-01-01"], {}, "is not a daily partition"),
    # today is not a partition yet: the message names yesterday's date, not today's
    (["run", "--partition", TODAY.isoformat()], {}, f"to yesterday ({TODAY - dt.timedelta(days=1)}, UTC)"),
    # on the sandbox, whose partitions start on its first seeded day: how to reach earlier days
    (
        ["run", "--partition", str(TODAY - dt.timedelta(days=30))],
        {"ETL_PARTITIONS_START": str(TODAY - dt.timedelta(days=7)), "SANDBOX_DAYS": "7"},
        "with a larger SANDBOX_DAYS exported, the sandbox is restarted to seed the earlier days",
    ),
    (["run", "--partition", "yesterday"], {}, "Invalid value for '--partition'"),
    (["run", "--profile", "bogus"], {}, "unknown fault kind 'bogus'"),
    (["sandbox", "start", "--profile", "bogus"], {}, "unknown fault kind 'bogus'"),
    (["dead-letters", "list", "--partition", "2026-02-30"], {}, "Invalid value for '--partition'"),
    (["dead-letters", "frobnicate", "--partition", "2026-03-01"], {}, "Invalid value for '{list|replay}'"),
    (["analyze", "--last", "0"], {}, "'--last'"),
    (["analyze", "--last", "-3"], {}, "'--last'"),
    (["analyze", "--run", "x", "--last", "2"], {}, "at most one of --run, --partition, --last"),
    (["trace"], {"DAGSTER_POSTGRES_URL": f"postgresql://postgres@127.0.0.1:{CLOSED}/x"}, "is not reachable"),
    (
        ["analyze", "--last", "2"],
        {"DAGSTER_POSTGRES_URL": f"postgresql://postgres@127.0.0.1:{CLOSED}/x"},
        "not reachable",
    ),
    (["dead-letters", "list", "--partition", "2026-03-02"], {"SNOWFLAKE_PORT": CLOSED}, "Snowflake"),
    (["analyze", "--last", "1"], {"VENDOR_MAX_ERROR_SHARE": "lots"}, "VENDOR_MAX_ERROR_SHARE"),
]


@pytest.mark.parametrize(
    ("args", "env", "words"), CASES, ids=[" ".join(c[0]) + str(c[1]).replace(CLOSED, "CLOSED") for c in CASES]
)
def test_bad_input_gets_one_clear_line_and_a_non_zero_exit(args, env, words, dagster_home, monkeypatch):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    out = cli_in_process(*args)  # an uncaught exception would propagate here: a traceback fails the test
    assert out.returncode != 0, out.stdout
    assert "Traceback" not in out.stderr + out.stdout
    assert words in out.stderr, out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, out.stderr
