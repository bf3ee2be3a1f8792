"""The two compliance scrubs (CCC litigator list, National DNC registry) and the registry load.

Both scrubs return one row per distinct phone with a status and, when not a plain verdict, a reason.
They do not depend on each other. Unknown is a first-class answer: it blocks the phone downstream.
"""

import datetime as dt
import time
from pathlib import Path

import dagster as dg
import pandas as pd

from etl_platform.adapters.dnc_store import REGISTRY_VALID_DAYS, DncStore
from etl_platform.adapters.vendors.base import ConfigurationError
from etl_platform.core.settings import Settings
from etl_platform.core.stages import DNC_REGISTRY, DNC_SCRUB, LITIGATOR_SCRUB, StageRecord, error_share_exceeded
from etl_platform.core.vendor_failures import is_vendor_failure, kind_of
from etl_platform.core.verdict import ScrubOutcome
from etl_platform.defs.asset_info import asset_info, row_counts
from etl_platform.defs.checks import stage_check_specs, stage_checks, unplanned_checks_asset
from etl_platform.defs.execution import vendor_step_retry_policy
from etl_platform.defs.failures import stage_failure
from etl_platform.defs.partitions import daily_partitions
from etl_platform.defs.resources import CccResource, DncRegistryResource


def phones_of(contacts: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(contacts["PHONE"].dropna().astype(str)))


def outcome_frame(outcomes: dict[str, ScrubOutcome], prefix: str) -> pd.DataFrame:
    return pd.DataFrame(
        [(phone, str(o.status), o.reason) for phone, o in outcomes.items()],
        columns=["PHONE", f"{prefix}_STATUS", f"{prefix}_REASON"],
    )


# The registry copy behind each DNC verdict, kept for SCRUB_EVIDENCE (lead_results).
DNC_EVIDENCE = {"AREA_CODE": "DNC_AREA_CODE", "COPY_DATE": "DNC_COPY_DATE", "SOURCE_FILE": "DNC_SOURCE_FILE"}


def status_counts(frame: pd.DataFrame, column: str) -> dict[str, int]:
    return {f"status_{k}": int(v) for k, v in frame[column].value_counts().items()}


def vendor_unknown(frame: pd.DataFrame, prefix: str, vendor: str) -> int:
    """Phones left unknown because the vendor failed (not because the number itself was bad)."""
    unknown = frame[frame[f"{prefix}_STATUS"].eq("unknown")]
    return sum(1 for reason in unknown[f"{prefix}_REASON"].tolist() if is_vendor_failure(kind_of(reason, vendor)))


# DNC reasons that say the registry copy cannot vouch for a phone (unlike an uncovered area code, which is a
# gap in the subscription, per phone).
UNVOUCHED = ("registry_missing", "registry_stale", "registry_future_dated", "registry_index_missing")


def unvouched_cause(store: DncStore, today: dt.date) -> str:
    """What is wrong with the registry, in words an operator can act on (which file, how old)."""
    if not store.path.exists():
        return f"the DNC store {store.path} does not exist (materialize dnc_registry from DNC_SOURCE_DIR)"
    if problem := store.index_problem():
        return f"the DNC store {store.path.name}: {problem}"
    oldest_fresh = today - dt.timedelta(days=REGISTRY_VALID_DAYS)
    problems = []
    for copy in store.coverage():
        age = (today - copy.copy_date).days
        if copy.copy_date < oldest_fresh:
            problems.append(f"{copy.area_code} from {copy.source_file} dated {copy.copy_date} ({age} days old)")
        elif copy.copy_date > today:
            problems.append(f"{copy.area_code} from {copy.source_file} dated in the future ({copy.copy_date})")
    limit = f"copies older than {REGISTRY_VALID_DAYS} days or dated after today are not trusted"
    return f"{limit}: " + "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")


def fail_if_registry_cannot_vouch(frame: pd.DataFrame, store: DncStore, today: dt.date, settings: Settings) -> None:
    unvouched = int(frame["DNC_REASON"].isin(UNVOUCHED).sum())
    if error_share_exceeded(unvouched, len(frame), settings.dnc_max_unvouched_share):
        raise dg.Failure(
            f"the DNC registry cannot vouch for {unvouched} of {len(frame)} phones (limit "
            f"{settings.dnc_max_unvouched_share:.0%}): {unvouched_cause(store, today)}; nothing written, the "
            "partition's previous LEAD_RESULTS stay",
            allow_retries=False,  # the files will not freshen themselves: a retry would change nothing
            metadata={"distinct_phones": len(frame), "unvouched": unvouched},
        )


def registry_coverage_table(report) -> dg.MetadataValue:
    return dg.MetadataValue.md(
        "| area code | copy date | numbers |\n|---|---|---|\n"
        + "\n".join(f"| {c.area_code} | {c.copy_date} | {c.numbers} |" for c in report.area_codes)
    )


