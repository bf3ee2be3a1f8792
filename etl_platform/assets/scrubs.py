"""The two compliance scrubs (CCC litigator list, National DNC registry) and the registry load.

Both scrubs return one row per distinct phone with a status and, when not a plain verdict, a reason.
They do not depend on each other. Unknown is a first-class answer: it blocks the phone downstream.
"""

import datetime as dt
import time
from pathlib import Path

import dagster as dg
import pandas as pd

from etl_platform.checks import (
    duration_check_specs,
    duration_checks,
    error_rate_check,
    error_rate_check_spec,
)
from etl_platform.partitions import daily_partitions
from etl_platform.settings import PipelineSettings, vendor_step_retry_policy
from etl_platform.stages import StageRecord, error_share_exceeded
from etl_platform.vendors.ccc import CccResource
from etl_platform.vendors.common import ConfigurationError
from etl_platform.vendors.dnc import DncRegistryResource
from etl_platform.verdict import ScrubOutcome

# Reasons that describe the phone, not a vendor failure: they do not count towards the error share.
NOT_VENDOR_FAILURES = {"invalid_number", "ccc_rejected_number"}


def phones_of(contacts: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(contacts["PHONE"].dropna().astype(str)))


def outcome_frame(outcomes: dict[str, ScrubOutcome], prefix: str) -> pd.DataFrame:
    return pd.DataFrame(
        [(phone, str(o.status), o.reason) for phone, o in outcomes.items()],
        columns=["PHONE", f"{prefix}_STATUS", f"{prefix}_REASON"],
    )


def status_counts(frame: pd.DataFrame, column: str) -> dict[str, int]:
    return {f"status_{k}": int(v) for k, v in frame[column].value_counts().items()}


@dg.asset(
    group_name="compliance",
    kinds={"duckdb"},
    description="Loads the FTC registry files in DNC_SOURCE_DIR into the local DNC store (DNC_REGISTRY_PATH); "
    "skips the rebuild when the files have not changed.",
)
def dnc_registry(context: dg.AssetExecutionContext, dnc: DncRegistryResource) -> dg.MaterializeResult:
    record = StageRecord("dnc_registry")
    report = dnc.store().load(Path(dnc.source_dir))
    oldest = min((c.copy_date for c in report.area_codes), default=None)
    record.add(
        numbers=report.numbers,
        area_codes=len(report.area_codes),
        rebuilt=int(report.changed),
        rejected_lines=sum(c.rejected_lines for c in report.area_codes),
        oldest_copy_date=str(oldest) if oldest else "none",
        fingerprint=report.fingerprint,
        coverage=dg.MetadataValue.md(
            "| area code | copy date | numbers |\n|---|---|---|\n"
            + "\n".join(f"| {c.area_code} | {c.copy_date} | {c.numbers} |" for c in report.area_codes)
        ),
    )
    context.log.info(
        "DNC registry: %d numbers in %d area codes (%s)",
        report.numbers,
        len(report.area_codes),
        "rebuilt" if report.changed else "unchanged",
    )
    return dg.MaterializeResult(metadata=record.metadata())


@dg.asset(
    check_specs=[*duration_check_specs("litigator_scrub"), error_rate_check_spec("litigator_scrub")],
    partitions_def=daily_partitions,
    group_name="compliance",
    kinds={"python", "pandas"},
    retry_policy=vendor_step_retry_policy(),
    pool="ccc",
    description="CCC litigator scrub: one row per phone, litigator / clear / unknown (with reason).",
)
def litigator_scrub(
    context: dg.AssetExecutionContext, lead_contacts: pd.DataFrame, ccc: CccResource, settings: PipelineSettings
):
    record = StageRecord("litigator_scrub")
    phones = phones_of(lead_contacts)
    client = ccc.client()
    vendor_started = time.perf_counter()
    try:
        outcomes = client.scrub(phones)
    except ConfigurationError as err:
        raise dg.Failure(f"CCC configuration error: {err}", allow_retries=False) from None
    vendor_seconds = time.perf_counter() - vendor_started
    frame = outcome_frame(outcomes, "LITIGATOR")
    vendor_failed = int(
        (frame["LITIGATOR_STATUS"].eq("unknown") & ~frame["LITIGATOR_REASON"].isin(NOT_VENDOR_FAILURES)).sum()
    )
    if error_share_exceeded(vendor_failed, len(frame), settings.max_vendor_error_share):
        raise dg.Failure(
            f"CCC gave no verdict for {vendor_failed} of {len(frame)} phones; failing rather than "
            "publishing a partition of blocked numbers",
            metadata=client.stats.as_metadata("ccc"),
        )
    record.add(
        phones=len(frame),
        vendor_unknown=vendor_failed,
        batch_size=ccc.batch_size,
        vendor_seconds=round(vendor_seconds, 4),
        **status_counts(frame, "LITIGATOR_STATUS"),
        **client.stats.as_metadata("ccc"),
    )
    metadata = record.metadata()
    yield dg.Output(frame, metadata=metadata)
    yield from duration_checks(context, "litigator_scrub", metadata)
    yield error_rate_check(metadata, "ccc", settings.alert_error_share)


@dg.asset(
    check_specs=duration_check_specs("dnc_scrub"),
    partitions_def=daily_partitions,
    group_name="compliance",
    kinds={"duckdb", "pandas"},
    deps=[dnc_registry],
    description="National DNC scrub against the local store: listed / clear / unknown (stale copy, area code "
    "not covered, registry missing).",
)
def dnc_scrub(context: dg.AssetExecutionContext, lead_contacts: pd.DataFrame, dnc: DncRegistryResource):
    record = StageRecord("dnc_scrub")
    phones = phones_of(lead_contacts)
    store = dnc.store()
    # Freshness is judged on the day of the scrub, not the partition's day: the dialer calls today.
    scrub_day = dt.datetime.now(dt.UTC).date()
    batches = [
        store.lookup_frame(phones[start : start + dnc.batch_size], scrub_day)
        for start in range(0, len(phones), dnc.batch_size)
    ]
    frame = (
        pd.concat(batches, ignore_index=True)
        if batches
        else pd.DataFrame(columns=["PHONE", "STATUS", "REASON"], dtype=object)
    ).rename(columns={"STATUS": "DNC_STATUS", "REASON": "DNC_REASON"})
    reasons = frame["DNC_REASON"].dropna().value_counts()
    record.add(
        phones=len(frame),
        batch_size=dnc.batch_size,
        **status_counts(frame, "DNC_STATUS"),
        **{f"unknown_{k}": int(v) for k, v in reasons.items()},
    )
    metadata = record.metadata()
    yield dg.Output(frame, metadata=metadata)
    yield from duration_checks(context, "dnc_scrub", metadata)
