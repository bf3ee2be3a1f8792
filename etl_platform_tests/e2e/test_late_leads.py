"""Late leads (DESIGN.md "Leads arrive late"): a loader inserts day D's lead after D was materialized. The
late-leads sensor asks for D (and for no unchanged day), the rerun delivers the late lead, the day's other
leads come from the enrichment cache (no second idiCORE search) and keep their LEAD_RESULTS rows, and
`late_leads` is in the metadata and the trace."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import dagster as dg
import pytest

from etl_platform.adapters.warehouse import WarehouseSession
from etl_platform.core.late_leads import CHANGE_TAG, TRIGGER_LATE_LEADS, TRIGGER_TAG
from etl_platform.core.stages import DAILY_JOB
from etl_platform.defs.leads import late_leads
from etl_platform_tests.helpers import cli_in_process, fetch, results_for, run_partition, stage_meta

DAY, NEIGHBOUR = dt.date(2026, 5, 18), dt.date(2026, 5, 19)  # days no other test uses
OLD_DAY = dt.date(2026, 5, 6)  # beyond the sensor's window at NOW, within the look-back
NOW = dt.datetime(2026, 5, 21, 12, tzinfo=dt.UTC)  # both days inside the sensor's 7-day window
PER_DAY = 30
# Everything but when and by which run: a rerun re-scrubs, so those two change.
KEPT = ["PARTITION_DATE", "LEAD_ID", "PHONE", "PHONE_RANK", "LITIGATOR_STATUS", "DNC_STATUS", "CALLABLE"]
KEPT += ["BLOCK_REASON", "EMAILS"]


def rows_of(cur, day) -> dict[tuple, tuple]:
    return {(r["LEAD_ID"], r["PHONE_RANK"]): tuple(r[c] for c in KEPT) for r in results_for(cur, day)}


def tick(defs, instance) -> dg.SensorExecutionData:
    sensor = defs.resolve_sensor_def(late_leads.SENSOR_NAME)
    return sensor.evaluate_tick(dg.build_sensor_context(instance=instance, definitions=defs))


def late_row(sandbox, day: dt.date, source: dt.date) -> dict:
    """A lead the loader inserts late into `day`: a valid person of the sandbox's world from a day no test
    seeds (`source`: so idiCORE knows the person and no other day has the LEAD_ID)."""
    row = dict(sandbox.world.leads_for_day(source, 1, with_resends=False)[0])
    return row | {"CREATED_AT": dt.datetime.combine(day, dt.time(15, 30))}


@pytest.fixture
def insert_late(sandbox):
    """Insert late rows into LEADS; those rows are removed again afterwards."""
    inserted = []

    def insert(row: dict) -> dict:
        with sandbox.connect() as conn:
            WarehouseSession(conn, batch_rows=10).insert_json("sandbox/insert_leads", [row])
        inserted.append([row["LEAD_ID"], row["CREATED_AT"]])
        return row

    yield insert
    with sandbox.connect() as conn:  # that row only: a late copy of a lead leaves the original in place
        for lead_and_time in inserted:
            conn.cursor().execute("DELETE FROM LEADS WHERE LEAD_ID = ? AND CREATED_AT = ?", lead_and_time)


def test_a_late_lead_is_noticed_requested_once_and_delivered_by_the_rerun(
    sandbox, defs, instance, registry_loaded, warehouse, insert_late, monkeypatch, tmp_path
):
    monkeypatch.setattr(late_leads, "utcnow", lambda: NOW)
    sandbox.seed_leads([DAY, NEIGHBOUR], per_day=PER_DAY)
    first = {}
    for day in (DAY, NEIGHBOUR):
        result = run_partition(defs, instance, day)
        assert result.success
        first[day] = result
    assert stage_meta(first[DAY], "raw_leads")["late_leads"] == 0
    quiet = tick(defs, instance)
    assert not quiet.run_requests and "unchanged" in quiet.skip_message

    late_lead = insert_late(late_row(sandbox, DAY, dt.date(2026, 8, 3)))
    requested = tick(defs, instance)
    assert [r.partition_key for r in requested.run_requests] == [DAY.isoformat()], "D only, not its neighbour"
    request = requested.run_requests[0]
    assert request.tags[TRIGGER_TAG] == TRIGGER_LATE_LEADS and request.tags[CHANGE_TAG] == "+1 lead ids, +1 rows"
    again = tick(defs, instance)
    assert [r.run_key for r in again.run_requests] == [request.run_key], "same change, same run key: one run"

    # What the daemon would launch, as `dagster sensor preview` shows it (a subprocess, the plain CLI). Its
    # clock is the real one: a window as long as the look-back reaches back to DAY.
    reach = str((dt.datetime.now(dt.UTC).date() - DAY).days + 1)
    preview = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagster",
            "sensor",
            "preview",
            "-m",
            "etl_platform.definitions",
            late_leads.SENSOR_NAME,
        ],
        env=os.environ | {"LATE_LEADS_LOOKBACK_DAYS": reach, "LEAD_LOOKBACK_DAYS": reach},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert preview.returncode == 0, preview.stderr[-2000:]
    # The preview prints how many runs it would request (the window reaches every day of this session, so
    # other tests' days may be among them) and the sensor's log names each requested day.
    assert "Sensor returning run requests for" in preview.stdout, preview.stdout[-2000:]
    assert f"late leads: {DAY.isoformat()} changed since it was materialized" in preview.stderr
    assert f"late leads: {NEIGHBOUR.isoformat()} changed" not in preview.stderr

    before = rows_of(warehouse, DAY)
    first_contacts = stage_meta(first[DAY], "lead_contacts")
    sandbox.idicore_counters.reset()
    rerun = defs.resolve_job_def(DAILY_JOB).execute_in_process(
        partition_key=request.partition_key, instance=instance, tags=request.tags
    )
    assert rerun.success
    raw = stage_meta(rerun, "raw_leads")
    assert raw["late_leads"] == 1
    assert raw["leads_seen_lead_ids"] == stage_meta(first[DAY], "raw_leads")["leads_seen_lead_ids"] + 1
    assert stage_meta(rerun, "new_leads")["rows_out"] == stage_meta(first[DAY], "new_leads")["rows_out"] + 1

    after = rows_of(warehouse, DAY)
    delivered = {lead for lead, _ in after}
    assert late_lead["LEAD_ID"] in delivered, "the rerun delivers the late lead"
    assert {k: v for k, v in after.items() if k[0] != late_lead["LEAD_ID"]} == before, "the day's other rows"
    # No second billing for the others: the people found the first time come from the cache; only the late
    # lead and the people idiCORE did not find (never cached) are searched.
    contacts = stage_meta(rerun, "lead_contacts")
    misses = first_contacts["no_match"] + first_contacts["rejected"] + first_contacts["failed"]
    assert contacts["cache_hits"] == first_contacts["found"] > 0
    searches = sandbox.idicore_counters.snapshot()["counts"].get("searches", 0)
    assert searches == contacts["searches"] == misses + 1

    assert not tick(defs, instance).run_requests, "the rerun recorded what it saw: D is quiet again"
    trace = cli_in_process("trace", rerun.run_id)
    assert "1 late lead" in trace.stdout, trace.stdout


def test_an_unreadable_warehouse_is_one_line_in_the_tick_not_a_traceback(
    sandbox, defs, instance, registry_loaded, monkeypatch
):
    """The sensor reads the environment at each tick, as a run would: a warehouse nobody answers on, and a
    variable missing from the daemon's environment, are each one SkipReason line without a secret."""
    from etl_platform.sandbox.runner import free_port

    monkeypatch.setattr(late_leads, "utcnow", lambda: NOW)
    sandbox.seed_leads([DAY], per_day=PER_DAY)
    if not late_leads.seen_views(instance, [DAY]):
        assert run_partition(defs, instance, DAY).success
    password = os.environ["SNOWFLAKE_PASSWORD"]

    monkeypatch.setenv("SNOWFLAKE_PORT", str(free_port()))  # nothing listens there
    down = tick(defs, instance)
    monkeypatch.setenv("SNOWFLAKE_PORT", sandbox.env["SNOWFLAKE_PORT"])
    monkeypatch.delenv("SNOWFLAKE_ACCOUNT")
    unset = tick(defs, instance)
    for data in (down, unset):
        assert not data.run_requests
        assert data.skip_message.startswith("cannot read LEADS, nothing compared this tick: "), data.skip_message
        assert "\n" not in data.skip_message and "Traceback" not in data.skip_message
        assert password not in data.skip_message
    assert "SNOWFLAKE_ACCOUNT not set" in unset.skip_message


