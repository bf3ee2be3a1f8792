"""The test pyramid, by folder: `unit/` (no servers: the whole tier in seconds), `integration/` (the real
sandbox servers and PostgreSQL, shared by the session), `e2e/` (Dagster runs end to end): `make test`. Then
`deploy/` (the deployment as separate processes: code server, webserver and daemon, the dev UI, killed workers,
the daemon's backfills): `make test-deploy`, after `make test` in CI. Each test gets its tier's marker from its
folder: `pytest -m unit` selects the first tier; `make test-unit` runs its folder alone.

The sandbox starts once per session, and only when a test asks for it (or for a fixture built on it):
fakesnow and the vendor stand-ins on loopback threads of this process, on free ports, zero latency and no
rate limit. Vendor behaviour is reset before every test that uses it, without restarting anything.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from pathlib import Path

import psycopg2
import pytest

TIERS = ("unit", "integration", "e2e", "deploy")

# Fast failure handling for tests: whole-step retries once after 0.2 s, short client backoff, and a 1 s
# client timeout so the sandbox's "slow" fault (3 s) times out. The sandbox vendors have no rate limit in
# tests, so the client's pace is raised too (tests of pacing set both, e2e/test_rate_limits.py).
TEST_KNOBS = {
    "IDICORE_RATE_LIMIT": "1000",
    "STEP_RETRY_MAX": "1",
    "STEP_RETRY_DELAY_SECONDS": "0.2",
    "VENDOR_BACKOFF_INITIAL_SECONDS": "0.05",
    "IDICORE_TIMEOUT_SECONDS": "1",
    "CCC_TIMEOUT_SECONDS": "1",
    "IDICORE_MAX_RETRY_SECONDS": "15",
    "CCC_MAX_RETRY_SECONDS": "15",
    # The session's days are of deliberately different sizes (10 to 300 leads), so here only an empty extract
    # warns; test_observability.py tests the share against history with definitions of its own.
    "EXTRACT_MIN_SHARE": "0",
}

# Test partitions: fixed days so the expectations do not move with the calendar.
DAY1 = dt.date(2026, 3, 2)
DAY2 = dt.date(2026, 3, 3)
LEADS_PER_DAY = 120
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PROJECT_ROOT = Path(__file__).resolve().parents[1]
INSTANCE_YAML = PROJECT_ROOT / "dagster_home" / "dagster.yaml"  # the project's instance configuration


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "unit: no servers; the whole tier runs in seconds")
    config.addinivalue_line("markers", "integration: the sandbox servers and PostgreSQL, shared by the session")
    config.addinivalue_line("markers", "e2e: Dagster runs end to end")
    config.addinivalue_line(
        "markers", "deploy: the deployment as separate processes (code server, webserver, daemon, the dev UI)"
    )


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        parts = Path(str(item.fspath)).relative_to(Path(__file__).parent).parts
        tier = parts[0] if parts and parts[0] in TIERS else None
        if tier is None:
            raise pytest.UsageError(f"{item.nodeid}: tests live in one of {TIERS}")
        item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session")
def session_env():
    """The process environment for the session (subprocesses inherit it): the test knobs first, the
    sandbox's endpoints and the instance once those fixtures run. Restored at the end."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in TEST_KNOBS.items():
            patch.setenv(key, value)
        yield patch


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory, session_env):
    from etl_platform.sandbox.runner import Sandbox, SandboxSettings

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
        for key, value in box.env.items():
            session_env.setenv(key, value)
        box.seed_leads([DAY1 - dt.timedelta(days=1), DAY1, DAY2], per_day=LEADS_PER_DAY)
        box.write_registry(copy_date=dt.datetime.now(dt.UTC).date() - dt.timedelta(days=3))
        yield box


def _reset(box) -> None:
    for behaviour in (box.idicore, box.ccc):
        behaviour.update(
            latency_ms=0,
            rate_limit=None,
            rate_mode="bucket",
            faults={},
            slow_seconds=3,
            fault_limit=None,
            fault_after=None,
        )
    box.idicore_counters.reset()
    box.ccc_counters.reset()


@pytest.fixture(autouse=True)
def _reset_vendor_behaviour(request):
    """Every test that uses the sandbox starts with well-behaved, instant vendors and zeroed counters, and
    leaves them so: a module-scoped fixture of the next file runs before that file's first reset."""
    if "sandbox" not in request.fixturenames:
        yield
        return
    box = request.getfixturevalue("sandbox")
    _reset(box)
    yield
    _reset(box)


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
def dagster_home(tmp_path_factory, postgres_url, sandbox, session_env) -> Path:
    """DAGSTER_HOME holding the project's own dagster.yaml, pointed at the test database: the two instance
    variables of DESIGN.md's contract and nothing else (the compute logs go under DAGSTER_HOME, Dagster's own
    default), so every test runs the instance the way a deployment must be able to."""
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copyfile(INSTANCE_YAML, home / "dagster.yaml")
    session_env.setenv("DAGSTER_HOME", str(home))
    session_env.setenv("DAGSTER_POSTGRES_URL", postgres_url)
    return home


@pytest.fixture(scope="session")
def instance(dagster_home):
    import dagster as dg

    with dg.DagsterInstance.get() as inst:
        yield inst


@pytest.fixture(scope="session")
def settings(sandbox):
    """The settings the session's environment gives (the test knobs applied)."""
    from etl_platform.core.settings import Settings

    return Settings.from_env(os.environ)


@pytest.fixture(scope="session")
def defs(dagster_home, settings):
    from etl_platform.definitions import build_definitions

    return build_definitions(settings, dict(os.environ))


def load_registry(defs, instance):
    """Materialize dnc_registry (its own job: it is not partitioned)."""
    result = defs.resolve_job_def("dnc_registry_job").execute_in_process(instance=instance)
    assert result.success
    return result


@pytest.fixture(scope="session")
def registry_loaded(defs, instance):
    return load_registry(defs, instance)


@pytest.fixture
def warehouse(sandbox):
    """A cursor on the sandbox warehouse for assertions."""
    with sandbox.connect() as conn:
        cur = conn.cursor()
        yield cur
        cur.close()


@pytest.fixture(scope="session")
def deployment(dagster_home, postgres_url, sandbox, session_env, tmp_path_factory):
    """Code server, webserver and daemon as separate processes on the session's database (deployment.py)."""
    from etl_platform_tests.deployment import start_deployment

    box = start_deployment(tmp_path_factory.mktemp("deployment"), dict(os.environ))
    yield box
    box.stop()


@pytest.fixture(scope="session")
def deployed_instance(deployment):
    """The deployment's instance (its dagster.yaml), opened in the test process."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(deployment.root)) as instance:
        yield instance


@pytest.fixture
def daemon(deployment):
    """The running daemon (the deployment's): schedules, sensors, backfills, the run queue. Its log file."""
    return deployment.root / "daemon.log"
