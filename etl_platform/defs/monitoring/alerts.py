"""Alerts: a failed run, and yesterday's partition missing its deadline, posted to ALERT_WEBHOOK_URL
(Slack-compatible `{"text": ...}`) when one is set, logged otherwise. Posting is retried and never breaks the
sensor that posts. The failure message is built from the run's own failure events (no trace command needed).
"""

import datetime as dt
import logging

import dagster as dg
import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from etl_platform.core.settings import Settings, cron_of
from etl_platform.core.stages import LEAD_RESULTS, STAGES

log = logging.getLogger(__name__)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def post_alert(text: str, url: str | None, attempts: int = 3) -> bool:
    """Post to the webhook; True when it was delivered. Never raises: an alert must not break its sensor."""
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


def failure_message(run: dg.DagsterRun, step_failures: list[dg.DagsterEvent], run_error: str | None) -> str:
    """What failed, where and why, from the run and its step failure events."""
    failed = step_failures[-1] if step_failures else None
    if failed is not None:
        stage = STAGES.get(failed.step_key or "")
        data = failed.step_failure_data
        user = data.user_failure_data if data else None
        error = (user.description if user and user.description else None) or (
            data.error.message.strip().splitlines()[0] if data and data.error else "failed"
        )
        where = f"{stage.name if stage else failed.step_key} ({failed.step_key}): {error}"
    else:
        where = run_error or "unknown error"
    return (
        f":red_circle: etl_platform run failed\n"
        f"run: {run.run_id}\npartition: {run.tags.get('dagster/partition') or '-'}\nfailed stage: {where}\n"
        f"trace: etl-platform trace {run.run_id[:8]}"
    )


def deadline(day: dt.date, settings: Settings) -> dt.datetime:
    hour, minute = (int(x) for x in settings.freshness_deadline.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


def late_partition(instance: dg.DagsterInstance, now: dt.datetime, settings: Settings) -> str | None:
    """Yesterday's partition when it has no lead_results materialization and today's deadline has passed."""
    if now < deadline(now.date(), settings):
        return None
    yesterday = (now.date() - dt.timedelta(days=1)).isoformat()
    done = instance.get_materialized_partitions(dg.AssetKey(LEAD_RESULTS.asset))
    return None if yesterday in done else yesterday


def freshness_policy(settings: Settings) -> dg.FreshnessPolicy:
    """The same deadline for the UI: lead_results must have been materialized in the day before it."""
    return dg.FreshnessPolicy.cron(
        deadline_cron=cron_of(settings.freshness_deadline), lower_bound_delta=dt.timedelta(hours=24), timezone="UTC"
    )


def build_sensors(settings: Settings) -> list[dg.SensorDefinition]:
    webhook = settings.alert_webhook_url.get_secret_value() if settings.alert_webhook_url else None

    @dg.run_failure_sensor(
        name="run_failure_alert_sensor",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Posts failed runs (stage, error, the trace command) to ALERT_WEBHOOK_URL.",
    )
    def run_failure_alert_sensor(context: dg.RunFailureSensorContext) -> None:
        try:
            text = failure_message(
                context.dagster_run, context.get_step_failure_events(), context.failure_event.message
            )
        except Exception as exc:  # noqa: BLE001 - fall back to what the event says
            text = f"etl_platform run {context.dagster_run.run_id} failed ({type(exc).__name__} while describing it)"
        delivered = post_alert(text, webhook)
        context.log.info("run failure alert %s", "posted" if delivered else "logged")

    @dg.sensor(
        name="freshness_alert_sensor",
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Alerts once a day when yesterday's lead_results partition has not landed by "
        "ETL_FRESHNESS_DEADLINE (UTC).",
    )
    def freshness_alert_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        late = late_partition(context.instance, utcnow(), settings)
        if late is None:
            return dg.SkipReason("yesterday's partition landed, or the deadline has not passed")
        if context.cursor == late:
            return dg.SkipReason(f"already alerted for {late}")
        post_alert(
            f":warning: etl_platform: lead_results for {late} has not landed by {settings.freshness_deadline} UTC. "
            f"Check `etl-platform health` and `etl-platform trace`.",
            webhook,
        )
        context.update_cursor(late)
        return dg.SkipReason(f"alerted: {late} is late")

    return [run_failure_alert_sensor, freshness_alert_sensor]
