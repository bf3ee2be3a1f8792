"""`etl-platform health` against the sandbox, all up and with each dependency down in turn."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest

from etl_platform.cli.health import DOWN, UP, exit_code, probe_daemon, probe_instance, run_health
from etl_platform.sandbox.runner import SANDBOX_CREDENTIALS, free_port

SECRETS = [SANDBOX_CREDENTIALS[k] for k in ("SNOWFLAKE_PASSWORD", "IDICORE_CLIENT_SECRET", "CCC_LOGIN_ID")]


def statuses(environ) -> dict[str, tuple[str, str]]:
    return {p.name: (p.status, p.detail) for p in run_health(environ)}


@pytest.fixture
def up_daemon(daemon, instance):
    def fresh() -> bool:  # heartbeats of a daemon from an earlier test may still be stored
        beats = instance.get_daemon_heartbeats()
        return bool(beats) and time.time() - max(b.timestamp for b in beats.values()) < 10

    deadline = time.monotonic() + 60
    while not fresh() and time.monotonic() < deadline:
        time.sleep(1)
    assert fresh(), daemon.read_text()[-2000:]
    return daemon


def test_health_all_up_against_the_sandbox(sandbox, registry_loaded, up_daemon, tmp_path):
    got = statuses(dict(os.environ))
    assert list(got)[0] == "snowflake sign-in", "the sign-in first: a run finds a bad one only when it connects"
    # WARN names days whose LEADS rows changed after they ran, beyond the late-leads sensor's window: other
    # tests of the session may leave such days (e2e/test_late_leads.py tests the probe itself).
    assert got.pop("late leads")[0] in (UP, "WARN"), "the late-leads probe reads the instance and LEADS"
    assert {name: status for name, (status, _) in got.items()} == {
        "snowflake sign-in": UP,
        "dagster instance": UP,
        "dagster daemon": UP,
        "vendor pools": UP,
        "snowflake": UP,
        "idicore": UP,
        "ccc": UP,
        "dnc registry": UP,
    }, got
    assert sandbox.idicore_counters.snapshot()["counts"].get("searches", 0) == 0, "health must not bill a search"
    # "idicore 0/1 free" read as "none free": the free slots, of how many
    assert re.search(r"idicore: (\d+) of \1 slots? free", got["vendor pools"][1]), got["vendor pools"]
    assert "password, from SNOWFLAKE_PASSWORD" in got["snowflake"][1], "the sign-in method, named"
    assert sandbox.env["SNOWFLAKE_PASSWORD"] not in got["snowflake"][1]
    out = subprocess.run(
        [sys.executable, "-m", "etl_platform.cli", "health", "--json"],
        env=os.environ.copy(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert {p["name"] for p in json.loads(out.stdout) if p["status"] == UP} >= {"snowflake", "ccc", "idicore"}


@pytest.mark.parametrize(
    ("broken", "changes", "words"),
    [
        ("snowflake", {"SNOWFLAKE_PORT": str(free_port())}, "Error"),
        ("idicore", {"IDICORE_CLIENT_SECRET": "not-the-secret"}, "rejected the client id/secret"),
        ("idicore", {"IDICORE_AUTH_URL": f"http://127.0.0.1:{free_port()}/apiclient"}, "connection"),
        ("ccc", {"CCC_LOGIN_ID": "not-the-key"}, "CCC_LOGIN_ID"),
        ("dnc registry", {"DNC_REGISTRY_PATH": "/nonexistent/registry.duckdb"}, "materialize dnc_registry"),
    ],
)
def test_health_names_the_broken_dependency(broken, changes, words, sandbox, registry_loaded, instance):
    environ = dict(os.environ) | changes
    probes = run_health(environ)
    got = {p.name: p for p in probes}
    assert got[broken].status == DOWN and words in got[broken].detail, got[broken]
    others = {p.name for p in probes if p.status == DOWN} - {broken, "dagster daemon"}
    assert not others, others
    assert exit_code(probes) == 1
    secret_values = [*SECRETS, *(v for k, v in changes.items() if k.endswith(("SECRET", "LOGIN_ID", "PASSWORD")))]
    assert not any(secret in p.detail for p in probes for secret in secret_values)


def test_health_reports_a_stopped_daemon_and_an_unreachable_instance(monkeypatch, sandbox, instance):
    monkeypatch.setenv("ETL_DAEMON_HEARTBEAT_MAX_AGE", "0")
    status, detail = probe_daemon(dict(os.environ))
    assert status == DOWN and "dagster-daemon" in detail
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")
    started = time.monotonic()
    status, detail = probe_instance(dict(os.environ))
    assert status == DOWN and "DAGSTER_POSTGRES_URL" in detail
    assert time.monotonic() - started < 10, "the probe answers within its own timeout"


def test_health_calls_a_ccc_outage_an_outage_not_a_wrong_login(sandbox, instance):
    """A 503 is the vendor's side: "check the login and URL" sent people after a key that was fine."""
    sandbox.ccc.update(faults={"503": 1.0})
    got = {p.name: p for p in run_health(dict(os.environ))}
    assert got["ccc"].status == DOWN, got["ccc"]
    assert "HTTP 503" in got["ccc"].detail and "down or overloaded" in got["ccc"].detail, got["ccc"].detail
    assert "check" not in got["ccc"].detail, got["ccc"].detail
