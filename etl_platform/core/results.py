"""Results: one verdict per (lead, phone) from the contacts and both scrubs, and the data checks that must
hold before a partition is uploaded. `verdict.decide` is the only source of CALLABLE."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from etl_platform.core.phones import is_valid_nanp
from etl_platform.core.verdict import ScrubOutcome, decide, outcomes_by_phone

RESULT_COLUMNS = [
    "PARTITION_DATE",
    "LEAD_ID",
    "PHONE",
    "PHONE_RANK",
    "LITIGATOR_STATUS",
    "DNC_STATUS",
    "CALLABLE",
    "BLOCK_REASON",
    "EMAILS",
    "SCRUBBED_AT",
    "RUN_ID",
]


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def scrub_outcomes(frame: pd.DataFrame, prefix: str) -> dict[str, ScrubOutcome]:
    """{phone: outcome} from a scrub's frame (PHONE, <prefix>_STATUS, <prefix>_REASON)."""
    # Columns as lists first: iterating an Arrow-backed pandas column is ~10x slower than a list.
    return outcomes_by_phone(
        frame["PHONE"].tolist(), frame[f"{prefix}_STATUS"].tolist(), frame[f"{prefix}_REASON"].tolist()
    )


def result_rows(
    contacts: pd.DataFrame,
    litigator: pd.DataFrame,
    dnc: pd.DataFrame,
    *,
    day: dt.date,
    run_id: str,
    scrubbed_at: dt.datetime,
) -> list[tuple]:
    """Join contacts with both scrubs by exact phone, one tuple per RESULT_COLUMNS."""
    lit = scrub_outcomes(litigator, "LITIGATOR")
    dn = scrub_outcomes(dnc, "DNC")
    partition = day.isoformat()
    rows = []
    for lead_id, phone, rank, emails in zip(
        contacts["LEAD_ID"].tolist(),
        contacts["PHONE"].tolist(),
        contacts["PHONE_RANK"].tolist(),
        contacts["EMAILS"].tolist(),
        strict=True,
    ):
        phone = None if _missing(phone) else str(phone)
        lit_outcome, dnc_outcome = lit.get(phone), dn.get(phone)
        verdict = decide(phone, lit_outcome, dnc_outcome)
        rows.append(
            (
                partition,
                lead_id,
                phone,
                None if _missing(rank) else int(rank),
                None if phone is None else (str(lit_outcome.status) if lit_outcome else "unknown"),
                None if phone is None else (str(dnc_outcome.status) if dnc_outcome else "unknown"),
                verdict.callable,
                verdict.block_reason,
                None if _missing(emails) else emails,
                scrubbed_at,
                run_id,
            )
        )
    return rows


def upload_records(rows: list[tuple], scrubbed_at: dt.datetime) -> list[dict]:
    """The rows as the JSON objects sql/insert_results.sql reads (the timestamp formatted once, not per row)."""
    stamp = scrubbed_at.strftime("%Y-%m-%d %H:%M:%S.%f")
    stamp_at = RESULT_COLUMNS.index("SCRUBBED_AT")
    return [dict(zip(RESULT_COLUMNS, (*row[:stamp_at], stamp, *row[stamp_at + 1 :]), strict=True)) for row in rows]


def _text(value: object) -> str | None:
    if _missing(value) or value is pd.NaT:
        return None
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _by_phone(frame: pd.DataFrame, columns: list[str]) -> dict[str, tuple]:
    """{phone: values of `columns`} from a scrub's frame (a column it lacks reads as None)."""
    return {row[0]: row[1:] for row in frame.reindex(columns=["PHONE", *columns]).itertuples(index=False, name=None)}


