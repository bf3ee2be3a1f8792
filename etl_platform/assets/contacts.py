"""lead_contacts (idiCORE): up to 3 phones and 3 e-mails per lead, best idiCORE rank first."""

import asyncio
import datetime as dt
import json
import time

import dagster as dg
import pandas as pd
from dagster_snowflake import SnowflakeResource

from etl_platform import dead_letters as dl
from etl_platform.assets.leads import LEAD_COLUMNS
from etl_platform.checks import (
    duration_check_specs,
    duration_checks,
    error_rate_check,
    error_rate_check_spec,
)
from etl_platform.partitions import daily_partitions, day_of
from etl_platform.settings import PipelineSettings, vendor_step_retry_policy
from etl_platform.stages import StageRecord, error_share_exceeded
from etl_platform.vendors.common import ConfigurationError
from etl_platform.vendors.idicore import FoundPhone, IdiCoreResource, PersonQuery, SearchResult
from etl_platform.warehouse import Warehouse

CONTACT_COLUMNS = ["LEAD_ID", "PHONE", "PHONE_RANK", "PHONE_TYPE", "EMAILS", "MATCH"]
OUTPUT_COLUMNS = [*CONTACT_COLUMNS, dl.STAGE, dl.REASON, dl.ROW_JSON]


def _text(value: object) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def dead_letter_rows(new_leads: pd.DataFrame, idicore_failures: dict[str, str]) -> pd.DataFrame:
    """Leads this partition cannot deliver, as rows that lead_results writes to LEAD_DEAD_LETTERS: those the
    pre-filter rejected and those idiCORE refused or failed on."""
    prefiltered = new_leads[new_leads["REJECT_REASON"].notna()]
    enriched = new_leads[new_leads["LEAD_ID"].isin(list(idicore_failures))]
    frames = []
    for stage, frame, reasons in (
        ("pre_filter", prefiltered, prefiltered["REJECT_REASON"].tolist()),
        ("idicore", enriched, [idicore_failures[i] for i in enriched["LEAD_ID"]]),
    ):
        frames.append(
            pd.DataFrame(
                {
                    "LEAD_ID": frame["LEAD_ID"].tolist(),
                    dl.STAGE: stage,
                    dl.REASON: reasons,
                    dl.ROW_JSON: dl.row_json(frame, LEAD_COLUMNS),
                }
            )
        )
    return pd.concat(frames, ignore_index=True).reindex(columns=OUTPUT_COLUMNS)


def query_for(lead: dict) -> PersonQuery:
    return PersonQuery(
        lead_id=str(lead["LEAD_ID"]),
        first_name=_text(lead["FIRST_NAME"]) or "",
        last_name=_text(lead["LAST_NAME"]) or "",
        address=_text(lead["ADDRESS"]),
        city=_text(lead["CITY"]),
        state=_text(lead["STATE"]),
        zip=_text(lead["ZIP"]),
    )


def cache_payload(result: SearchResult) -> str:
    return json.dumps(
        {
            "status": result.status,
            "phones": [[p.phone, p.rank, p.type] for p in result.phones],
            "emails": list(result.emails),
        }
    )


def from_cache(lead_id: str, payload: str) -> SearchResult:
    data = json.loads(payload)
    phones = tuple(FoundPhone(phone, int(rank), kind) for phone, rank, kind in data["phones"])
    return SearchResult(lead_id, data["status"], phones, tuple(data["emails"]))


def contact_rows(result: SearchResult) -> list[dict]:
    """One row per phone; a lead with no usable phone keeps one row with PHONE = None."""
    emails = ",".join(result.emails) or None
    if not result.phones:
        return [
            {
                "LEAD_ID": result.lead_id,
                "PHONE": None,
                "PHONE_RANK": None,
                "PHONE_TYPE": None,
                "EMAILS": emails,
                "MATCH": result.status,
            }
        ]
    return [
        {
            "LEAD_ID": result.lead_id,
            "PHONE": p.phone,
            "PHONE_RANK": p.rank,
            "PHONE_TYPE": p.type,
            "EMAILS": emails,
            "MATCH": result.status,
        }
        for p in result.phones
    ]


