"""Stage metadata, baseline checks, `trace` and `analyze`, against real runs recorded in Postgres."""

from __future__ import annotations

import datetime as dt
import json
import os

import dagster as dg
import pandas as pd
import pytest
import yaml

from etl_platform.analyze import analyze, plot
from etl_platform.baselines import load_baselines
from etl_platform.checks import COMPLIANCE_CHECK, DURATION_CHECK, HISTORY_CHECK, results_data_checks
from etl_platform.environment import PROJECT_ROOT
from etl_platform.observe import find_run, issues_of, load_trace
from etl_platform.trace import render
from etl_platform_tests.helpers import cli, run_partition

OBS_DAY = dt.date(2026, 3, 12)


@pytest.fixture(scope="module")
def obs_day(sandbox, registry_loaded):
    sandbox.seed_leads([OBS_DAY], per_day=60)
    return OBS_DAY


@pytest.fixture
def baselines_file(tmp_path):
    """Write a baselines file and point ETL_BASELINES_PATH at it for the test."""

    def write(**overrides) -> str:
        raw = yaml.safe_load((PROJECT_ROOT / "baselines.yaml").read_text())
        for asset, spec in overrides.items():
            raw["stages"][asset].update(spec)
        path = tmp_path / "baselines.yaml"
        path.write_text(yaml.safe_dump(raw))
        os.environ["ETL_BASELINES_PATH"] = str(path)
        return str(path)

    yield write
    os.environ.pop("ETL_BASELINES_PATH", None)


def checks_of(result, asset: str) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations() if e.asset_key == dg.AssetKey(asset)}


def clear_cache(sandbox):
    with sandbox.connect() as conn:
        conn.cursor().execute("DELETE FROM ENRICHMENT_CACHE")


def test_successful_run_trace_and_checks(obs_day, defs, instance):
    result = run_partition(defs, instance, obs_day)
    assert result.success
    for asset in ("raw_leads", "new_leads", "lead_contacts", "litigator_scrub", "dnc_scrub", "lead_results"):
        evaluation = checks_of(result, asset)[DURATION_CHECK]
        assert evaluation.passed, evaluation.description
        meta = result.asset_materializations_for_node(asset)[0].metadata
        assert isinstance(meta["stage_seconds"].value, float)
    data = checks_of(result, "lead_results")
    for name in (
        COMPLIANCE_CHECK,
        "every_lead_accounted_for",
        "every_phone_scrubbed_twice",
        "no_duplicate_lead_phone",
        "phones_are_valid_nanp",
        "rows_written_match",
    ):
        assert data[name].passed, name

    trace = load_trace(instance, find_run(instance, result.run_id[:8]))
    text = render(trace)
    assert trace.status == "SUCCESS" and [s.status for s in trace.stages] == ["OK"] * 6
    for line in (
        "[OK] Snowflake Query - Retrieved",
        "[OK] Pre-filtering - Filtered to",
        "[OK] idiCORE Enrichment - Processed",
        "[OK] CCC Litigator Check -",
        "[OK] DNC Check -",
        "[OK] Results Upload -",
        "[OK] Job Complete - Success",
        "<- bottleneck",
    ):
        assert line in text, line
    raw = trace.stage("raw_leads").metadata["rows_out"]
    assert f"Retrieved {raw} records" in text
    assert "Issues Found:\n  None" in text


def test_slow_stage_warns_and_is_named_the_bottleneck(obs_day, defs, instance, sandbox, baselines_file):
    for _ in range(3):  # history for the learned baseline: fast idiCORE runs
        clear_cache(sandbox)
        assert run_partition(defs, instance, obs_day).success
    baselines_file(lead_contacts={"typical": [0, 0.5], "concern": 100})
    clear_cache(sandbox)
    sandbox.idicore.update(latency_ms=400)
    result = run_partition(defs, instance, obs_day)
    assert result.success
    checks = checks_of(result, "lead_contacts")
    assert not checks[DURATION_CHECK].passed
    assert checks[DURATION_CHECK].severity == dg.AssetCheckSeverity.WARN
    assert not checks[HISTORY_CHECK].passed, checks[HISTORY_CHECK].description

    trace = load_trace(instance, find_run(instance, result.run_id))
    assert trace.bottleneck.asset == "lead_contacts"
    text = render(trace)
    assert "idiCORE" in text.split("<- bottleneck")[0].splitlines()[-1]
    assert any("stage_duration_vs_baseline" in i and "[WARN]" in i for i in issues_of(trace))

    analysis, _ = analyze(instance, run=result.run_id)
    assert analysis.bottleneck == "idiCORE" and analysis.bottleneck_share_percent > 40
    assert next(s for s in analysis.stages if s.asset == "lead_contacts").status == "SLOW"
    assert any("idiCORE is SLOW" in r for r in analysis.recommendations)
    assert any("its own median" in r for r in analysis.recommendations)
    assert 1 <= analysis.configuration["idicore_concurrency_used"] <= analysis.configuration["idicore_concurrency"]


def test_stage_above_concern_threshold_fails_its_check_with_error(obs_day, defs, instance, sandbox, baselines_file):
    baselines_file(litigator_scrub={"typical": [0, 0.05], "concern": 0.1})
    sandbox.ccc.update(latency_ms=300)
    result = run_partition(defs, instance, obs_day)
    evaluation = checks_of(result, "litigator_scrub")[DURATION_CHECK]
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.metadata["status"].value == "CONCERN"


