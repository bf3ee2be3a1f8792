"""Asset checks: stage duration against the baselines (fixed and learned), and the data checks.

Duration checks run inside each stage's asset (in-asset check specs) because they judge the stage's own
measured seconds; the learned baseline reads the asset's recent materializations from the instance.
"""

from __future__ import annotations

import dagster as dg
import pandas as pd

from etl_platform.baselines import load_baselines
from etl_platform.phones import is_valid_nanp
from etl_platform.stages import STAGE_NAMES

DURATION_CHECK = "stage_duration_vs_baseline"
HISTORY_CHECK = "stage_duration_vs_history"


def duration_check_specs(asset: str) -> list[dg.AssetCheckSpec]:
    name = STAGE_NAMES[asset]
    return [
        dg.AssetCheckSpec(
            DURATION_CHECK,
            asset=asset,
            description=f"{name} seconds vs baselines.yaml (WARN above typical, ERROR above the concern threshold)",
        ),
        dg.AssetCheckSpec(
            HISTORY_CHECK,
            asset=asset,
            description=f"{name} seconds vs the median of its own recent partitions (learned baseline)",
        ),
    ]


def _history(context: dg.AssetExecutionContext, asset: str, limit: int) -> list[float]:
    records = context.instance.fetch_materializations(dg.AssetKey(asset), limit=limit + 1).records
    values = []
    for record in records:
        if record.run_id == context.run_id:
            continue
        seconds = record.asset_materialization.metadata.get("stage_seconds")
        if seconds is not None:
            values.append(float(seconds.value))
    return values[:limit]


def duration_checks(context: dg.AssetExecutionContext, asset: str, metadata: dict) -> list[dg.AssetCheckResult]:
    baselines = load_baselines()
    figures = {k: getattr(v, "value", v) for k, v in metadata.items()}
    seconds = float(figures["stage_seconds"])
    judgement = baselines.stages[asset].judge(seconds, figures)
    results = [
        dg.AssetCheckResult(
            check_name=DURATION_CHECK,
            passed=judgement.status == "OK",
            severity=dg.AssetCheckSeverity.ERROR if judgement.status == "CONCERN" else dg.AssetCheckSeverity.WARN,
            description=judgement.describe(STAGE_NAMES[asset]),
            metadata={
                "status": judgement.status,
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
            metadata={"seconds": seconds, "history_median_seconds": median or 0.0, "history_size": len(history)},
        )
    )
    return results


# --- vendor error rate -----------------------------------------------------------------------------------
ERROR_RATE_CHECK = "vendor_error_rate"
# Error kinds that describe the input, not the vendor's health (a refused query, a rejected number).
NOT_VENDOR_ERRORS = ("error_idicore_", "error_http_400", "error_breaker_open")


def error_rate_check_spec(asset: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        ERROR_RATE_CHECK,
        asset=asset,
        description="WARN when more than VENDOR_ALERT_ERROR_SHARE (5%) of the vendor calls failed, even if the "
        "run succeeded after retries",
    )


def error_rate_check(metadata: dict, prefix: str, max_share: float) -> dg.AssetCheckResult:
    figures = {k: getattr(v, "value", v) for k, v in metadata.items()}
    calls = int(figures.get(f"{prefix}_calls", 0))
    failed = sum(
        int(v)
        for k, v in figures.items()
        if k.startswith(f"{prefix}_error_") and not k[len(prefix) + 1 :].startswith(NOT_VENDOR_ERRORS)
    )
    share = failed / calls if calls else 0.0
    return dg.AssetCheckResult(
        check_name=ERROR_RATE_CHECK,
        passed=share <= max_share,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{failed} of {calls} calls failed ({share:.1%}; alert above {max_share:.0%})",
        metadata={"calls": calls, "failed_calls": failed, "error_share": round(share, 4), "threshold": max_share},
    )


# --- data checks on lead_results -------------------------------------------------------------------------
COMPLIANCE_CHECK = "no_callable_without_two_clear_scrubs"
DATA_CHECKS = {
    COMPLIANCE_CHECK: "blocking: every CALLABLE phone has LITIGATOR_STATUS = DNC_STATUS = clear",
    "every_lead_accounted_for": "every lead from lead_contacts is in the results or the dead letters",
    "every_phone_scrubbed_twice": "every phone has a verdict from both scrubs",
    "no_duplicate_lead_phone": "no (LEAD_ID, PHONE) pair twice",
    "phones_are_valid_nanp": "every stored phone is a valid 10-digit NANP number",
    "rows_written_match": "rows in LEAD_RESULTS for the partition equal the rows computed",
}


def results_check_specs() -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(name, asset="lead_results", description=text, blocking=name == COMPLIANCE_CHECK)
        for name, text in DATA_CHECKS.items()
    ]


def compliance_violations(results: pd.DataFrame) -> pd.DataFrame:
    callable_rows = results[results["CALLABLE"].astype(bool)]
    return callable_rows[
        (callable_rows["LITIGATOR_STATUS"] != "clear")
        | (callable_rows["DNC_STATUS"] != "clear")
        | callable_rows["PHONE"].isna()
    ]


def results_data_checks(
    results: pd.DataFrame, contacts: pd.DataFrame, litigator: pd.DataFrame, dnc: pd.DataFrame, dead_ids: set[str]
) -> dict[str, tuple[bool, dict]]:
    """{check name: (passed, metadata)} for everything but the warehouse reconciliation."""
    # .tolist() before set(): iterating an Arrow-backed column element by element is ~10x slower
    phones = set(results["PHONE"].dropna().tolist())
    missing_lit = phones - set(litigator["PHONE"].tolist())
    missing_dnc = phones - set(dnc["PHONE"].tolist())
    expected_leads = set(contacts["LEAD_ID"].tolist())
    accounted = set(results["LEAD_ID"].tolist()) | dead_ids
    dup = results.dropna(subset=["PHONE"]).duplicated(subset=["LEAD_ID", "PHONE"]).sum()
    invalid = sum(1 for phone in phones if not is_valid_nanp(phone))
    violations = compliance_violations(results)
    return {
        COMPLIANCE_CHECK: (bool(violations.empty), {"violations": len(violations)}),
        "every_lead_accounted_for": (
            expected_leads == accounted,
            {
                "leads": len(expected_leads),
                "missing": len(expected_leads - accounted),
                "unexpected": len(accounted - expected_leads),
            },
        ),
        "every_phone_scrubbed_twice": (
            not missing_lit and not missing_dnc,
            {"phones": len(phones), "missing_litigator": len(missing_lit), "missing_dnc": len(missing_dnc)},
        ),
        "no_duplicate_lead_phone": (bool(dup == 0), {"duplicates": int(dup)}),
        "phones_are_valid_nanp": (invalid == 0, {"invalid": invalid}),
    }
