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
# Longest value accepted per field, checked before any vendor call: a longer one is a feed error, would be
# billed by idiCORE and likely refused. (Generous: the longest real US street address is well under 100.)
MAX_LENGTHS = {
    "LEAD_ID": 64,
    "FIRST_NAME": 100,
    "LAST_NAME": 100,
    "ADDRESS": 200,
    "CITY": 100,
    "STATE": 2,
    "ZIP": 10,
    "EMAIL": 254,  # RFC 5321's limit for an address
}
# Control characters (C0, DEL, C1) never belong in a name or an address; they break requests and logs.
CONTROL_CHARACTERS = r"[\x00-\x1f\x7f-\x9f]"
# Compared to tell a re-sent row (same content: a duplicate) from a different lead under the same LEAD_ID.
CONTENT_COLUMNS = [c for c in LEAD_COLUMNS if c not in ("LEAD_ID", "CREATED_AT")]


def day_bounds(day: dt.date) -> list[dt.datetime]:
    """[start, end) of a UTC day as UTC instants (aware, +00:00). LEADS.CREATED_AT may be TIMESTAMP_NTZ (UTC
    wall clock), TIMESTAMP_LTZ or TIMESTAMP_TZ: the warehouse adapter binds an aware datetime as a
    TIMESTAMP_TZ with its offset, so an LTZ or TZ column is compared by instant whatever the session's time
    zone, and an NTZ column as UTC wall clock in a session whose TIMEZONE is UTC (every real-account
    session sets it: adapters.warehouse.connection_args_from_env)."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return [start, start + dt.timedelta(days=1)]


def utc_wall_clock(values: pd.Series) -> pd.Series:
    """CREATED_AT as naive UTC timestamps, whatever its column type: an NTZ column reads as naive (already UTC
    wall clock), an LTZ one in the session's time zone, a TZ one with each row's own offset. Downstream (the
    day's rule "earliest wins", dead letters written as TIMESTAMP_NTZ) compares and stores one clock."""
    return pd.to_datetime(values, utc=True).dt.tz_localize(None)


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

    def text(column: str) -> pd.Series:
        return leads[column].fillna("").astype(str)

    state = text("STATE").str.strip().str.upper()
    zip_code = text("ZIP").str.strip()
    rules = [
        ("missing_lead_id", blank("LEAD_ID")),
        *((f"field_too_long:{c}", text(c).str.len() > limit) for c, limit in MAX_LENGTHS.items()),
        *((f"invalid_characters:{c}", text(c).str.contains(CONTROL_CHARACTERS, regex=True)) for c in MAX_LENGTHS),
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
    returning_leads: int  # seen on an earlier day: that day delivers them
    duplicates: int  # identical re-sends of a row, dropped (counted only)

    @property
    def rejected(self) -> pd.Series:
        return self.leads["REJECT_REASON"].notna()

    def figures(self) -> dict[str, int]:
        rejected = self.rejected
        return {
            "rows_in": self.rows_in,
            "returning_leads": self.returning_leads,
            "duplicates": self.duplicates,
            "dead_lettered": int(rejected.sum()),
            "rows_out": int((~rejected).sum()),
            **{f"rejected_{k}": int(v) for k, v in self.leads.loc[rejected, "REJECT_REASON"].value_counts().items()},
        }


def prefilter(raw_leads: pd.DataFrame, earlier: set[str]) -> Prefiltered:
    """Drop returning leads (`earlier`: LEAD_IDs that appear on an earlier day, which they belong to); keep
    each LEAD_ID's first arrival; mark invalid rows with their reason (they stay in the frame:
    lead_results dead-letters them with the results).

    The stated rule for one LEAD_ID on several rows of the day: the earliest CREATED_AT wins (then the
    order in LEADS). A later row with the same content is a re-send: dropped and counted as a duplicate. A
    later row with other content is a different lead under a reused id: it stays, rejected as
    `conflicting_duplicate_lead_id`, so it is dead-lettered rather than lost."""
    leads = raw_leads[~raw_leads["LEAD_ID"].isin(earlier)]
    returning = len(raw_leads) - len(leads)
    leads = leads.sort_values(["CREATED_AT", "LEAD_ID"], kind="stable", na_position="last")
    has_id = leads["LEAD_ID"].notna()
    later = leads["LEAD_ID"].duplicated(keep="first") & has_id
    # a missing value and an empty one count as the same content
    content = pd.Series([""] * len(leads), index=leads.index, dtype=object)
    for column in CONTENT_COLUMNS:
        content = content + "\x1f" + leads[column].fillna("").astype(str)
    resent = leads.assign(_content=content).duplicated(["LEAD_ID", "_content"]) & has_id
    kept = leads[~resent].copy()
    reasons = rejection_reasons(kept)
    conflicting = (later & ~resent)[~resent]
    kept["REJECT_REASON"] = reasons.mask(conflicting.to_numpy(), "conflicting_duplicate_lead_id")
    kept["PERSON_KEY"] = person_key(kept)
    return Prefiltered(kept.reset_index(drop=True), len(raw_leads), returning, int(resent.sum()))
