"""The late-leads sensor (DESIGN.md "Leads arrive late"): asks for a day again when its rows in LEADS changed
since it was materialized, so the rerun delivers the leads a late loader inserted.

Each tick is one paged read of raw_leads' materializations in the instance and, on one warehouse connection,
two statements: `sql/lead_day_digests.sql` over the window's materialized days (rows, distinct LEAD_IDs and
an order-free digest per day), compared in `core/late_leads.py`, and `sql/leads_delivered_twice.sql`. A
changed day gets a RunRequest of the daily job whose run key is the day's new state: one run per change,
however often the sensor ticks, and nothing while the state stays. The rerun's raw_leads records the new
state, so the day is quiet again afterwards.

The second statement keeps "no lead is delivered twice" (DESIGN.md): a late lead may carry a LEAD_ID that a
later day already delivered (it was that lead's first day then). Once the earlier day's rerun delivered it
too, the later day holds a lead an earlier day delivered: the sensor requests the later day, whose rerun
drops it as a returning lead.

Off by default, like the DNC reload: it launches runs that call billed vendors (idiCORE for the late leads,
CCC for the day's phones), so a deployment turns it on deliberately (UI or `dagster sensor start`).
"""

import datetime as dt
import os
from collections.abc import Iterable

import dagster as dg

from etl_platform.adapters.warehouse import Warehouse
from etl_platform.core import late_leads as ll
from etl_platform.core.settings import Settings
from etl_platform.core.stages import DAILY_JOB, RAW_LEADS
from etl_platform.defs.resources import snowflake_resource

SENSOR_NAME = "late_leads_sensor"
_PAGE = 500


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def seen_views(instance: dg.DagsterInstance, days: Iterable[dt.date]) -> dict[dt.date, ll.DayView | None]:
    """For each of `days` materialized at least once: the view of LEADS its latest raw_leads materialization
    recorded (None when it recorded none). Days never materialized are absent. One filtered read of the
    event log, newest first, paged."""
    wanted = {d.isoformat(): d for d in days}
    out: dict[dt.date, ll.DayView | None] = {}
    if not wanted:
        return out
    records_filter = dg.AssetRecordsFilter(asset_key=dg.AssetKey(RAW_LEADS.asset), asset_partitions=list(wanted))
    cursor = None
    while True:
        page = instance.fetch_materializations(records_filter, limit=_PAGE, cursor=cursor)
        for record in page.records:
            materialization = record.asset_materialization
            day = wanted.get(record.partition_key or "")
            if materialization is None or day is None or day in out:
                continue  # newest first: the first one seen per day is its latest
            out[day] = ll.DayView.from_metadata(materialization.metadata)
        if not page.has_more or len(out) == len(wanted):
            return out
        cursor = page.cursor


def read_leads(snowflake, settings: Settings, days: list[dt.date]):
    """One connection, two statements: what LEADS holds now for `days`, and the days of that span whose
    LEAD_RESULTS hold leads an earlier day within the look-back delivered too (see
    sql/leads_delivered_twice.sql)."""
    span = ll.bounds(days)
    with Warehouse.from_settings(snowflake, settings).session() as session:
        now = ll.views_by_day(session.rows("lead_day_digests", span))
        rows = session.rows("leads_delivered_twice", [*(b.date() for b in span), settings.lead_lookback_days])
    twice = {(d.date() if isinstance(d, dt.datetime) else d): int(n) for d, n in rows}
    return now, twice


class WarehouseUnreadable(RuntimeError):
    """LEADS cannot be read this tick: one line, naming variables, never their values."""


def warehouse_now(settings: Settings):
    """The run's Snowflake resource, built and resolved here from the environment as it is now (like the
    DNC sensor reads its paths). Not injected as a sensor resource on purpose: Dagster resolves an injected
    resource's EnvVars before the sensor's body runs, so a variable missing in the daemon's environment
    would fail every tick with a stack trace instead of this one line."""
    resource = snowflake_resource(os.environ, settings)
    missing = sorted(
        value.env_var_name
        for value in dict(resource).values()
        if isinstance(value, dg.EnvVar) and not os.environ.get(value.env_var_name)
    )
    if missing:
        raise WarehouseUnreadable(f"{', '.join(missing)} not set (see .env.example)")
    return resource.process_config_and_initialize()


def build_sensor(settings: Settings) -> dg.SensorDefinition:
    @dg.sensor(
        name=SENSOR_NAME,
        job_name=DAILY_JOB,
        minimum_interval_seconds=settings.late_leads_sensor_interval_seconds,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=f"Re-runs a day of the last {settings.late_leads_window_days} (LATE_LEADS_LOOKBACK_DAYS) whose "
        "rows in LEADS changed since it was materialized (a loader that ran late): the rerun delivers the late "
        "leads; the others come from the enrichment cache.",
    )
    def late_leads_sensor(context: dg.SensorEvaluationContext):
        days = ll.window(utcnow().date(), settings.late_leads_window_days, settings.partitions_start)
        if not days:
            return dg.SkipReason("no partition in the window yet")
        seen = seen_views(context.instance, days)
        if not seen:
            return dg.SkipReason(f"no day of {days[0]}..{days[-1]} has been materialized")
        try:
            # Only the span of the materialized days: the others are not compared.
            now, twice = read_leads(warehouse_now(settings), settings, list(seen))
        except Exception as exc:  # noqa: BLE001 - one line for the tick, never a traceback wall
            # WarehouseError's text names the statement and never a bound value; a missing variable is
            # named; other errors (sign-in, network) give their type and first line, which the connector
            # keeps free of credentials.
            first = (str(exc).strip().splitlines() or [""])[0][:300]
            return dg.SkipReason(f"cannot read LEADS, nothing compared this tick: {type(exc).__name__}: {first}")
        result = ll.compare(seen, now)
        requests = []
        for day, (before, after) in result.changed.items():
            change = ll.describe_change(before, after)
            context.log.info("late leads: %s changed since it was materialized (%s): requesting it", day, change)
            requests.append(
                dg.RunRequest(
                    run_key=ll.run_key(day, after),
                    partition_key=day.isoformat(),
                    tags={ll.TRIGGER_TAG: ll.TRIGGER_LATE_LEADS, ll.CHANGE_TAG: change},
                )
            )
        for day, leads in twice.items():
            if day in result.changed:
                continue  # its rerun, requested above, drops them too
            context.log.info(
                "late leads: %s holds %d lead(s) an earlier day now delivers too: requesting it", day, leads
            )
            requests.append(
                dg.RunRequest(
                    run_key=ll.twice_run_key(day, leads, now.get(day, ll.DayView.empty())),
                    partition_key=day.isoformat(),
                    tags={ll.TRIGGER_TAG: ll.TRIGGER_LATE_LEADS, ll.CHANGE_TAG: f"{leads} lead(s) delivered earlier"},
                )
            )
        if result.unknown:
            # Materialized before raw_leads recorded what it saw: cannot tell, and a blind rerun of the
            # whole window on the first tick would pay the vendors for nothing.
            context.log.info("late leads: %d day(s) recorded no view of LEADS, not compared", len(result.unknown))
        if requests:
            return dg.SensorResult(run_requests=requests)
        return dg.SkipReason(
            f"{len(result.unchanged)} materialized day(s) of {days[0]}..{days[-1]} unchanged in LEADS"
            + (f", {len(result.unknown)} without a recorded view" if result.unknown else "")
        )

    return late_leads_sensor