@dg.asset(
    check_specs=[*duration_check_specs("lead_contacts"), error_rate_check_spec("lead_contacts")],
    partitions_def=daily_partitions,
    group_name="enrichment",
    kinds={"python", "pandas"},
    retry_policy=vendor_step_retry_policy(),
    pool="idicore",
    description="idiCORE people search: <= 3 phones and <= 3 e-mails per lead, disconnected numbers dropped; "
    "answers cached by person so nobody is paid for twice.",
)
def lead_contacts(
    context: dg.AssetExecutionContext,
    new_leads: pd.DataFrame,
    idicore: IdiCoreResource,
    snowflake: SnowflakeResource,
    settings: PipelineSettings,
):
    record = StageRecord("lead_contacts")
    day = day_of(context)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    warehouse = Warehouse(snowflake, settings.snowflake_batch_rows)
    valid = new_leads[new_leads["REJECT_REASON"].isna()]
    leads = valid.to_dict("records")
    keys = list(dict.fromkeys(lead["PERSON_KEY"] for lead in leads))
    with warehouse.session() as session:
        session.ensure_tables(context.run_id)
        oldest = now - dt.timedelta(days=settings.enrichment_cache_ttl_days)
        cached = dict(session.rows("cache_lookup", [json.dumps(keys), oldest])) if keys else {}

    # One billed search per person not in the cache, however many leads share that person.
    to_search: dict[str, PersonQuery] = {}
    for lead in leads:
        if lead["PERSON_KEY"] not in cached and lead["PERSON_KEY"] not in to_search:
            to_search[lead["PERSON_KEY"]] = query_for(lead)
    client = idicore.client()
    vendor_started = time.perf_counter()
    try:
        searched = asyncio.run(client.search_many(list(to_search.values())))
    except ConfigurationError as err:
        raise dg.Failure(f"idiCORE configuration error: {err}", allow_retries=False) from None
    vendor_seconds = time.perf_counter() - vendor_started
    by_key = dict(zip(to_search, searched, strict=True))

    # Only vendor trouble counts against the error budget; a refused query is the lead's problem.
    failed = [r for r in searched if r.status == "failed"]
    if error_share_exceeded(len(failed), len(searched), settings.max_vendor_error_share):
        raise dg.Failure(
            f"idiCORE failed for {len(failed)} of {len(searched)} searches (limit "
            f"{settings.max_vendor_error_share:.0%}); nothing written for {day}",
            metadata=client.stats.as_metadata("idicore"),
        )

    rows: list[dict] = []
    dead_ids: dict[str, str] = {}
    for lead in leads:
        key = lead["PERSON_KEY"]
        result = from_cache(lead["LEAD_ID"], cached[key]) if key in cached else by_key[key]
        if result.ok:
            rows.extend(contact_rows(SearchResult(str(lead["LEAD_ID"]), result.status, result.phones, result.emails)))
        else:
            dead_ids[lead["LEAD_ID"]] = str(result.reason)

    fresh = [
        {"PERSON_KEY": k, "RESULT_JSON": cache_payload(r), "FETCHED_AT": now}
        for k, r in by_key.items()
        if r.status == "found"
    ]
    if fresh:
        # Only successful look-ups are cached: a failure must be retried, not remembered.
        with warehouse.session() as session, session.transaction():
            session.execute("cache_delete", [json.dumps([f["PERSON_KEY"] for f in fresh])])
            session.insert_json("cache_insert", fresh)

    contacts = pd.concat(
        [pd.DataFrame(rows, columns=CONTACT_COLUMNS), dead_letter_rows(new_leads, dead_ids)], ignore_index=True
    )
    contacts["PHONE_RANK"] = contacts["PHONE_RANK"].astype("Int64")
    stats = client.stats
    record.add(
        leads_in=len(valid),
        searches=len(searched),
        cache_hits=(hits := int(valid["PERSON_KEY"].isin(list(cached)).sum())),
        cache_hit_rate=round(hits / len(valid), 4) if len(valid) else 0.0,
        found=sum(1 for r in searched if r.status == "found"),
        no_match=sum(1 for r in searched if r.status == "no_match"),
        rejected=sum(1 for r in searched if r.status == "rejected"),
        failed=len(failed),
        dead_lettered=len(dead_ids),
        leads_out=int(contacts.loc[contacts[dl.STAGE].isna(), "LEAD_ID"].nunique()),
        leads_without_phone=int((contacts["PHONE"].isna() & contacts[dl.STAGE].isna()).sum()),
        phones=int(contacts["PHONE"].notna().sum()),
        dropped_disconnected=sum(r.dropped_disconnected for r in searched),
        dropped_invalid=sum(r.dropped_invalid for r in searched),
        concurrency_configured=idicore.concurrency,
        rate_limit_configured=idicore.rate_limit,
        # the search phase's wall time: the rest of stage_seconds is this stage's own work
        vendor_seconds=round(vendor_seconds, 4),
        **stats.as_metadata("idicore"),
    )
    context.log.info(
        "idiCORE: %d leads, %d searches, %d dead-lettered, %d phones",
        len(valid),
        len(searched),
        len(dead_ids),
        int(contacts["PHONE"].notna().sum()),
    )
    metadata = record.metadata()
    yield dg.Output(contacts, metadata=metadata)
    yield from duration_checks(context, "lead_contacts", metadata)
    yield error_rate_check(metadata, "idicore", settings.alert_error_share)
