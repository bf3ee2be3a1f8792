"""The data behind `analyze --plot`: a failed run and an empty day are marked, so their bars cannot be read
as a slow day or as nothing to see (the figure itself is drawn in the e2e tier)."""

from __future__ import annotations

from etl_platform.cli.analyze import Analysis, marks, plot_rows
from etl_platform.cli.observe import RunTrace, StageTrace


def _trace(status: str, leads: int | None) -> RunTrace:
    raw = StageTrace("raw_leads", "Snowflake Query", status="OK", metadata={} if leads is None else {"rows_out": leads})
    return RunTrace("r", "daily_leads_job", status, "2026-11-20", None, None, None, 1.0, [raw])


def test_marks_say_failed_and_empty():
    assert marks(_trace("SUCCESS", 200)) == {"leads": 200, "failed": False, "empty": False}
    assert marks(_trace("SUCCESS", 0)) == {"leads": 0, "failed": False, "empty": True}
    assert marks(_trace("FAILURE", 200)) == {"leads": 200, "failed": True, "empty": False}
    assert marks(_trace("CANCELED", None)) == {"leads": None, "failed": True, "empty": False}  # not extracted


def test_plot_rows_are_oldest_first_with_the_words_over_marked_bars():
    rows = [
        {"partition": "2026-11-21", "status": "SUCCESS", "failed": False, "empty": True, "lead_contacts": 0.1},
        {"partition": "2026-11-19", "status": "FAILURE", "failed": True, "empty": False, "lead_contacts": 114.0},
        {"partition": "2026-11-20", "status": "SUCCESS", "failed": False, "empty": False, "lead_contacts": 12.0},
        {"partition": "2026-11-22", "status": "CANCELED", "failed": True, "empty": True, "lead_contacts": 0.1},
    ]
    analysis = Analysis([], [], [], None, None, None, [], {}, per_partition=rows)
    got = plot_rows(analysis)
    assert [r["partition"] for r in got] == ["2026-11-19", "2026-11-20", "2026-11-21", "2026-11-22"]
    assert [r["note"] for r in got] == ["failed", None, "0 leads", "canceled\n0 leads"]
    assert got[0]["lead_contacts"] == 114.0  # the seconds stay as recorded: the mark says what they were