def test_health_names_a_changed_day_beyond_the_sensors_window(
    sandbox, defs, instance, registry_loaded, insert_late, monkeypatch
):
    from etl_platform.cli.health import UP, WARN, probe_late_leads

    monkeypatch.setattr(late_leads, "utcnow", lambda: NOW)
    sandbox.seed_leads([OLD_DAY], per_day=PER_DAY)
    assert run_partition(defs, instance, OLD_DAY).success
    status, detail = probe_late_leads(dict(os.environ), today=NOW.date())
    # Not named while unchanged. Other test files of the worker may leave changed days in the look-back (seen:
    # test_bad_rows' day), so the probe's status is only asserted for this day.
    assert OLD_DAY.isoformat() not in detail, detail
    assert status == UP or "changed in LEADS since materialized" in detail, detail

    insert_late(late_row(sandbox, OLD_DAY, dt.date(2026, 8, 4)))
    status, detail = probe_late_leads(dict(os.environ), today=NOW.date())
    assert status == WARN, detail
    assert f"{OLD_DAY.isoformat()} (+1 lead ids, +1 rows)" in detail
    assert "not requested automatically" in detail
    assert OLD_DAY.isoformat() not in [r.partition_key for r in tick(defs, instance).run_requests], (
        "beyond the window: the sensor leaves it to the data engineer"
    )


