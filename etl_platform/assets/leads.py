"""raw_leads (Snowflake Query) and new_leads (Pre-filtering)."""

import hashlib
import re

import dagster as dg
import pandas as pd
from dagster_snowflake import SnowflakeResource

from etl_platform.checks import duration_check_specs, duration_checks
from etl_platform.partitions import daily_partitions, day_bounds, day_of
from etl_platform.settings import PipelineSettings
from etl_platform.stages import StageRecord
from etl_platform.warehouse import Warehouse

LEAD_COLUMNS = ["LEAD_ID", "FIRST_NAME", "LAST_NAME", "ADDRESS", "CITY", "STATE", "ZIP", "EMAIL", "CREATED_AT"]
US_STATES = frozenset(
    [
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "DC",
        "PR",
        "VI",
        "GU",
        "AS",
        "MP",
    ]
)
ZIP_RE = re.compile(r"^\d{5}(-?\d{4})?$")


@dg.asset(
    check_specs=duration_check_specs("raw_leads"),
    partitions_def=daily_partitions,
    group_name="leads",
    kinds={"snowflake", "pandas"},
    description="The partition's leads from LEADS (sql/extract_leads.sql, bind parameters).",
)
def raw_leads(context: dg.AssetExecutionContext, snowflake: SnowflakeResource, settings: PipelineSettings):
    record = StageRecord("raw_leads")
    with Warehouse(snowflake, settings.snowflake_batch_rows).session() as session:
        leads = session.frame("extract_leads", day_bounds(day_of(context)))
    leads = leads.reindex(columns=LEAD_COLUMNS)
    record.add(rows_out=len(leads))
    context.log.info("extracted %d leads", len(leads))
    metadata = record.metadata()
    yield dg.Output(leads, metadata=metadata)
    yield from duration_checks(context, "raw_leads", metadata)


def person_key(frame: pd.DataFrame) -> pd.Series:
    """A stable hash of the normalised person (name + address + ZIP): the enrichment cache key."""

    def norm(column: str) -> pd.Series:
        return frame[column].fillna("").astype(str).str.upper().str.replace(r"[^A-Z0-9]+", " ", regex=True).str.strip()

    text = norm("FIRST_NAME") + "|" + norm("LAST_NAME") + "|" + norm("ADDRESS") + "|" + norm("ZIP").str[:5]
    return text.map(lambda s: hashlib.sha256(s.encode()).hexdigest())


def rejection_reasons(leads: pd.DataFrame) -> pd.Series:
    """Why each lead cannot be enriched, or None. First failing rule wins; vectorised for large days."""

    def blank(column: str) -> pd.Series:
        return leads[column].isna() | (leads[column].astype(str).str.strip() == "")

    state = leads["STATE"].fillna("").astype(str).str.strip().str.upper()
    zip_code = leads["ZIP"].fillna("").astype(str).str.strip()
    rules = [
        ("missing_lead_id", blank("LEAD_ID")),
        ("missing_first_name", blank("FIRST_NAME")),
        ("missing_last_name", blank("LAST_NAME")),
        ("invalid_state", ~state.isin(US_STATES)),
        ("invalid_zip", (zip_code != "") & ~zip_code.str.match(ZIP_RE)),
        # idiCORE needs a ZIP, or at least a city with the state, to find one person.
        ("missing_location", (zip_code == "") & blank("CITY")),
    ]
    reasons = pd.Series([None] * len(leads), index=leads.index, dtype=object)
    for reason, failed in reversed(rules):
        reasons = reasons.mask(failed.to_numpy(), reason)
    return reasons


@dg.asset(
    check_specs=duration_check_specs("new_leads"),
    partitions_def=daily_partitions,
    group_name="leads",
    kinds={"snowflake", "pandas"},
    description="Leads not delivered by an earlier partition, deduplicated and validated; an invalid lead "
    "keeps its REJECT_REASON and is dead-lettered with the partition's results.",
)
def new_leads(
    context: dg.AssetExecutionContext, raw_leads: pd.DataFrame, snowflake: SnowflakeResource, settings: PipelineSettings
):
    record = StageRecord("new_leads")
    day = day_of(context)
    with Warehouse(snowflake, settings.snowflake_batch_rows).session() as session:
        session.ensure_tables(context.run_id)
        delivered = {row[0] for row in session.rows("delivered_leads", [*day_bounds(day), day])}

    leads = raw_leads[~raw_leads["LEAD_ID"].isin(delivered)]
    already_delivered = len(raw_leads) - len(leads)
    # The feed re-sends rows within a day: keep each LEAD_ID's first arrival.
    leads = leads.sort_values(["CREATED_AT", "LEAD_ID"], kind="stable")
    deduped = leads[~leads["LEAD_ID"].duplicated(keep="first") | leads["LEAD_ID"].isna()].copy()
    duplicates = len(leads) - len(deduped)

    # Invalid leads stay in the frame with their reason; lead_results dead-letters them with the results.
    deduped["REJECT_REASON"] = rejection_reasons(deduped)
    deduped["PERSON_KEY"] = person_key(deduped)
    deduped = deduped.reset_index(drop=True)
    rejected = deduped["REJECT_REASON"].notna()
    record.add(
        rows_in=len(raw_leads),
        already_delivered=already_delivered,
        duplicates=duplicates,
        dead_lettered=int(rejected.sum()),
        rows_out=int((~rejected).sum()),
        **{f"rejected_{k}": int(v) for k, v in deduped.loc[rejected, "REJECT_REASON"].value_counts().items()},
    )
    context.log.info(
        "pre-filter: %d in, %d already delivered, %d duplicates, %d to dead-letter, %d new",
        len(raw_leads),
        already_delivered,
        duplicates,
        int(rejected.sum()),
        int((~rejected).sum()),
    )
    metadata = record.metadata()
    yield dg.Output(deduped, metadata=metadata)
    yield from duration_checks(context, "new_leads", metadata)
