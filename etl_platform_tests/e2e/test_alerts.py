"""The error-rate check on a run that recovered from vendor errors; the run-failure and freshness alerts
posted to a local webhook receiver."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import dagster as dg
from pydantic import SecretStr

from etl_platform.defs.monitoring import alerts
from etl_platform.sandbox.runner import free_port
from etl_platform_tests.helpers import run_partition

HEALTH_DAY = dt.date(2026, 3, 30)


def alert_sensors(settings, url: str) -> dict[str, dg.SensorDefinition]:
    """The alert sensors as the code location builds them, posting to `url` (ALERT_WEBHOOK_URL)."""
    with_url = settings.model_copy(update={"alert_webhook_url": SecretStr(url)})
    return {s.name: s for s in alerts.build_sensors(with_url)}


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


def test_run_failure_alert_posts_stage_error_and_trace_command(sandbox, defs, settings, instance, registry_loaded):
    sandbox.seed_leads([HEALTH_DAY], per_day=40)
    with sandbox.connect() as conn:
        conn.cursor().execute("DROP TABLE IF EXISTS ENRICHMENT_CACHE")
    sandbox.idicore.update(faults={"503": 1.0})
    result = run_partition(defs, instance, HEALTH_DAY, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    run = instance.get_run_by_id(result.run_id)

    receiver = Receiver(fail_first=1)  # the first post fails: the alert is retried
    try:
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert_sensor",
            dagster_event=failure,
            dagster_instance=instance,
            dagster_run=run,
        ).for_run_failure()
        alert_sensors(settings, receiver.url)["run_failure_alert_sensor"](context)
    finally:
        receiver.close()
    (body,) = receiver.bodies
    text = body["text"]
    for piece in (
        result.run_id,
        HEALTH_DAY.isoformat(),
        "idiCORE",
        "idiCORE failed for",
        f"Nothing was written for {HEALTH_DAY}",  # the same cause as the run page: what the partition kept
        "LEAD_RESULTS",
        f"etl-platform trace {result.run_id[:8]}",
    ):
        assert piece in text, (piece, text)
    assert "max_retries" not in text

    # an unreachable webhook never breaks the sensor
    alert_sensors(settings, f"http://127.0.0.1:{free_port()}/down")["run_failure_alert_sensor"](context)


def test_freshness_alert_fires_once_when_yesterday_is_late(instance, monkeypatch, defs, settings, registry_loaded):
    from etl_platform_tests.conftest import DAY1

    assert run_partition(defs, instance, DAY1).success
    on_time = dt.datetime.combine(DAY1 + dt.timedelta(days=1), dt.time(7, 0), tzinfo=dt.UTC)
    after = on_time.replace(hour=9)
    assert alerts.late_partition(instance, on_time, settings) is None  # before the deadline
    assert alerts.late_partition(instance, after, settings) is None  # DAY1 landed
    missing_day = dt.date(2026, 4, 2)
    late_now = dt.datetime.combine(missing_day + dt.timedelta(days=1), dt.time(9, 0), tzinfo=dt.UTC)
    assert alerts.late_partition(instance, late_now, settings) == missing_day.isoformat()

    receiver = Receiver()
    monkeypatch.setattr(alerts, "utcnow", lambda: late_now)
    try:
        sensor = alert_sensors(settings, receiver.url)["freshness_alert_sensor"]
        context = dg.build_sensor_context(instance=instance)
        sensor(context)
        sensor(context)  # same day again: no second alert
    finally:
        receiver.close()
    assert len(receiver.bodies) == 1 and missing_day.isoformat() in receiver.bodies[0]["text"]
    node = defs.resolve_asset_graph().get(dg.AssetKey("lead_results"))
    assert node.freshness_policy is not None  # the UI shows the same deadline on the asset