def test_failed_run_trace_names_the_failing_stage_and_error(obs_day, defs, instance, sandbox):
    clear_cache(sandbox)
    sandbox.idicore.update(faults={"503": 1.0})
    result = run_partition(defs, instance, obs_day, raise_on_error=False)
    assert not result.success
    trace = load_trace(instance, find_run(instance, result.run_id))
    statuses = {s.asset: s.status for s in trace.stages}
    assert statuses["raw_leads"] == statuses["new_leads"] == "OK"
    assert statuses["lead_contacts"] == "FAIL"
    assert all(statuses[a] in ("NOT_REACHED", "SKIPPED") for a in ("litigator_scrub", "dnc_scrub", "lead_results"))
    text = render(trace)
    assert "[FAIL] idiCORE Enrichment - idiCORE failed for" in text
    assert "[FAIL] Job Complete - Failure" in text
    assert any("breaker opened" in i for i in issues_of(trace))
    assert any("step retried" in i for i in issues_of(trace))


def test_queued_run_traces_as_not_reached(defs, instance):
    job = defs.resolve_job_def("daily_leads_job")
    from dagster._core.remote_origin import (
        InProcessCodeLocationOrigin,
        RemoteJobOrigin,
        RemoteRepositoryOrigin,
    )
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    # What the UI or a backfill submits: a run that waits in the queue for the daemon.
    location = InProcessCodeLocationOrigin(LoadableTargetOrigin(module_name="etl_platform.definitions"))
    origin = RemoteJobOrigin(RemoteRepositoryOrigin(location, "__repository__"), job.name)
    run = instance.create_run_for_job(
        job, status=dg.DagsterRunStatus.QUEUED, remote_job_origin=origin, tags={"dagster/partition": "2026-03-20"}
    )
    trace = load_trace(instance, find_run(instance, run.run_id))
    assert trace.status == "QUEUED"
    assert {s.status for s in trace.stages} == {"NOT_REACHED"} and len(trace.stages) == 6
    assert "[..] Job Queued" in render(trace)
    instance.delete_run(run.run_id)  # or a daemon started by a later test would launch it


def test_trace_and_analyze_commands_print_text_and_json(obs_day, defs, instance, tmp_path):
    result = run_partition(defs, instance, obs_day)
    out = cli("trace", result.run_id[:10], "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["run_id"] == result.run_id and data["bottleneck"]["share_percent"] > 0
    png = tmp_path / "stages.png"
    out = cli("analyze", "--last", "3", "--plot", str(png), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "Bottleneck:" in out.stdout and "Configuration check:" in out.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    missing = cli("trace", "ffffffff", cwd=tmp_path)
    assert missing.returncode == 2 and "0 runs match" in missing.stderr


def test_analyze_plot_has_one_bar_group_per_partition(obs_day, instance, tmp_path):
    analysis, traces = analyze(instance, last=2)
    assert len(analysis.per_partition) == len(traces) >= 1
    path = plot(analysis, tmp_path / "p.png")
    assert path.stat().st_size > 5000


# --- the checks and baselines as functions ---------------------------------------------------------------
def test_baseline_scales_with_volume_and_grades():
    idicore = load_baselines().stages["lead_contacts"]
    assert idicore.judge(15, {"searches": 200}).status == "OK"
    assert idicore.judge(25, {"searches": 200}).status == "SLOW"
    assert idicore.judge(25, {"searches": 400}).status == "OK"  # limits double with twice the volume
    assert idicore.judge(61, {"searches": 100}).status == "CONCERN"  # small volumes keep the base limits
    assert load_baselines().stages["raw_leads"].judge(31, {"rows_out": 10_000}).status == "CONCERN"


def test_learned_baseline_needs_history_and_flags_far_off():
    learned = load_baselines().learned
    assert learned.judge(100, [1, 1]) == (False, None)
    assert learned.judge(5, [1, 1.2, 0.9])[0] is True
    assert learned.judge(1.5, [1, 1.2, 0.9])[0] is False


def _results(**overrides) -> pd.DataFrame:
    row = {"LEAD_ID": "L1", "PHONE": "2012345678", "LITIGATOR_STATUS": "clear", "DNC_STATUS": "clear", "CALLABLE": True}
    return pd.DataFrame([row | overrides])


def _scrub(prefix: str, phones=("2012345678",)) -> pd.DataFrame:
    return pd.DataFrame({"PHONE": list(phones), f"{prefix}_STATUS": "clear", f"{prefix}_REASON": None})


@pytest.mark.parametrize(
    ("results", "failing"),
    [
        (_results(DNC_STATUS="unknown"), COMPLIANCE_CHECK),
        (_results(LITIGATOR_STATUS="litigator"), COMPLIANCE_CHECK),
        (pd.concat([_results(), _results()]), "no_duplicate_lead_phone"),
        (_results(PHONE="1234567890", CALLABLE=False), "phones_are_valid_nanp"),
        (_results(LEAD_ID="L2"), "every_lead_accounted_for"),
        (_results(PHONE="2019999999", CALLABLE=False), "every_phone_scrubbed_twice"),
    ],
)
def test_each_data_check_can_fail(results, failing):
    contacts = pd.DataFrame({"LEAD_ID": ["L1"]})
    scrubbed = ["2012345678"] if failing == "every_phone_scrubbed_twice" else results["PHONE"].tolist()
    outcome = results_data_checks(results, contacts, _scrub("LITIGATOR", scrubbed), _scrub("DNC", scrubbed), set())
    assert outcome[failing][0] is False
    assert all(passed for name, (passed, _) in outcome.items() if name != failing)
