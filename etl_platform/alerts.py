"""Alerts: a failed run, and yesterday's partition missing its deadline, posted to ALERT_WEBHOOK_URL
(Slack-compatible `{"text": ...}`) when one is set, logged otherwise. Posting is retried and never breaks the
sensor that posts."""

from __future__ import annotations

import datetime as dt
import logging
import os

import dagster as dg
import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from etl_platform.schedules import _cron

log = logging.getLogger(__name__)
FRESHNESS_DEADLINE = os.environ.get("ETL_FRESHNESS_DEADLINE") or "08:00"  # UTC, HH:MM


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def post_alert(text: str, url: str | None = None, attempts: int = 3) -> bool:
    """Post to the webhook; True when it was delivered. Never raises: an alert must not break its sensor."""
    url = url if url is not None else os.environ.get("ALERT_WEBHOOK_URL")
    if not url:
        log.warning("alert (ALERT_WEBHOOK_URL not set): %s", text)
        return False
    try:
        for attempt in Retrying(
            stop=stop_after_attempt(attempts),
            wait=wait_exponential_jitter(0.2, max=2),
            retry=retry_if_exception_type(httpx.HTTPError),
            reraise=True,
        ):
            with attempt:
                httpx.post(url, json={"text": text}, timeout=5).raise_for_status()
        return True
    except Exception as exc:  # noqa: BLE001 - report and carry on
        log.error("could not post the alert to the webhook: %s", type(exc).__name__)
        return False


def failure_message(instance: dg.DagsterInstance, run_id: str) -> str:
    from etl_platform.observe import find_run, load_trace

    trace = load_trace(instance, find_run(instance, run_id))
    failed = next((s for s in trace.stages if s.status == "FAIL"), None)
    where = f"{failed.name} ({failed.asset}): {failed.error}" if failed else (trace.run_error or "unknown error")
    return (
        f":red_circle: etl_platform run failed\n"
        f"run: {trace.run_id}\npartition: {trace.partition or '-'}\nfailed stage: {where}\n"
        f"trace: etl-platform trace {trace.run_id[:8]}"
    )


@dg.run_failure_sensor(
    name="run_failure_alert_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Posts failed runs (stage, error, the trace command) to ALERT_WEBHOOK_URL.",
)
def run_failure_alert_sensor(context: dg.RunFailureSensorContext) -> None:
    try:
        text = failure_message(context.instance, context.dagster_run.run_id)
    except Exception as exc:  # noqa: BLE001 - fall back to what the event says
        text = f"etl_platform run {context.dagster_run.run_id} failed ({type(exc).__name__} while tracing it)"
    delivered = post_alert(text)
    context.log.info("run failure alert %s", "posted" if delivered else "logged")


def _deadline(day: dt.date) -> dt.datetime:
    hour, minute = (int(x) for x in _cron(FRESHNESS_DEADLINE).split()[1::-1])
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


def late_partition(instance: dg.DagsterInstance, now: dt.datetime) -> str | None:
    """Yesterday's partition when it has no lead_results materialization and today's deadline has passed."""
    if now < _deadline(now.date()):
        return None
    yesterday = (now.date() - dt.timedelta(days=1)).isoformat()
    done = instance.get_materialized_partitions(dg.AssetKey("lead_results"))
    return None if yesterday in done else yesterday


@dg.sensor(
    name="freshness_alert_sensor",
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Alerts once a day when yesterday's lead_results partition has not landed by "
    "ETL_FRESHNESS_DEADLINE (UTC).",
)
def freshness_alert_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    late = late_partition(context.instance, utcnow())
    if late is None:
        return dg.SkipReason("yesterday's partition landed, or the deadline has not passed")
    if context.cursor == late:
        return dg.SkipReason(f"already alerted for {late}")
    post_alert(
        f":warning: etl_platform: lead_results for {late} has not landed by {FRESHNESS_DEADLINE} UTC. "
        f"Check `etl-platform health` and `etl-platform trace`."
    )
    context.update_cursor(late)
    return dg.SkipReason(f"alerted: {late} is late")


def freshness_policy() -> dg.FreshnessPolicy:
    """The same deadline for the UI: lead_results must have been materialized in the day before it."""
    return dg.FreshnessPolicy.cron(
        deadline_cron=_cron(FRESHNESS_DEADLINE), lower_bound_delta=dt.timedelta(hours=24), timezone="UTC"
    )