def test_a_late_lead_a_later_day_delivered_ends_up_delivered_once_by_its_earliest_day(
    sandbox, defs, instance, registry_loaded, warehouse, insert_late, monkeypatch
):
    """The late row carries a LEAD_ID the next day delivered (its first day then). The rerun of DAY delivers
    it, the sensor then asks for the next day, whose rerun drops it: delivered once, by the earliest day."""
    monkeypatch.setattr(late_leads, "utcnow", lambda: NOW)
    early, later = dt.date(2026, 5, 15), dt.date(2026, 5, 16)  # inside the window, no other test's days
    sandbox.seed_leads([early, later], per_day=PER_DAY)
    for day in (early, later):
        assert run_partition(defs, instance, day).success
    delivered_later = {r["LEAD_ID"] for r in results_for(warehouse, later)}
    lead = sorted(x for x in delivered_later if x.startswith(f"L{later:%Y%m%d}"))[0]  # later's own lead
    row = next(r for r in sandbox.world.leads_for_day(later, PER_DAY) if r["LEAD_ID"] == lead)
    insert_late(row | {"CREATED_AT": dt.datetime.combine(early, dt.time(9))})

    ours = (early.isoformat(), later.isoformat())  # the window also holds the other tests' days
    first = [r for r in tick(defs, instance).run_requests if r.partition_key in ours]
    assert [r.partition_key for r in first] == [early.isoformat()], "the day whose rows changed"
    assert run_partition(defs, instance, early).success
    assert lead in {r["LEAD_ID"] for r in results_for(warehouse, early)}

    second = [r for r in tick(defs, instance).run_requests if r.partition_key in ours]
    assert [r.partition_key for r in second] == [later.isoformat()], "the later day still holds the lead"
    assert second[0].tags[CHANGE_TAG] == "1 lead(s) delivered earlier"
    assert run_partition(defs, instance, later).success
    assert lead not in {r["LEAD_ID"] for r in results_for(warehouse, later)}, "delivered once"
    assert {r["LEAD_ID"] for r in results_for(warehouse, later)} == delivered_later - {lead}
    left = [r for r in tick(defs, instance).run_requests if r.partition_key in ours]
    assert not left, "both days quiet"
    count = "SELECT COUNT(*) AS N FROM LEADS WHERE LEAD_ID = ?"
    assert fetch(warehouse, count, [lead])[0]["N"] == 2, "the original row and its late copy"
