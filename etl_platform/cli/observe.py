"""What Dagster recorded about a run, read back from the instance (Postgres): per-stage status, seconds,
figures, checks, retries and errors. `trace` and `analyze` render this; nothing here greps logs."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import asdict, dataclass, field

import dagster as dg

from etl_platform.adapters.baselines_file import load_baselines
from etl_platform.core.baselines import Baselines
from etl_platform.core.late_leads import LATE_LEADS
from etl_platform.core.settings import Settings
from etl_platform.core.stages import PIPELINE_ORDER, RAW_LEADS, STAGES


@dataclass
class CheckOutcome:
    asset: str
    name: str
    passed: bool
    severity: str
    description: str | None
    metadata: dict


@dataclass
class StageTrace:
    asset: str
    name: str
    status: str = "NOT_REACHED"  # OK | FAIL | RUNNING | NOT_REACHED | SKIPPED
    seconds: float | None = None
    attempts: int = 0
    metadata: dict = field(default_factory=dict)
    error: str | None = None
    retry_errors: list[str] = field(default_factory=list)
    checks: list[CheckOutcome] = field(default_factory=list)
    baseline_status: str | None = None  # OK | SLOW | CONCERN

    def figure(self, name: str, default: object = None) -> object:
        return self.metadata.get(name, default)


@dataclass
class RunTrace:
    run_id: str
    job: str
    status: str
    partition: str | None
    created: str | None
    started: str | None
    completed: str | None
    duration: float | None
    stages: list[StageTrace]
    run_error: str | None = None

    def stage(self, asset: str) -> StageTrace | None:
        return next((s for s in self.stages if s.asset == asset), None)

    @property
    def timed(self) -> list[StageTrace]:
        return [s for s in self.stages if s.seconds is not None]

    @property
    def bottleneck(self) -> StageTrace | None:
        return max(self.timed, key=lambda s: s.seconds, default=None)

    def share(self, stage: StageTrace) -> float | None:
        base = self.duration or sum(s.seconds for s in self.timed)
        return 100.0 * stage.seconds / base if base and stage.seconds is not None else None

    def as_dict(self) -> dict:
        data = asdict(self)
        neck = self.bottleneck
        data["bottleneck"] = (
            {"asset": neck.asset, "name": neck.name, "seconds": neck.seconds, "share_percent": self.share(neck)}
            if neck
            else None
        )
        return data


def _iso(timestamp: float | dt.datetime | None) -> str | None:
    if timestamp is None:
        return None
    if isinstance(timestamp, dt.datetime):
        return timestamp.astimezone(dt.UTC).isoformat(timespec="seconds")
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds")


def _value(entry: object) -> object:
    return getattr(entry, "value", entry)


def find_run(instance: dg.DagsterInstance, run_id: str | None) -> dg.RunRecord:
    """A run by id or unique id prefix; the newest run when None."""
    if run_id is None:
        records = instance.get_run_records(limit=1)
        if not records:
            raise LookupError("no runs are recorded in this Dagster instance")
        return records[0]
    exact = instance.get_run_record_by_id(run_id) if len(run_id) == 36 else None
    if exact:
        return exact
    matches = [r for r in instance.get_run_records(limit=5000) if r.dagster_run.run_id.startswith(run_id)]
    if len(matches) != 1:
        raise LookupError(f"{len(matches)} runs match {run_id!r}; give a unique prefix of the run id")
    return matches[0]


def _error_text(error) -> str | None:
    if error is None:
        return None
    text = error.message.strip()
    while error.cause is not None and "Failure" not in text:
        error = error.cause
        text = error.message.strip()
    return text.splitlines()[0] if text else None


def load_trace(instance: dg.DagsterInstance, record: dg.RunRecord, baselines: Baselines | None = None) -> RunTrace:
    run = record.dagster_run
    baselines = baselines or load_baselines(Settings.from_env(os.environ).baselines_path)
    planned = [k.to_user_string() for k in (run.asset_selection or [])]
    if not planned and run.execution_plan_snapshot_id:
        # A job run (not an asset selection): its planned steps are the stages.
        snapshot = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
        planned = [step.key for step in snapshot.steps if step.key in STAGES]
    order = [a for a in PIPELINE_ORDER if a in planned] + sorted(a for a in planned if a not in PIPELINE_ORDER)
    stages = {a: StageTrace(a, STAGES[a].name if a in STAGES else a) for a in order}
    run_error = None

    for entry in instance.all_logs(run.run_id):
        event = entry.dagster_event
        if event is None:
            continue
        key = event.step_key
        kind = event.event_type
        if kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
            mat = event.event_specific_data.materialization
            stage = stages.setdefault(
                mat.asset_key.to_user_string(),
                StageTrace(mat.asset_key.to_user_string(), mat.asset_key.to_user_string()),
            )
            stage.metadata = {k: _value(v) for k, v in mat.metadata.items()}
        elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            ev = event.event_specific_data
            asset = ev.asset_key.to_user_string()
            outcome = CheckOutcome(
                asset,
                ev.check_name,
                ev.passed,
                ev.severity.value,
                ev.description,
                {k: _value(v) for k, v in ev.metadata.items()},
            )
            if asset in stages:
                stages[asset].checks.append(outcome)
        elif kind == dg.DagsterEventType.STEP_FAILURE and key in stages:
            data = event.step_failure_data
            user = data.user_failure_data
            stages[key].error = (user.description if user and user.description else None) or _error_text(data.error)
            if user and user.metadata:
                stages[key].metadata.update({k: _value(v) for k, v in user.metadata.items()})
        elif kind == dg.DagsterEventType.STEP_UP_FOR_RETRY and key in stages:
            stages[key].retry_errors.append(_error_text(event.event_specific_data.error) or "retry requested")
        elif kind == dg.DagsterEventType.RUN_FAILURE:
            run_error = entry.message

    stats = {s.step_key: s for s in instance.get_run_step_stats(run.run_id)}
    for asset, stage in stages.items():
        stat = stats.get(asset)
        if stat is not None:
            stage.attempts = stat.attempts or 1
            status = stat.status.value if stat.status else None
            stage.status = {"SUCCESS": "OK", "FAILURE": "FAIL", "SKIPPED": "SKIPPED", None: "RUNNING"}.get(
                status, status or "RUNNING"
            )
            if stat.end_time and stat.start_time:
                stage.seconds = stat.end_time - stat.start_time
        if "stage_seconds" in stage.metadata:
            stage.seconds = float(stage.metadata["stage_seconds"])
        if stage.seconds is not None and asset in baselines.stages:
            stage.baseline_status = baselines.stages[asset].judge(stage.seconds, stage.metadata).status

    duration = (record.end_time - record.start_time) if record.end_time and record.start_time else None
    return RunTrace(
        run_id=run.run_id,
        job=run.job_name,
        status=run.status.value,
        partition=run.tags.get("dagster/partition"),
        created=_iso(record.create_timestamp),
        started=_iso(record.start_time),
        completed=_iso(record.end_time),
        duration=duration,
        stages=list(stages.values()),
        run_error=run_error,
    )


def issues_of(trace: RunTrace) -> list[str]:
    """What went wrong or was unusual, in words: retries, rate limiting, breakers, checks, errors."""
    found: list[str] = []
    for stage in trace.stages:
        vendor = STAGES[stage.asset].vendor if stage.asset in STAGES else None
        if vendor:
            m = stage.metadata
            retries, limited = m.get(f"{vendor}_retries", 0), m.get(f"{vendor}_http_429", 0)
            if retries:
                found.append(
                    f"{stage.name}: {retries} call retries ({limited} rate-limited 429s, "
                    f"{m.get(f'{vendor}_timeouts', 0)} timeouts, "
                    f"{m.get(f'{vendor}_server_errors', 0)} 5xx, "
                    f"{m.get(f'{vendor}_connection_errors', 0)} dropped connections)"
                )
            elif limited:
                found.append(f"{stage.name}: rate limited ({limited} x 429)")
            if m.get(f"{vendor}_breaker_openings"):
                found.append(
                    f"{stage.name}: circuit breaker opened {m[f'{vendor}_breaker_openings']}x, "
                    f"{m.get(f'{vendor}_breaker_rejections', 0)} calls refused while open"
                )
        if stage.asset == RAW_LEADS.asset and stage.metadata.get(LATE_LEADS):
            late = stage.metadata[LATE_LEADS]
            found.append(
                f"{stage.name}: {late} late lead{'s' if late != 1 else ''}: in LEADS since the day's previous "
                "materialization (a loader ran late); this run delivers them"
            )
        if stage.retry_errors:
            found.append(
                f"{stage.name}: step retried {len(stage.retry_errors)}x by its RetryPolicy "
                f"(first error: {stage.retry_errors[0]})"
            )
        for check in stage.checks:
            if not check.passed:
                found.append(f"[{check.severity}] check {check.name} on {stage.asset}: {check.description or ''}")
        if stage.status == "FAIL":
            found.append(f"{stage.name} failed: {stage.error}")
    if trace.status == "FAILURE" and not any(s.status == "FAIL" for s in trace.stages) and trace.run_error:
        found.append(f"run failed: {trace.run_error}")
    return found
