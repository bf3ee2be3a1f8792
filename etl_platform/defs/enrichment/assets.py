"""lead_contacts (idiCORE): up to 3 phones and 3 e-mails per lead, best idiCORE rank first, with the
enrichment cache in the warehouse so nobody is paid for twice."""

import asyncio
import datetime as dt
import json
import time
from dataclasses import dataclass

import dagster as dg
import pandas as pd

from etl_platform.adapters.vendors.base import ConfigurationError
from etl_platform.adapters.vendors.idicore import IdiCoreClient
from etl_platform.adapters.warehouse import Warehouse
from etl_platform.core import dead_letters as dl
from etl_platform.core.contacts import (
    PersonQuery,
    SearchResult,
    cache_payload,
    contact_rows,
    contacts_frame,
    dead_letter_rows,
    from_cache,
    query_for,
)
from etl_platform.core.settings import Settings
from etl_platform.core.stages import LEAD_CONTACTS, StageRecord, error_share_exceeded
from etl_platform.defs.asset_info import asset_info, row_counts, table_schema
from etl_platform.defs.checks import stage_check_specs, stage_checks
from etl_platform.defs.execution import vendor_step_retry_policy
from etl_platform.defs.failures import stage_failure
from etl_platform.defs.partitions import daily_partitions, day_of
from etl_platform.defs.resources import IdiCoreResource, SnowflakeWarehouseResource


@dataclass
class Searched:
    """What one day's searches returned, by person key, and how long the vendor phase took."""

    by_key: dict[str, SearchResult]
    vendor_seconds: float

    @property
    def results(self) -> list[SearchResult]:
        return list(self.by_key.values())

    def count(self, status: str) -> int:
        return sum(1 for r in self.by_key.values() if r.status == status)


def cached_answers(warehouse: Warehouse, run_id: str, keys: list[str], oldest: dt.datetime) -> dict[str, str]:
    """{person key: cached answer} for the keys answered since `oldest`."""
    with warehouse.session() as session:
        session.ensure_tables(run_id)
        return dict(session.rows("cache_lookup", [json.dumps(keys), oldest])) if keys else {}


def searches_needed(leads: list[dict], cached: dict[str, str]) -> dict[str, PersonQuery]:
    """One billed search per person not in the cache, however many leads share that person."""
    to_search: dict[str, PersonQuery] = {}
    for lead in leads:
        key = lead["PERSON_KEY"]
        if key not in cached and key not in to_search:
            to_search[key] = query_for(lead)
    return to_search


CACHE_WRITE_BATCH = 100  # people found per cache write while the searches go on


def search(
    client: IdiCoreClient, to_search: dict[str, PersonQuery], warehouse: Warehouse, now: dt.datetime
) -> Searched:
    """Every search, with each person found written to the enrichment cache in batches as the answers
    arrive, not at the end: a run that fails or is killed half-way has kept what it paid for, and its rerun
    is billed only for the rest."""
    started = time.perf_counter()
    keys = list(to_search)

    async def run() -> list[SearchResult]:
        found: asyncio.Queue[tuple[str, SearchResult] | None] = asyncio.Queue()

        async def writer() -> None:  # one writer, so the cache's transactions never overlap
            batch: list[tuple[str, SearchResult]] = []
            while (item := await found.get()) is not None:
                batch.append(item)
                if len(batch) >= CACHE_WRITE_BATCH:
                    await asyncio.to_thread(remember, warehouse, batch, now)
                    batch = []
            if batch:
                await asyncio.to_thread(remember, warehouse, batch, now)

        def on_result(index: int, result: SearchResult) -> None:
            if result.status == "found":
                found.put_nowait((keys[index], result))

        writing = asyncio.ensure_future(writer())
        try:
            return await client.search_many(list(to_search.values()), on_result=on_result)
        finally:
            found.put_nowait(None)  # flush what was found, also when the searches failed
            await writing

    try:
        results = asyncio.run(run())
    except ConfigurationError as err:
        raise dg.Failure(f"idiCORE configuration error: {err}", allow_retries=False) from None
    return Searched(dict(zip(keys, results, strict=True)), time.perf_counter() - started)


def fail_if_vendor_failed(
    context: dg.AssetExecutionContext, searched: Searched, client: IdiCoreClient, settings: Settings
) -> None:
    """Only vendor trouble counts against the error budget; a refused query is the lead's problem."""
    failed, total = searched.count("failed"), len(searched.by_key)
    if error_share_exceeded(failed, total, settings.vendor_max_error_share):
        kinds = client.stats.error_summary()
        raise stage_failure(
            context,
            f"idiCORE failed for {failed} of {total} searches (limit {settings.vendor_max_error_share:.0%}; {kinds})",
            settings.step_retry_max,
            metadata=client.metadata(),
        )


