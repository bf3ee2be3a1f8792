"""Reads what Dagster recorded about a run (the Postgres instance) and prints it stage by stage."""

from __future__ import annotations

from dataclasses import dataclass, field

import dagster as dg
from dagster._core.storage.dagster_run import RunRecord

from etl_platform.stages import STAGE_NAMES

PIPELINE_ORDER = ["raw_leads", "new_leads", "lead_contacts", "litigator_scrub", "dnc_scrub", "lead_results"]
HEADLINE = {
    "raw_leads": ["rows_out"],
    "new_leads": ["rows_in", "already_delivered", "duplicates", "dead_lettered", "rows_out"],
    "lead_contacts": [
        "leads_in",
        "searches",
        "cache_hits",
        "dead_lettered",
        "phones",
        "idicore_retries",
        "idicore_http_429",
    ],
    "litigator_scrub": ["phones", "status_litigator", "status_clear", "status_unknown", "ccc_calls"],
    "dnc_scrub": ["phones", "status_listed", "status_clear", "status_unknown"],
    "lead_results": ["rows_out", "leads", "callable", "blocked"],
    "dnc_registry": ["numbers", "area_codes", "rebuilt"],
}


@dataclass
class StageView:
    asset: str
    status: str = "not reached"
    seconds: float | None = None
    metadata: dict[str, object] = field(default_factory=dict)


def _value(entry: object) -> object:
    return getattr(entry, "value", entry)


def find_run(instance: dg.DagsterInstance, run_id: str | None) -> RunRecord:
    if run_id is None:
        records = instance.get_run_records(limit=1)
        if not records:
            raise SystemExit("no runs recorded in this Dagster instance")
        return records[0]
    records = [r for r in instance.get_run_records(limit=500) if r.dagster_run.run_id.startswith(run_id)]
    if len(records) != 1:
        raise SystemExit(f"{len(records)} runs match {run_id!r}; give a unique prefix")
    return records[0]


def stage_views(instance: dg.DagsterInstance, run_id: str) -> dict[str, StageView]:
    views: dict[str, StageView] = {}
    for stats in instance.get_run_step_stats(run_id):
        views[stats.step_key] = StageView(
            stats.step_key,
            status=stats.status.value.lower() if stats.status else "running",
            seconds=(stats.end_time - stats.start_time) if stats.end_time and stats.start_time else None,
        )
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        mat = entry.asset_materialization
        key = mat.asset_key.to_user_string()
        view = views.setdefault(key, StageView(key))
        view.metadata = {k: _value(v) for k, v in mat.metadata.items()}
    return views


def print_run_report(instance: dg.DagsterInstance, run_id: str | None = None) -> int:
    record = find_run(instance, run_id)
    run = record.dagster_run
    views = stage_views(instance, run.run_id)
    wall = (record.end_time - record.start_time) if record.end_time and record.start_time else None
    partition = run.tags.get("dagster/partition", "-")
    print(f"Run {run.run_id} [{run.status.value}] partition {partition}" + (f", {wall:.2f} s wall" if wall else ""))
    print(f"  {'stage':<18} {'asset':<16} {'status':<12} {'seconds':>8}  figures")
    ordered = [k for k in PIPELINE_ORDER if k in views] + [k for k in views if k not in PIPELINE_ORDER]
    for key in ordered:
        view = views[key]
        seconds = view.metadata.get("stage_seconds", view.seconds)
        figures = ", ".join(f"{name}={view.metadata[name]}" for name in HEADLINE.get(key, []) if name in view.metadata)
        shown = f"{seconds:8.2f}" if isinstance(seconds, int | float) else f"{'-':>8}"
        print(f"  {STAGE_NAMES.get(key, key):<18} {key:<16} {view.status:<12} {shown}  {figures}")
    return 0 if run.status == dg.DagsterRunStatus.SUCCESS else 1
