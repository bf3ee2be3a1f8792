"""`etl-platform dead-letters list|replay`: show a partition's dead letters, and re-process them once the
cause is fixed without duplicating results."""

from __future__ import annotations

import datetime as dt

from etl_platform_tests.helpers import cli_in_process, dead_letters_for, results_for, run_partition

REPLAY_DAY = dt.date(2026, 3, 18)


def test_list_and_replay_after_the_vendor_recovers(sandbox, defs, instance, registry_loaded, warehouse, tmp_path):
    sandbox.seed_leads([REPLAY_DAY], per_day=50)
    sandbox.idicore.update(faults={"too_many_matches": 0.3})
    assert run_partition(defs, instance, REPLAY_DAY).success
    sandbox.idicore.update(faults={})
    refused = {r["LEAD_ID"] for r in dead_letters_for(warehouse, REPLAY_DAY) if r["STAGE"] == "idicore"}
    assert len(refused) > 4

    listed = cli_in_process("dead-letters", "list", "--partition", REPLAY_DAY.isoformat())
    assert listed.returncode == 0, listed.stderr
    assert "idicore_TooManyMatches" in listed.stdout and all(i in listed.stdout for i in refused)

    searches_before = sandbox.idicore_counters.snapshot()["counts"].get("searches", 0)
    # in process; the partition itself is materialized by the plain `dagster` CLI in a subprocess
    replay = cli_in_process("dead-letters", "replay", "--partition", REPLAY_DAY.isoformat())
    assert replay.returncode == 0, replay.stdout[-2000:] + replay.stderr[-2000:]
    assert "replayed" in replay.stdout

    letters = dead_letters_for(warehouse, REPLAY_DAY)
    rows = results_for(warehouse, REPLAY_DAY)
    recovered = refused - {r["LEAD_ID"] for r in letters}
    assert recovered, "leads refused only by the (now fixed) fault are delivered on replay"
    assert recovered <= {r["LEAD_ID"] for r in rows}
    keys = [(r["LEAD_ID"], r["PHONE"]) for r in rows]
    assert len(keys) == len(set(keys)), "no duplicated results"
    assert not {r["LEAD_ID"] for r in rows} & {r["LEAD_ID"] for r in letters}
    searches = sandbox.idicore_counters.snapshot()["counts"].get("searches", 0) - searches_before
    assert searches < 50, "leads found before came from the enrichment cache, not new billed searches"
