"""A vendor that enforces its rate limit with a strict sliding one-second window, at the default settings
(client rate = the vendor's limit): a 200-lead day completes, 429s are counted in the metadata, and the
breaker never opens (a 429 asks us to slow down; it is not an outage)."""

from __future__ import annotations

import datetime as dt
import os

from etl_platform.core.settings import Settings
from etl_platform.definitions import build_definitions
from etl_platform_tests.helpers import run_partition, stage_meta

RATE_DAY = dt.date(2026, 4, 6)


def test_a_200_lead_day_at_the_vendors_limit_completes_without_opening_the_breaker(
    sandbox, settings, instance, registry_loaded
):
    settings = settings.model_copy(update={"idicore_rate_limit": Settings().idicore_rate_limit})  # the default
    defs = build_definitions(settings, dict(os.environ))
    sandbox.seed_leads([RATE_DAY], per_day=200)
    with sandbox.connect() as conn:
        conn.cursor().execute("DROP TABLE IF EXISTS ENRICHMENT_CACHE")  # every person searched
    sandbox.idicore.update(rate_limit=settings.idicore_rate_limit, rate_mode="window", latency_ms=100)
    result = run_partition(defs, instance, RATE_DAY)
    assert result.success
    meta = stage_meta(result, "lead_contacts")
    assert meta["searches"] >= 180 and meta["failed"] == 0
    assert meta["idicore_breaker_openings"] == 0
    assert "idicore_http_429" in meta and meta["idicore_http_429"] == sandbox.idicore_counters.snapshot()["counts"].get(
        "rate_limited", 0
    )
    assert meta["idicore_peak_per_second"] <= settings.idicore_rate_limit + 1
    assert sandbox.idicore.as_dict()["peak_per_second"] <= settings.idicore_rate_limit
