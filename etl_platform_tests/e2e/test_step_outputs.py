"""Phones at rest: the frames the steps hand each other are owner-only while a partition is in flight and
are deleted once its results are committed; nothing shows their paths."""

from __future__ import annotations

import datetime as dt
import stat

import dagster as dg

from etl_platform.defs.step_outputs import step_outputs_dir
from etl_platform_tests.helpers import run_partition

PII_DAY = dt.date(2026, 4, 20)


def stored(instance, day) -> list:
    return sorted(step_outputs_dir(instance).glob(f"*/{day.isoformat()}.pickle"))


def test_frames_are_owner_only_in_flight_and_gone_once_committed(sandbox, defs, instance, registry_loaded):
    sandbox.seed_leads([PII_DAY], per_day=30)
    sandbox.ccc.update(faults={"503": 1.0})  # the day stops at the CCC scrub: nothing committed
    failed = run_partition(defs, instance, PII_DAY, raise_on_error=False)
    assert not failed.success
    files = stored(instance, PII_DAY)
    assert {f.parent.name for f in files} >= {"raw_leads", "new_leads", "lead_contacts"}
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700, path.parent
    assert stat.S_IMODE(step_outputs_dir(instance).stat().st_mode) == 0o700

    sandbox.ccc.update(faults={})
    result = run_partition(defs, instance, PII_DAY)
    assert result.success
    assert stored(instance, PII_DAY) == [], "committed: the frames with unmasked phones are deleted"
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            metadata = event.event_specific_data.materialization.metadata
            assert "path" not in metadata and not any("step_outputs" in str(v) for v in metadata.values())
