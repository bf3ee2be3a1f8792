"""The late-leads comparison (core/late_leads.py): which materialized days changed in LEADS, how many late
leads a rerun finds, the sensor's window and run keys."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from etl_platform.core import late_leads as ll

D1, D2, D3, D4 = (dt.date(2026, 5, n) for n in (10, 11, 12, 13))
SEEN = ll.DayView(rows=100, lead_ids=98, digest="123")


def test_only_materialized_days_whose_rows_changed_are_changed():
    added = ll.DayView(101, 99, "456")
    result = ll.compare(
        seen={D1: SEEN, D2: SEEN, D3: None},  # D3 materialized before views were recorded; D4 never materialized
        now={D1: SEEN, D2: added, D3: SEEN, D4: SEEN},
    )
    assert result.changed == {D2: (SEEN, added)}
    assert result.unchanged == [D1]
    assert result.unknown == [D3]
    assert D4 not in result.changed, "a day never materialized delivered nothing: nothing of it is late"


def test_a_day_whose_rows_all_went_is_changed_and_an_empty_day_that_stays_empty_is_not():
    result = ll.compare(seen={D1: SEEN, D2: ll.DayView.empty()}, now={})
    assert list(result.changed) == [D1] and result.changed[D1][1] == ll.DayView.empty()
    assert result.unchanged == [D2]


def test_a_swapped_lead_with_the_same_counts_is_a_change_by_its_digest():
    swapped = ll.DayView(SEEN.rows, SEEN.lead_ids, "999")
    assert list(ll.compare({D1: SEEN}, {D1: swapped}).changed) == [D1]
    assert ll.describe_change(SEEN, swapped) == "same counts, other lead ids"


def test_late_leads_counts_the_lead_ids_the_previous_materialization_did_not_see():
    assert ll.late_leads(SEEN, ll.DayView(103, 101, "7")) == 3
    assert ll.late_leads(None, ll.DayView(103, 101, "7")) == 0, "a first materialization has no late leads"
    assert ll.late_leads(SEEN, ll.DayView(90, 90, "7")) == 0, "rows removed: none late"
    assert ll.describe_change(SEEN, ll.DayView(103, 101, "7")) == "+3 lead ids, +3 rows"


def test_a_view_survives_the_materialization_metadata_and_an_old_one_is_unknown():
    view = ll.DayView.from_row(12, 11, 18446744073709551615)  # DuckDB's HASH is unsigned 64-bit
    metadata = {
        k: dg.MetadataValue.text(v) if isinstance(v, str) else dg.MetadataValue.int(v)
        for k, v in view.as_metadata().items()
    }
    assert ll.DayView.from_metadata(metadata) == view
    assert ll.DayView.from_metadata(view.as_metadata()) == view
    assert ll.DayView.from_metadata({"rows_out": 5}) is None
    assert ll.DayView.from_row(None, None, None) == ll.DayView.empty()


def test_the_window_is_the_whole_days_before_today_from_the_first_partition():
    today = dt.date(2026, 5, 14)
    assert ll.window(today, 3, dt.date(2026, 1, 1)) == [D2, D3, D4]
    assert ll.window(today, 30, D3) == [D3, D4], "no day before the first partition"
    assert ll.window(D1, 7, D1) == []
    assert ll.bounds([D3, D2]) == [dt.datetime(2026, 5, 11, tzinfo=dt.UTC), dt.datetime(2026, 5, 13, tzinfo=dt.UTC)]


def test_a_run_key_per_day_and_state_of_its_rows():
    first, second = ll.DayView(101, 99, "1"), ll.DayView(102, 100, "2")
    assert ll.run_key(D1, first) == ll.run_key(D1, ll.DayView(101, 99, "1")), "same change, one run"
    assert ll.run_key(D1, first) != ll.run_key(D1, second), "a further change, a further run"
    assert ll.run_key(D1, first) != ll.run_key(D2, first)


def test_the_lines_of_the_digest_query_by_day():
    rows = [(D1, 3, 2, -5), (dt.datetime(2026, 5, 11), 1, 1, None)]
    assert ll.views_by_day(rows) == {D1: ll.DayView(3, 2, "-5"), D2: ll.DayView(1, 1, "0")}
