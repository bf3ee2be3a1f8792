"""The evidence a compliance officer shows (TSR safe harbor): for every phone scrubbed, the DNC copy and file
that answered, when CCC answered, the verdict and the run, kept append-only in SCRUB_EVIDENCE while reruns
replace LEAD_RESULTS; `etl-platform evidence --phone N` prints one number's history."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from etl_platform.adapters.dnc_store import DncStore
from etl_platform.core.phones import mask
from etl_platform_tests.helpers import cli_in_process, fetch, results_for, run_partition

EVIDENCE_DAY = dt.date(2026, 4, 21)


def evidence_of(cur, day: dt.date) -> list[dict]:
    return fetch(
        cur, "SELECT * FROM SCRUB_EVIDENCE WHERE PARTITION_DATE = ? ORDER BY RECORDED_AT, LEAD_ID, PHONE", [day]
    )


def test_every_verdict_keeps_its_evidence_and_reruns_only_add_to_it(
    sandbox, defs, instance, registry_loaded, warehouse
):
    sandbox.seed_leads([EVIDENCE_DAY], per_day=30)
    first = run_partition(defs, instance, EVIDENCE_DAY)
    results = [r for r in results_for(warehouse, EVIDENCE_DAY) if r["PHONE"] is not None]
    evidence = evidence_of(warehouse, EVIDENCE_DAY)
    assert results and len(evidence) == len(results)
    by_pair = {(e["LEAD_ID"], e["PHONE"]): e for e in evidence}
    registry_files = {c.area_code: c for c in DncStore(Path(sandbox.env["DNC_REGISTRY_PATH"])).coverage()}
    for row in results:
        proof = by_pair[(row["LEAD_ID"], row["PHONE"])]
        assert proof["RUN_ID"] == first.run_id == row["RUN_ID"]
        assert (proof["CALLABLE"], proof["LITIGATOR_STATUS"], proof["DNC_STATUS"]) == (
            row["CALLABLE"],
            row["LITIGATOR_STATUS"],
            row["DNC_STATUS"],
        )
        if proof["LITIGATOR_STATUS"] in ("clear", "litigator"):
            assert proof["CCC_ANSWERED_AT"] is not None, "a CCC verdict without the time CCC gave it"
        copy = registry_files.get(row["PHONE"][:3])
        if proof["DNC_STATUS"] in ("clear", "listed"):
            assert copy is not None
            assert (proof["DNC_AREA_CODE"], proof["DNC_COPY_DATE"], proof["DNC_SOURCE_FILE"]) == (
                copy.area_code,
                copy.copy_date,
                copy.source_file,
            )
        if proof["CALLABLE"]:  # the safe harbor: a callable phone was scrubbed against a copy <= 31 days old
            assert (proof["RECORDED_AT"].date() - proof["DNC_COPY_DATE"]).days <= 31

    second = run_partition(defs, instance, EVIDENCE_DAY)
    assert len([r for r in results_for(warehouse, EVIDENCE_DAY) if r["PHONE"]]) == len(results), "replaced, not added"
    after = evidence_of(warehouse, EVIDENCE_DAY)
    assert len(after) == 2 * len(evidence), "the rerun appended its own evidence, the first run's stayed"
    assert {e["RUN_ID"] for e in after} == {first.run_id, second.run_id}

    sandbox.ccc.update(faults={"503": 1.0})  # a failed run records nothing
    assert not run_partition(defs, instance, EVIDENCE_DAY, raise_on_error=False).success
    assert len(evidence_of(warehouse, EVIDENCE_DAY)) == len(after)

    phone = results[0]["PHONE"]
    shown = cli_in_process("evidence", "--phone", f"({phone[:3]}) {phone[3:6]}-{phone[6:]}")
    assert shown.returncode == 0, shown.stderr
    assert f"for {phone}" in shown.stdout and first.run_id[:8] in shown.stdout and second.run_id[:8] in shown.stdout

    # Finding a number to look up: the day's leads with masked phones, then a lead's evidence, never the number
    listed = cli_in_process("evidence", "--partition", EVIDENCE_DAY.isoformat(), "--limit", "1000")
    assert listed.returncode == 0, listed.stderr
    lead = results[0]["LEAD_ID"]
    assert f"lead {lead} phone {results[0]['PHONE_RANK']} {mask(phone)}" in listed.stdout, listed.stdout[:2000]
    assert not any(r["PHONE"] in listed.stdout for r in results), "a phone nobody typed, printed in full"
    by_lead = cli_in_process("evidence", "--lead", lead)
    assert by_lead.returncode == 0, by_lead.stderr
    assert f"phone {mask(phone)}" in by_lead.stdout and second.run_id[:8] in by_lead.stdout
    assert phone not in by_lead.stdout


def test_evidence_refuses_a_number_that_is_not_one():
    shown = cli_in_process("evidence", "--phone", "12345")
    assert shown.returncode != 0 and "not a valid US number" in shown.stderr


def test_evidence_without_a_known_phone_says_how_to_find_one(sandbox):
    for args in ([], ["--phone", "212-201-0000"]):  # no number; a number with no verdict
        shown = cli_in_process("evidence", *args)
        assert "etl-platform evidence --partition" in shown.stdout + shown.stderr, shown
        assert "FROM LEAD_RESULTS" in shown.stdout + shown.stderr
    assert cli_in_process("evidence").returncode != 0