def build_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    partitions = daily_partitions(settings)

    @dg.asset(
        name=DNC_REGISTRY.asset,
        **asset_info(DNC_REGISTRY),
        group_name=DNC_REGISTRY.group,
        kinds={"duckdb"},
        description="Loads the FTC registry files in DNC_SOURCE_DIR into the local DNC store "
        "(DNC_REGISTRY_PATH): a full rebuild, only the new change lists applied, or nothing when the files "
        "have not changed.",
    )
    def dnc_registry(context: dg.AssetExecutionContext, dnc: DncRegistryResource) -> dg.MaterializeResult:
        record = StageRecord(DNC_REGISTRY.asset)
        report = dnc.store().load(Path(dnc.source_dir))
        oldest = min((c.copy_date for c in report.area_codes), default=None)
        record.add(
            numbers=report.numbers,
            area_codes=len(report.area_codes),
            load_mode=report.mode,  # full | incremental | unchanged | index: configuration-like, shown as text
            change_lists_applied=len(report.applied),
            rejected_lines=sum(c.rejected_lines for c in report.area_codes),
            oldest_copy_date=str(oldest) if oldest else "none",
            fingerprint=report.fingerprint,
            coverage=registry_coverage_table(report),
        )
        context.log.info(
            "DNC registry: %d numbers in %d area codes (%s load%s)",
            report.numbers,
            len(report.area_codes),
            report.mode,
            f", {len(report.applied)} change list(s) applied" if report.applied else "",
        )
        return dg.MaterializeResult(metadata=record.metadata() | row_counts(report.numbers))

    @unplanned_checks_asset(
        LITIGATOR_SCRUB.asset,
        **asset_info(LITIGATOR_SCRUB),
        check_specs=stage_check_specs(LITIGATOR_SCRUB.asset, partitions),
        partitions_def=partitions,
        group_name=LITIGATOR_SCRUB.group,
        kinds={"python", "pandas"},
        retry_policy=vendor_step_retry_policy(settings),
        pool=LITIGATOR_SCRUB.pool,
        description="CCC litigator scrub: one row per phone, litigator / clear / unknown (with reason).",
    )
    def litigator_scrub(context: dg.AssetExecutionContext, lead_contacts: pd.DataFrame, ccc: CccResource):
        record = StageRecord(LITIGATOR_SCRUB.asset)
        client = ccc.client()
        vendor_started = time.perf_counter()
        try:
            outcomes = client.scrub(phones_of(lead_contacts))
        except ConfigurationError as err:
            raise dg.Failure(f"CCC configuration error: {err}", allow_retries=False) from None
        vendor_seconds = time.perf_counter() - vendor_started
        frame = outcome_frame(outcomes, "LITIGATOR")
        # When CCC answered for each phone (none for a phone it never answered for): SCRUB_EVIDENCE.
        frame["CCC_ANSWERED_AT"] = frame["PHONE"].map(client.answered_at)
        failed = vendor_unknown(frame, "LITIGATOR", LITIGATOR_SCRUB.vendor)
        if error_share_exceeded(failed, len(frame), settings.vendor_max_error_share):
            kinds = client.stats.error_summary()
            raise stage_failure(
                context,
                f"CCC gave no verdict for {failed} of {len(frame)} phones ({kinds}); failing rather than "
                "publishing a partition of blocked numbers",
                settings.step_retry_max,
                metadata=client.metadata(),
            )
        record.add(
            distinct_phones=len(frame),
            vendor_unknown=failed,
            batch_size=str(ccc.batch_size),  # configuration: text, not a plot
            vendor_seconds=round(vendor_seconds, 4),
            **status_counts(frame, "LITIGATOR_STATUS"),
            **client.metadata(),
        )
        metadata = record.metadata()
        yield dg.Output(frame, output_name=LITIGATOR_SCRUB.asset, metadata=metadata | row_counts(len(frame)))
        yield from stage_checks(context, LITIGATOR_SCRUB.asset, metadata, settings)

    @unplanned_checks_asset(
        DNC_SCRUB.asset,
        **asset_info(DNC_SCRUB),
        check_specs=stage_check_specs(DNC_SCRUB.asset, partitions),
        partitions_def=partitions,
        group_name=DNC_SCRUB.group,
        kinds={"duckdb", "pandas"},
        deps=[dnc_registry],
        description="National DNC scrub against the local store: listed / clear / unknown (stale copy, area "
        "code not covered, registry missing).",
    )
    def dnc_scrub(context: dg.AssetExecutionContext, lead_contacts: pd.DataFrame, dnc: DncRegistryResource):
        record = StageRecord(DNC_SCRUB.asset)
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
            else pd.DataFrame(columns=["PHONE", "STATUS", "REASON", *DNC_EVIDENCE], dtype=object)
        ).rename(columns={"STATUS": "DNC_STATUS", "REASON": "DNC_REASON"} | DNC_EVIDENCE)
        fail_if_registry_cannot_vouch(frame, store, scrub_day, settings)
        reasons = frame["DNC_REASON"].dropna().value_counts()
        record.add(
            distinct_phones=len(frame),
            batch_size=str(dnc.batch_size),  # configuration: text, not a plot
            **status_counts(frame, "DNC_STATUS"),
            **{f"unknown_{k}": int(v) for k, v in reasons.items()},
        )
        metadata = record.metadata()
        yield dg.Output(frame, output_name=DNC_SCRUB.asset, metadata=metadata | row_counts(len(frame)))
        yield from stage_checks(context, DNC_SCRUB.asset, metadata, settings)

    return [dnc_registry, litigator_scrub, dnc_scrub]
