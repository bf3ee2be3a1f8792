"""The pre-filter's rules for a day's leads: which rows belong to the day, duplicates, validation, and the
person key the enrichment cache uses. Pandas in, pandas out; no I/O."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

import pandas as pd

LEAD_COLUMNS = ["LEAD_ID", "FIRST_NAME", "LAST_NAME", "ADDRESS", "CITY", "STATE", "ZIP", "EMAIL", "CREATED_AT"]
# USPS codes of the states, DC and the inhabited territories.
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


def day_bounds(day: dt.date) -> list[dt.datetime]:
    """[start, end) of a UTC day as naive timestamps, matching LEADS.CREATED_AT (TIMESTAMP_NTZ, UTC)."""
    start = dt.datetime.combine(day, dt.time())
    return [start, start + dt.timedelta(days=1)]


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


@dataclass(frozen=True)
class Prefiltered:
    """The day's leads after the pre-filter, and how every input row was accounted for."""

    leads: pd.DataFrame  # deduplicated; REJECT_REASON (None = valid) and PERSON_KEY added
    rows_in: int
    already_delivered: int
    duplicates: int

    @property
    def rejected(self) -> pd.Series:
        return self.leads["REJECT_REASON"].notna()

    def figures(self) -> dict[str, int]:
        rejected = self.rejected
        return {
            "rows_in": self.rows_in,
            "already_delivered": self.already_delivered,
            "duplicates": self.duplicates,
            "dead_lettered": int(rejected.sum()),
            "rows_out": int((~rejected).sum()),
            **{f"rejected_{k}": int(v) for k, v in self.leads.loc[rejected, "REJECT_REASON"].value_counts().items()},
        }


def prefilter(raw_leads: pd.DataFrame, delivered: set[str]) -> Prefiltered:
    """Drop leads an earlier partition delivered, keep each LEAD_ID's first arrival, and mark invalid leads
    with their reason (they stay in the frame: lead_results dead-letters them with the results)."""
    leads = raw_leads[~raw_leads["LEAD_ID"].isin(delivered)]
    already_delivered = len(raw_leads) - len(leads)
    # The feed re-sends rows within a day: keep each LEAD_ID's first arrival.
    leads = leads.sort_values(["CREATED_AT", "LEAD_ID"], kind="stable")
    deduped = leads[~leads["LEAD_ID"].duplicated(keep="first") | leads["LEAD_ID"].isna()].copy()
    deduped["REJECT_REASON"] = rejection_reasons(deduped)
    deduped["PERSON_KEY"] = person_key(deduped)
    return Prefiltered(deduped.reset_index(drop=True), len(raw_leads), already_delivered, len(leads) - len(deduped))
