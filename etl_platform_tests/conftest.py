"""Shared fixtures: a real sandbox (fakesnow + vendor servers on loopback) and a real Postgres instance.

The sandbox runs in this process on free ports with zero latency and no rate limit, so tests exercise
the real HTTP and Snowflake clients quickly; tests that need latency or faults switch them per test.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from pathlib import Path

import psycopg2
import pytest

from etl_platform.environment import PROJECT_ROOT
from etl_platform.sandbox.runner import Sandbox, SandboxSettings

# Fast failure handling for tests, set before the definitions are imported: whole-step retries once after
# 0.2 s, short client backoff, and a 1 s client timeout so the sandbox's "slow" fault (3 s) times out.
TEST_KNOBS = {
    "STEP_RETRY_MAX": "1",
    "STEP_RETRY_DELAY_SECONDS": "0.2",
    "VENDOR_BACKOFF_INITIAL_SECONDS": "0.05",
    "IDICORE_TIMEOUT_SECONDS": "1",
    "CCC_TIMEOUT_SECONDS": "1",
    "IDICORE_MAX_RETRY_SECONDS": "15",
    "CCC_MAX_RETRY_SECONDS": "15",
}
os.environ.update(TEST_KNOBS)

# Test partitions: fixed days so the expectations do not move with the calendar.
DAY1 = dt.date(2026, 3, 2)
DAY2 = dt.date(2026, 3, 3)
LEADS_PER_DAY = 120
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory) -> Sandbox:
    root = tmp_path_factory.mktemp("sandbox")
    settings = SandboxSettings(
        root=root,
        idicore_latency_ms=0,
        idicore_rate_limit=None,
        ccc_latency_ms=0,
        ccc_rate_limit=None,
        persist_snowflake=False,
    )
    with Sandbox(settings) as box:
        box.idicore.slow_seconds = box.ccc.slow_seconds = 3
        os.environ.update(box.env)
        box.seed_leads([DAY1 - dt.timedelta(days=1), DAY1, DAY2], per_day=LEADS_PER_DAY)
        box.write_registry(copy_date=dt.datetime.now(dt.UTC).date() - dt.timedelta(days=3))
        yield box


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A fresh database for this test session, dropped at the end."""
    name = f"etl_platform_test_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(PG_ADMIN_URL)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


@pytest.fixture(scope="session")
def dagster_home(tmp_path_factory, postgres_url, sandbox) -> Path:
    """DAGSTER_HOME holding the project's own dagster.yaml, pointed at the test database."""
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copyfile(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ["DAGSTER_POSTGRES_URL"] = postgres_url
    return home


@pytest.fixture(scope="session")
def instance(dagster_home):
    import dagster as dg

    with dg.DagsterInstance.get() as inst:
        yield inst


@pytest.fixture(scope="session")
def defs(dagster_home):
    from etl_platform.definitions import defs as definitions

    return definitions


@pytest.fixture(scope="session")
def registry_loaded(defs, instance):
    import dagster as dg

    from etl_platform.assets.scrubs import dnc_registry

    result = dg.materialize([dnc_registry], resources=defs.resources, instance=instance)
    assert result.success
    return result


@pytest.fixture
def warehouse(sandbox):
    """A cursor on the sandbox warehouse for assertions."""
    with sandbox.connect() as conn:
        cur = conn.cursor()
        yield cur
        cur.close()


@pytest.fixture(autouse=True)
def _reset_vendor_behaviour(request, sandbox):
    """Every test starts with well-behaved, instant vendors and zeroed counters."""
    for behaviour in (sandbox.idicore, sandbox.ccc):
        behaviour.update(latency_ms=0, rate_limit=None, faults={}, slow_seconds=3)
    sandbox.idicore_counters.reset()
    sandbox.ccc_counters.reset()
    yield


@pytest.fixture
def daemon(dagster_home, tmp_path):
    """A real `dagster-daemon` on the test instance (schedules, sensors, backfills, run queue)."""
    import subprocess
    import sys

    log = open(tmp_path / "daemon.log", "w")  # noqa: SIM115 - the daemon writes to it until teardown
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-m", "etl_platform.definitions"],
        cwd=tmp_path,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield tmp_path / "daemon.log"
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
