"""The enrichment cache: a person found within the TTL is not searched (billed) again; only successful
look-ups are cached; the hit rate is in the metadata. Searches are counted at the idiCORE sandbox."""

from __future__ import annotations

import datetime as dt
import os

import dagster as dg

from etl_platform.definitions import build_definitions
from etl_platform_tests.helpers import run_partition

CACHE_DAY = dt.date(2026, 3, 28)


def materialize(defs, instance) -> dg.ExecuteInProcessResult:
    return run_partition(defs, instance, CACHE_DAY)


def contacts_meta(result) -> dict:
    return {
        k: v.value
        for k, v in result.asset_materializations_for_node("lead_contacts")[0].metadata.items()
        if hasattr(v, "value")
    }


def test_cache_hits_skip_billed_searches_within_the_ttl(sandbox, defs, settings, instance, registry_loaded):
    sandbox.seed_leads([CACHE_DAY], per_day=60)
    with sandbox.connect() as conn:
        conn.cursor().execute("DROP TABLE IF EXISTS ENRICHMENT_CACHE")
    sandbox.idicore_counters.reset()
    first = contacts_meta(materialize(defs, instance))
    first_searches = sandbox.idicore_counters.snapshot()["counts"]["searches"]
    assert first["cache_hits"] == 0 and first_searches == first["searches"] > 0

    sandbox.idicore_counters.reset()
    second = contacts_meta(materialize(defs, instance))
    billed = sandbox.idicore_counters.snapshot()["counts"].get("searches", 0)
    # Only people idiCORE did not find (or refused) are searched again: failures and misses are not cached.
    assert billed == second["searches"] == first["no_match"] + first["rejected"] + first["failed"]
    assert second["cache_hits"] == first["found"] > 0
    assert second["cache_hit_rate"] > 0.5

    sandbox.idicore_counters.reset()
    no_ttl = build_definitions(settings.model_copy(update={"enrichment_cache_ttl_days": 0}), dict(os.environ))
    expired = contacts_meta(materialize(no_ttl, instance))
    assert expired["cache_hits"] == 0
    assert sandbox.idicore_counters.snapshot()["counts"]["searches"] == first_searches
