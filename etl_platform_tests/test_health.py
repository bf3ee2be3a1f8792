"""`etl-platform health` against the sandbox, all up and with each dependency down in turn; the error-rate
check; the run-failure and freshness alerts posted to a local webhook receiver."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import dagster as dg
import pytest

from etl_platform import alerts
from etl_platform.health import DOWN, UP, exit_code, run_health
from etl_platform.sandbox.runner import SANDBOX_CREDENTIALS, free_port
from etl_platform_tests.helpers import run_partition

HEALTH_DAY = dt.date(2026, 3, 30)
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
    assert {name: status for name, (status, _) in got.items()} == {
        "dagster instance": UP,
        "dagster daemon": UP,
        "snowflake": UP,
        "idicore": UP,
        "ccc": UP,
        "dnc registry": UP,
    }, got
    assert sandbox.idicore_counters.snapshot()["counts"].get("searches", 0) == 0, "health must not bill a search"
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
    got = statuses(dict(os.environ))
    assert got["dagster daemon"][0] == DOWN and "dagster-daemon" in got["dagster daemon"][1]
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")
    got = statuses(dict(os.environ))
    assert got["dagster instance"][0] == DOWN


def test_error_rate_check_warns_when_calls_failed_even_if_the_run_succeeded(sandbox, defs, instance, registry_loaded):
    sandbox.seed_leads([HEALTH_DAY], per_day=40)
    with sandbox.connect() as conn:
        conn.cursor().execute("DROP TABLE IF EXISTS ENRICHMENT_CACHE")
    sandbox.idicore.update(faults={"500": 0.25})
    result = run_partition(defs, instance, HEALTH_DAY)
    assert result.success
    (check,) = [
        e
        for e in result.get_asset_check_evaluations()
        if e.asset_key == dg.AssetKey("lead_contacts") and e.check_name == "vendor_error_rate"
    ]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert (
        check.metadata["failed_calls"].value > 0
        and check.metadata["calls"].value > check.metadata["failed_calls"].value
    )
    (ccc,) = [
        e
        for e in result.get_asset_check_evaluations()
        if e.asset_key == dg.AssetKey("litigator_scrub") and e.check_name == "vendor_error_rate"
    ]
    assert ccc.passed


class Receiver:
    """A local Slack-compatible webhook: records JSON bodies; can fail the first N posts."""

    def __init__(self, fail_first: int = 0):
        self.bodies: list[dict] = []
        self.fail_first = fail_first
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if outer.fail_first > 0:
                    outer.fail_first -= 1
                    self.send_response(500)
                else:
                    outer.bodies.append(json.loads(body))
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def test_run_failure_alert_posts_stage_error_and_trace_command(sandbox, defs, instance, registry_loaded, monkeypatch):
    sandbox.seed_leads([HEALTH_DAY], per_day=40)
    with sandbox.connect() as conn:
        conn.cursor().execute("DROP TABLE IF EXISTS ENRICHMENT_CACHE")
    sandbox.idicore.update(faults={"503": 1.0})
    result = run_partition(defs, instance, HEALTH_DAY, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    run = instance.get_run_by_id(result.run_id)

    receiver = Receiver(fail_first=1)  # the first post fails: the alert is retried
    monkeypatch.setenv("ALERT_WEBHOOK_URL", receiver.url)
    try:
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert_sensor",
            dagster_event=failure,
            dagster_instance=instance,
            dagster_run=run,
        ).for_run_failure()
        alerts.run_failure_alert_sensor(context)
    finally:
        receiver.close()
    (body,) = receiver.bodies
    text = body["text"]
    for piece in (
        result.run_id,
        HEALTH_DAY.isoformat(),
        "idiCORE",
        "idiCORE failed for",
        f"etl-platform trace {result.run_id[:8]}",
    ):
        assert piece in text, (piece, text)

    monkeypatch.setenv("ALERT_WEBHOOK_URL", f"http://127.0.0.1:{free_port()}/down")
    alerts.run_failure_alert_sensor(context)  # an unreachable webhook never breaks the sensor


def test_freshness_alert_fires_once_when_yesterday_is_late(instance, monkeypatch, defs, registry_loaded):
    from etl_platform_tests.conftest import DAY1

    assert run_partition(defs, instance, DAY1).success
    on_time = dt.datetime.combine(DAY1 + dt.timedelta(days=1), dt.time(7, 0), tzinfo=dt.UTC)
    after = on_time.replace(hour=9)
    assert alerts.late_partition(instance, on_time) is None  # before the deadline
    assert alerts.late_partition(instance, after) is None  # DAY1 landed
    missing_day = dt.date(2026, 4, 2)
    late_now = dt.datetime.combine(missing_day + dt.timedelta(days=1), dt.time(9, 0), tzinfo=dt.UTC)
    assert alerts.late_partition(instance, late_now) == missing_day.isoformat()

    receiver = Receiver()
    monkeypatch.setenv("ALERT_WEBHOOK_URL", receiver.url)
    monkeypatch.setattr(alerts, "utcnow", lambda: late_now)
    try:
        context = dg.build_sensor_context(instance=instance)
        alerts.freshness_alert_sensor(context)
        alerts.freshness_alert_sensor(context)  # same day again: no second alert
    finally:
        receiver.close()
    assert len(receiver.bodies) == 1 and missing_day.isoformat() in receiver.bodies[0]["text"]
    node = defs.resolve_asset_graph().get(dg.AssetKey("lead_results"))
    assert node.freshness_policy is not None  # the UI shows the same deadline on the asset
