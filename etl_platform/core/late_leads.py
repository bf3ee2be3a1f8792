"""Late leads (DESIGN.md "Leads arrive late"): a loader that runs late inserts day D's rows into LEADS after D
was materialized. Such a lead still belongs to D, so D must run again.

What a day's materialization saw is a `DayView` of its rows in LEADS: the row count, the distinct LEAD_IDs
and an order-free digest of the LEAD_IDs, all computed in the warehouse by `sql/lead_day_digests.sql` (the
same statement for raw_leads' one day and for the sensor's window, so the two always agree). raw_leads
records it in its metadata; the sensor (`defs/leads/sensors.py`) and `etl-platform health` compare it with
what LEADS holds now. Pure logic here: no I/O, no Dagster.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from etl_platform.core.leads import day_bounds

# Metadata keys on raw_leads' materialization: what the day's extract saw in LEADS.
SEEN_ROWS = "leads_seen_rows"
SEEN_LEAD_IDS = "leads_seen_lead_ids"
SEEN_DIGEST = "leads_seen_digest"
LATE_LEADS = "late_leads"
# Tags on the runs the sensor requests (the trace and the UI show why the day ran again).
TRIGGER_TAG = "etl_platform/trigger"
TRIGGER_LATE_LEADS = "late_leads"
CHANGE_TAG = "etl_platform/late_leads_change"


@dataclass(frozen=True)
class DayView:
    """A day's rows in LEADS as one summary. `digest` is text: the warehouse's 64-bit value may be unsigned
    (DuckDB) or signed (Snowflake), and Dagster's int metadata is not meant for such numbers."""

    rows: int
    lead_ids: int
    digest: str

    @classmethod
    def empty(cls) -> DayView:
        """A day with no row in LEADS (the query returns no group for it)."""
        return cls(0, 0, "0")

    @classmethod
    def from_row(cls, rows: object, lead_ids: object, digest: object) -> DayView:
        # A day of rows without LEAD_ID still has a digest (HASH(NULL) is a value); an aggregate over no
        # input may be NULL on one engine and 0 on another: both mean "nothing", written as "0".
        return cls(int(rows or 0), int(lead_ids or 0), "0" if digest is None else str(int(digest)))

    def as_metadata(self) -> dict[str, object]:
        return {SEEN_ROWS: self.rows, SEEN_LEAD_IDS: self.lead_ids, SEEN_DIGEST: self.digest}

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, object]) -> DayView | None:
        """The view a materialization recorded; None when it recorded none (materialized before this
        existed): what it saw is unknown."""
        if not all(k in metadata for k in (SEEN_ROWS, SEEN_LEAD_IDS, SEEN_DIGEST)):
            return None
        value = {k: getattr(metadata[k], "value", metadata[k]) for k in (SEEN_ROWS, SEEN_LEAD_IDS, SEEN_DIGEST)}
        return cls(int(value[SEEN_ROWS]), int(value[SEEN_LEAD_IDS]), str(value[SEEN_DIGEST]))


def late_leads(seen: DayView | None, now: DayView) -> int:
    """How many of the day's LEAD_IDs the previous materialization did not see. Exact when the loader only
    added rows (what a late loader does); a net count when rows were also removed. 0 on a first
    materialization, or when the previous one recorded no view."""
    if seen is None:
        return 0
    return max(0, now.lead_ids - seen.lead_ids)


def describe_change(seen: DayView, now: DayView) -> str:
    """One line for the run's tag and the sensor's log: what changed (counts only, never a LEAD_ID)."""
    parts = []
    if now.lead_ids != seen.lead_ids:
        parts.append(f"{now.lead_ids - seen.lead_ids:+d} lead ids")
    if now.rows != seen.rows:
        parts.append(f"{now.rows - seen.rows:+d} rows")
    if not parts:
        parts.append("same counts, other lead ids")
    return ", ".join(parts)


@dataclass(frozen=True)
class Comparison:
    changed: dict[dt.date, tuple[DayView, DayView]]  # day -> (what it saw, what LEADS holds now)
    unchanged: list[dt.date]
    unknown: list[dt.date]  # materialized without a recorded view: cannot tell


def compare(seen: Mapping[dt.date, DayView | None], now: Mapping[dt.date, DayView]) -> Comparison:
    """Each materialized day (`seen`: its latest materialization's view, None when it recorded none) against
    LEADS now (`now`: the days the query returned; a day missing there has no rows). A day that was never
    materialized is not in `seen`: nothing was delivered for it, so nothing is late (the schedule or a
    backfill runs it)."""
    changed: dict[dt.date, tuple[DayView, DayView]] = {}
    unchanged: list[dt.date] = []
    unknown: list[dt.date] = []
    for day in sorted(seen):
        view = seen[day]
        current = now.get(day, DayView.empty())
        if view is None:
            unknown.append(day)
        elif view != current:
            changed[day] = (view, current)
        else:
            unchanged.append(day)
    return Comparison(changed, unchanged, unknown)


def window(today: dt.date, days: int, first_day: dt.date) -> list[dt.date]:
    """The `days` whole days before `today`, oldest first, none before the first partition. Today itself
    is left out: its partition is not due yet (the schedule runs yesterday's)."""
    start = max(today - dt.timedelta(days=days), first_day)
    return [start + dt.timedelta(days=n) for n in range((today - start).days)]


def run_key(day: dt.date, now: DayView) -> str:
    """One run per (day, state of its rows): however often the sensor ticks, a change is requested once; a
    further change to the same day is a new key."""
    return f"late-leads-{day.isoformat()}-{now.rows}-{now.lead_ids}-{now.digest}"


def bounds(days: Iterable[dt.date]) -> list[dt.datetime]:
    """[start of the first day, end of the last day) as UTC instants: `leads.day_bounds` of a span of days, so
    the digests cut the days exactly where the extract does."""
    days = sorted(days)
    return [day_bounds(days[0])[0], day_bounds(days[-1])[1]]


def views_by_day(rows: Iterable[tuple]) -> dict[dt.date, DayView]:
    """The lines of `sql/lead_day_digests.sql` (DAY, ROWS_SEEN, LEAD_IDS, LEAD_DIGEST) by day."""
    out = {}
    for day, rows_seen, lead_ids, digest in rows:
        day = day.date() if isinstance(day, dt.datetime) else day
        out[day] = DayView.from_row(rows_seen, lead_ids, digest)
    return out


def twice_run_key(day: dt.date, leads: int, now: DayView) -> str:
    """The rerun of a day that still holds `leads` an earlier day now delivers too (after that day's late
    leads were delivered): once per such state."""
    return f"late-leads-twice-{day.isoformat()}-{leads}-{now.rows}-{now.digest}"
