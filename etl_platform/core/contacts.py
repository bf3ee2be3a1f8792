"""Enrichment's domain: a person to search, what idiCORE found, and how a day's results become contact rows,
cache entries and dead letters. The idiCORE client (`adapters/vendors/idicore.py`) speaks these types."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from etl_platform.core import dead_letters as dl
from etl_platform.core.leads import LEAD_COLUMNS

MAX_PHONES = 3
MAX_EMAILS = 3
CONTACT_COLUMNS = ["LEAD_ID", "PHONE", "PHONE_RANK", "PHONE_TYPE", "EMAILS", "MATCH"]
OUTPUT_COLUMNS = [*CONTACT_COLUMNS, dl.STAGE, dl.REASON, dl.ROW_JSON]


@dataclass(frozen=True)
class PersonQuery:
    lead_id: str
    first_name: str
    last_name: str
    address: str | None
    city: str | None
    state: str | None
    zip: str | None


@dataclass(frozen=True)
class FoundPhone:
    phone: str  # normalised 10-digit NANP
    rank: int  # 1 = idiCORE's best
    type: str | None


@dataclass(frozen=True)
class SearchResult:
    lead_id: str
    status: str  # "found" | "no_match" | "rejected" (idiCORE refused this query) | "failed" (vendor trouble)
    phones: tuple[FoundPhone, ...] = ()
    emails: tuple[str, ...] = ()
    reason: str | None = None  # for "rejected"/"failed": a reason code for the dead-letter row
    dropped_disconnected: int = 0
    dropped_invalid: int = 0

    @property
    def ok(self) -> bool:
        return self.status in ("found", "no_match")

    def for_lead(self, lead_id: str) -> SearchResult:
        """The same answer for another lead of the same person (the cache and the search are per person)."""
        return SearchResult(lead_id, self.status, self.phones, self.emails, self.reason)


def _text(value: object) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


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
    phones = result.phones or (None,)
    return [
        {
            "LEAD_ID": result.lead_id,
            "PHONE": p.phone if p else None,
            "PHONE_RANK": p.rank if p else None,
            "PHONE_TYPE": p.type if p else None,
            "EMAILS": emails,
            "MATCH": result.status,
        }
        for p in phones
    ]


def dead_letter_rows(new_leads: pd.DataFrame, idicore_failures: dict[str, str]) -> pd.DataFrame:
    """Leads this partition cannot deliver, as rows that lead_results writes to LEAD_DEAD_LETTERS: those the
    pre-filter rejected and those idiCORE refused or failed on."""
    prefiltered = new_leads[new_leads["REJECT_REASON"].notna()]
    valid = new_leads["REJECT_REASON"].isna()  # a rejected row may share its LEAD_ID with a searched one
    enriched = new_leads[valid & new_leads["LEAD_ID"].isin(list(idicore_failures))]
    frames = [
        pd.DataFrame(
            {
                "LEAD_ID": frame["LEAD_ID"].tolist(),
                dl.STAGE: stage,
                dl.REASON: reasons,
                dl.ROW_JSON: dl.row_json(frame, LEAD_COLUMNS),
            }
        )
        for stage, frame, reasons in (
            ("pre_filter", prefiltered, prefiltered["REJECT_REASON"].tolist()),
            ("idicore", enriched, [idicore_failures[i] for i in enriched["LEAD_ID"]]),
        )
    ]
    return pd.concat(frames, ignore_index=True).reindex(columns=OUTPUT_COLUMNS)


def contacts_frame(rows: list[dict], dead_letters: pd.DataFrame) -> pd.DataFrame:
    """lead_contacts' output: the contact rows, then the dead letters (their STAGE set)."""
    contacts = pd.concat([pd.DataFrame(rows, columns=CONTACT_COLUMNS), dead_letters], ignore_index=True)
    contacts["PHONE_RANK"] = contacts["PHONE_RANK"].astype("Int64")
    return contacts