def rows_for_leads(leads: list[dict], cached: dict[str, str], searched: Searched) -> tuple[list[dict], dict[str, str]]:
    """Contact rows of every lead whose person was found or not matched; {lead id: reason} for the others."""
    rows: list[dict] = []
    dead_ids: dict[str, str] = {}
    for lead in leads:
        key = lead["PERSON_KEY"]
        result = from_cache(lead["LEAD_ID"], cached[key]) if key in cached else searched.by_key[key]
        if result.ok:
            rows.extend(contact_rows(result.for_lead(str(lead["LEAD_ID"]))))
        else:
            dead_ids[lead["LEAD_ID"]] = str(result.reason)
    return rows, dead_ids


def remember(warehouse: Warehouse, found: list[tuple[str, SearchResult]], now: dt.datetime) -> None:
    """Cache people found. Only successful look-ups: a failure must be retried, not remembered."""
    fresh = [{"PERSON_KEY": k, "RESULT_JSON": cache_payload(r), "FETCHED_AT": now} for k, r in found]
    if fresh:
        with warehouse.session() as session, session.transaction():
            session.execute("cache_delete", [json.dumps([f["PERSON_KEY"] for f in fresh])])
            session.insert_json("cache_insert", fresh)


def figures(
    valid: pd.DataFrame, cached: dict[str, str], searched: Searched, contacts: pd.DataFrame, dead: int
) -> dict[str, object]:
    hits = int(valid["PERSON_KEY"].isin(list(cached)).sum())
    return {
        "leads_in": len(valid),
        "searches": len(searched.by_key),
        "cache_hits": hits,
        "cache_hit_rate": round(hits / len(valid), 4) if len(valid) else 0.0,
        "found": searched.count("found"),
        "no_match": searched.count("no_match"),
        "rejected": searched.count("rejected"),
        "failed": searched.count("failed"),
        "dead_lettered": dead,
        "leads_out": int(contacts.loc[contacts[dl.STAGE].isna(), "LEAD_ID"].nunique()),
        "leads_without_phone": int((contacts["PHONE"].isna() & contacts[dl.STAGE].isna()).sum()),
        "phone_rows": int(contacts["PHONE"].notna().sum()),
        "dropped_disconnected": sum(r.dropped_disconnected for r in searched.results),
        "dropped_invalid": sum(r.dropped_invalid for r in searched.results),
        # the search phase's wall time: the rest of stage_seconds is this stage's own work
        "vendor_seconds": round(searched.vendor_seconds, 4),
    }


def build_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    @dg.asset(
        name=LEAD_CONTACTS.asset,
        **asset_info(LEAD_CONTACTS),
        # It also keeps what idiCORE found (billed) in ENRICHMENT_CACHE: that table's schema, shown here.
        metadata={"enrichment_cache_schema": table_schema("ENRICHMENT_CACHE")},
        check_specs=stage_check_specs(LEAD_CONTACTS.asset, daily_partitions(settings)),
        partitions_def=daily_partitions(settings),
        group_name=LEAD_CONTACTS.group,
        kinds={"python", "pandas"},
        retry_policy=vendor_step_retry_policy(settings),
        pool=LEAD_CONTACTS.pool,
        description="idiCORE people search: <= 3 phones and <= 3 e-mails per lead, disconnected numbers "
        "dropped; answers cached by person so nobody is paid for twice.",
    )
    def lead_contacts(
        context: dg.AssetExecutionContext,
        new_leads: pd.DataFrame,
        idicore: IdiCoreResource,
        snowflake: SnowflakeWarehouseResource,
    ):
        record = StageRecord(LEAD_CONTACTS.asset)
        day = day_of(context)
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        warehouse = Warehouse.from_settings(snowflake, settings, day)
        valid = new_leads[new_leads["REJECT_REASON"].isna()]
        leads = valid.to_dict("records")
        keys = list(dict.fromkeys(lead["PERSON_KEY"] for lead in leads))
        oldest = now - dt.timedelta(days=settings.enrichment_cache_ttl_days)
        cached = cached_answers(warehouse, context.run_id, keys, oldest)

        client = idicore.client()
        searched = search(client, searches_needed(leads, cached), warehouse, now)
        fail_if_vendor_failed(context, searched, client, settings)
        rows, dead_ids = rows_for_leads(leads, cached, searched)

        contacts = contacts_frame(rows, dead_letter_rows(new_leads, dead_ids))
        record.add(
            **figures(valid, cached, searched, contacts, len(dead_ids)),
            # Configuration is text: the UI plots numbers, and a setting does not change from run to run.
            concurrency_configured=str(idicore.concurrency),
            rate_limit_configured=str(idicore.rate_limit),
            **client.metadata(),
        )
        context.log.info(
            "idiCORE: %d leads, %d searches, %d dead-lettered, %d phones",
            len(valid),
            len(searched.by_key),
            len(dead_ids),
            int(contacts["PHONE"].notna().sum()),
        )
        metadata = record.metadata()
        yield dg.Output(contacts, metadata=metadata | row_counts(len(contacts)))
        yield from stage_checks(context, LEAD_CONTACTS.asset, metadata, settings)

    return [lead_contacts]