def evidence_records(
    rows: list[tuple], litigator: pd.DataFrame, dnc: pd.DataFrame, recorded_at: dt.datetime
) -> list[dict]:
    """What SCRUB_EVIDENCE keeps for every result row with a phone: both verdicts with their reasons, when CCC
    answered, the DNC registry copy (area code, date, file) that answered, the final verdict and the run."""
    # The verdicts come from the result rows; the scrub frames add their reasons and the evidence behind them.
    lit = _by_phone(litigator, ["LITIGATOR_REASON", "CCC_ANSWERED_AT"])
    dn = _by_phone(dnc, ["DNC_REASON", "DNC_AREA_CODE", "DNC_COPY_DATE", "DNC_SOURCE_FILE"])
    at = {name: i for i, name in enumerate(RESULT_COLUMNS)}
    stamp = recorded_at.strftime("%Y-%m-%d %H:%M:%S.%f")
    records = []
    for row in rows:
        phone = row[at["PHONE"]]
        if phone is None:
            continue
        lit_reason, answered = lit.get(phone, ("not_scrubbed", None))
        dnc_reason, area_code, copy_date, source_file = dn.get(phone, ("not_scrubbed", None, None, None))
        records.append(
            {
                "PHONE": phone,
                "PARTITION_DATE": row[at["PARTITION_DATE"]],
                "RUN_ID": row[at["RUN_ID"]],
                "LEAD_ID": row[at["LEAD_ID"]],
                "LITIGATOR_STATUS": row[at["LITIGATOR_STATUS"]],
                "LITIGATOR_REASON": _text(lit_reason),
                "CCC_ANSWERED_AT": _text(answered),
                "DNC_STATUS": row[at["DNC_STATUS"]],
                "DNC_REASON": _text(dnc_reason),
                "DNC_AREA_CODE": _text(area_code),
                "DNC_COPY_DATE": _text(copy_date),
                "DNC_SOURCE_FILE": _text(source_file),
                "CALLABLE": bool(row[at["CALLABLE"]]),
                "BLOCK_REASON": row[at["BLOCK_REASON"]],
                "RECORDED_AT": stamp,
            }
        )
    return records


def block_counts(results: pd.DataFrame) -> dict[str, int]:
    """Blocked rows by the kind of each reason (a row blocked for two reasons counts under both)."""
    blocked = results.loc[~results["CALLABLE"], "BLOCK_REASON"].str.split(";").explode()
    return {f"blocked_{k.lower()}": int(v) for k, v in blocked.str.split(":").str[0].value_counts().items()}


# --- data checks on lead_results -------------------------------------------------------------------------
COMPLIANCE_CHECK = "no_callable_without_two_clear_scrubs"
ROWS_WRITTEN_CHECK = "rows_written_match"
DATA_CHECKS = {
    COMPLIANCE_CHECK: "blocking: every CALLABLE phone has LITIGATOR_STATUS = DNC_STATUS = clear",
    "every_lead_accounted_for": "every lead from lead_contacts is in the results or the dead letters",
    "every_phone_scrubbed_twice": "every phone has a verdict from both scrubs",
    "no_duplicate_lead_phone": "no (LEAD_ID, PHONE) pair twice",
    "phones_are_valid_nanp": "every stored phone is a valid 10-digit NANP number",
    ROWS_WRITTEN_CHECK: "rows in LEAD_RESULTS for the partition equal the rows computed",
}


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
    # Every check's metadata: what was observed, the threshold it is held to, and the unit it is counted in.
    return {
        COMPLIANCE_CHECK: (
            bool(violations.empty),
            _figures(len(violations), "callable phones without two clear scrubs", phones=len(phones)),
        ),
        "every_lead_accounted_for": (
            expected_leads == accounted,
            _figures(
                len(expected_leads - accounted) + len(accounted - expected_leads),
                "leads missing from or unexpected in results + dead letters",
                leads=len(expected_leads),
                missing=len(expected_leads - accounted),
                unexpected=len(accounted - expected_leads),
            ),
        ),
        "every_phone_scrubbed_twice": (
            not missing_lit and not missing_dnc,
            _figures(
                len(missing_lit | missing_dnc),
                "phones without a verdict from both scrubs",
                phones=len(phones),
                missing_litigator=len(missing_lit),
                missing_dnc=len(missing_dnc),
            ),
        ),
        "no_duplicate_lead_phone": (
            bool(dup == 0),
            _figures(int(dup), "duplicate (LEAD_ID, PHONE) rows", duplicates=int(dup)),
        ),
        "phones_are_valid_nanp": (invalid == 0, _figures(invalid, "phones not valid NANP", invalid=invalid)),
    }


def _figures(observed: int, unit: str, **details: int) -> dict:
    return {"observed": observed, "threshold": 0, "unit": unit, **details}
