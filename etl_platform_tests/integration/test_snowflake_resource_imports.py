"""The dagster-snowflake resource is imported without Snowpark and snowflake.core, which stay usable: checked
in a fresh interpreter (this one may have imported them already). Integration tier: that interpreter imports
the whole Snowflake stack (10-18 s here), too slow for the unit tier's budget."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from etl_platform.defs.snowflake_resource import SnowflakeResource
import dagster_snowflake, dagster_snowflake.resources as r
assert SnowflakeResource is dagster_snowflake.SnowflakeResource
loaded = sorted(n for n in sys.modules if n.startswith(("snowflake.snowpark", "snowflake.core")))
assert not loaded, loaded
import snowflake.core, snowflake.snowpark
assert type(snowflake.core).__name__ == "module" and snowflake.core.Root.__module__ == "snowflake.core._root"
assert r.Root.resolve() is snowflake.core.Root
assert r.snowpark.Session.resolve() is snowflake.snowpark.Session
print("ok")
"""


def test_snowpark_and_snowflake_core_are_imported_only_when_used():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]
