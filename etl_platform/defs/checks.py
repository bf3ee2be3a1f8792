"""Asset checks every stage shares: its duration against the baselines (fixed and learned), the vendor
error rate, and the data checks of lead_results (their rules are in `core/results.py`).

Duration checks run inside each stage's asset (in-asset check specs) because they judge the stage's own
measured seconds; the learned baseline reads the asset's recent materializations from the instance.
"""

from __future__ import annotations

import warnings

import dagster as dg

from etl_platform.adapters.baselines_file import load_baselines
from etl_platform.core.baselines import judge_volume
from etl_platform.core.results import COMPLIANCE_CHECK, DATA_CHECKS
from etl_platform.core.settings import Settings
from etl_platform.core.stages import LEAD_RESULTS, STAGES, stage
from etl_platform.core.vendor_failures import failed_calls

DURATION_CHECK = "stage_duration_vs_baseline"
HISTORY_CHECK = "stage_duration_vs_history"
ERROR_RATE_CHECK = "vendor_error_rate"
VOLUME_CHECK = "extract_volume_vs_history"


def check_spec(
    name: str, asset: str, partitions_def: dg.PartitionsDefinition | None, description: str, blocking: bool = False
) -> dg.AssetCheckSpec:
    """A check spec with the asset's partitions, so each result is recorded for its day and the UI shows a
    day's check status. The one place the preview warning Dagster 1.13 gives for `partitions_def` on a check
    spec is silenced: deliberately, because an unpartitioned spec records every result with no day."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*partitions_def on an AssetCheckSpec", category=dg.PreviewWarning)
        return dg.AssetCheckSpec(
            name, asset=asset, description=description, blocking=blocking, partitions_def=partitions_def
        )


def unplanned_checks_asset(
    name: str,
    *,
    check_specs: list[dg.AssetCheckSpec],
    partitions_def: dg.PartitionsDefinition,
    deps=(),
    retry_policy: dg.RetryPolicy | None = None,
    pool: str | None = None,
    **out: object,
):
    """`@dg.asset` for a stage whose checks the daily job reports without planning them: a subsettable
    multi-asset of one output named `name` (yield `dg.Output(..., output_name=name)`), so the job can leave its
    checks out of the plan (`defs/delivery/schedules.py`). Dagster 1.13 shows a check planned in a run that
    failed before the check's step started as "Failed" (EXECUTION_FAILED) in the Checks tab, over the
    evaluation that passed; a check that is not planned keeps showing its last evaluation."""
    return dg.multi_asset(
        name=name,
        outs={name: dg.AssetOut(**out)},
        deps=list(deps),
        check_specs=check_specs,
        partitions_def=partitions_def,
        can_subset=True,
        retry_policy=retry_policy,
        pool=pool,
    )


def plain(metadata: dict) -> dict:
    """Metadata values without their Dagster wrappers."""
    return {k: getattr(v, "value", v) for k, v in metadata.items()}


def duration_check_specs(asset: str, partitions_def: dg.PartitionsDefinition | None) -> list[dg.AssetCheckSpec]:
    name = STAGES[asset].name
    return [
        check_spec(
            DURATION_CHECK,
            asset,
            partitions_def,
            f"{name} seconds vs baselines.yaml (WARN above typical, ERROR above the concern threshold)",
        ),
        check_spec(
            HISTORY_CHECK,
            asset,
            partitions_def,
            f"{name} seconds vs the median of its own recent partitions (learned baseline)",
        ),
    ]


def stage_check_specs(asset: str, partitions_def: dg.PartitionsDefinition | None) -> list[dg.AssetCheckSpec]:
    """The duration checks, and the error-rate check when the stage calls a vendor, per partition."""
    specs = duration_check_specs(asset, partitions_def)
    if stage(asset).vendor:
        specs.append(
            check_spec(
                ERROR_RATE_CHECK,
                asset,
                partitions_def,
                "WARN when more than VENDOR_ALERT_ERROR_SHARE of the vendor calls failed, even if the run "
                "succeeded after retries",
            )
        )
    return specs


def _history(context: dg.AssetExecutionContext, asset: str, limit: int, figure: str = "stage_seconds") -> list[float]:
    """`figure` of the asset's last `limit` materializations before this run's (any partition)."""
    records = context.instance.fetch_materializations(dg.AssetKey(asset), limit=limit + 1).records
    values = []
    for record in records:
        if record.run_id == context.run_id:
            continue
        value = record.asset_materialization.metadata.get(figure)
        if value is not None:
            values.append(float(value.value))
    return values[:limit]


def duration_checks(
    context: dg.AssetExecutionContext, asset: str, metadata: dict, settings: Settings
) -> list[dg.AssetCheckResult]:
    baselines = load_baselines(settings.baselines_path)
    figures = plain(metadata)
    seconds = float(figures["stage_seconds"])
    judgement = baselines.stages[asset].judge(seconds, figures)
    results = [
        dg.AssetCheckResult(
            check_name=DURATION_CHECK,
            passed=judgement.status == "OK",
            severity=dg.AssetCheckSeverity.ERROR if judgement.status == "CONCERN" else dg.AssetCheckSeverity.WARN,
            description=judgement.describe(STAGES[asset].name),
            metadata={
                "status": judgement.status,
                "observed": seconds,
                "threshold": round(judgement.typical_limit, 3),
                "unit": "seconds",
                "seconds": seconds,
                "typical_limit_seconds": round(judgement.typical_limit, 3),
                "concern_limit_seconds": round(judgement.concern_limit, 3),
                "volume_scale": round(judgement.scale, 3),
                "baselines_file": str(baselines.path),
            },
        )
    ]
    history = _history(context, asset, baselines.learned.partitions)
    far_off, median = baselines.learned.judge(seconds, history)
    results.append(
        dg.AssetCheckResult(
            check_name=HISTORY_CHECK,
            passed=not far_off,
            severity=dg.AssetCheckSeverity.WARN,
            description=(
                f"{seconds:.2f} s vs a median of {median:.2f} s over {len(history)} earlier materializations"
                if median is not None
                else f"not enough history yet ({len(history)} earlier materializations)"
            ),
            metadata={
                "observed": seconds,
                "unit": "seconds",
                "seconds": seconds,
                "history_median_seconds": median or 0.0,
                "history_size": len(history),
            },
        )
    )
    return results


def error_rate_check(metadata: dict, vendor: str, max_share: float) -> dg.AssetCheckResult:
    figures = plain(metadata)
    calls = int(figures.get(f"{vendor}_calls", 0))
    failed = failed_calls(figures, vendor)
    share = failed / calls if calls else 0.0
    return dg.AssetCheckResult(
        check_name=ERROR_RATE_CHECK,
        passed=share <= max_share,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{failed} of {calls} calls failed ({share:.1%}; alert above {max_share:.0%})",
        metadata={
            "observed": round(share, 4),
            "threshold": max_share,
            "unit": "share of vendor calls that failed",
            "calls": calls,
            "failed_calls": failed,
            "error_share": round(share, 4),
        },
    )


def stage_checks(
    context: dg.AssetExecutionContext, asset: str, metadata: dict, settings: Settings
) -> list[dg.AssetCheckResult]:
    """The results of `stage_check_specs(asset)` for one materialization."""
    results = duration_checks(context, asset, metadata, settings)
    if vendor := stage(asset).vendor:
        results.append(error_rate_check(metadata, vendor, settings.vendor_alert_error_share))
    return results


def results_check_specs(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetCheckSpec]:
    return [
        check_spec(name, LEAD_RESULTS.asset, partitions_def, text, blocking=name == COMPLIANCE_CHECK)
        for name, text in DATA_CHECKS.items()
    ]


def volume_check_spec(asset: str, partitions_def: dg.PartitionsDefinition | None) -> dg.AssetCheckSpec:
    return check_spec(
        VOLUME_CHECK,
        asset,
        partitions_def,
        "WARN when the day's extract holds 0 leads, or fewer than EXTRACT_MIN_SHARE of the median of its recent "
        "extracts: the first sign of a broken loader (not blocking: a holiday can be empty)",
    )


def volume_check(context: dg.AssetExecutionContext, asset: str, count: int, settings: Settings) -> dg.AssetCheckResult:
    """The day's extracted count against the median of the asset's recent materializations' counts (as many as
    the learned duration baseline reads)."""
    limit = load_baselines(settings.baselines_path).learned.partitions
    judgement = judge_volume(count, _history(context, asset, limit, figure="rows_out"), settings.extract_min_share)
    return dg.AssetCheckResult(
        check_name=VOLUME_CHECK,
        passed=not judgement.low,
        severity=dg.AssetCheckSeverity.WARN,
        description=judgement.describe(),
        metadata={
            "observed": judgement.count,
            "threshold": round(judgement.limit, 3) if judgement.limit is not None else 0.0,
            "unit": "leads",
            "leads": judgement.count,
            "history_median_leads": judgement.median if judgement.median is not None else 0.0,
            "history_size": judgement.history_size,
            "min_share": judgement.min_share,
        },
    )
