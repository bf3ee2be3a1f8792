"""The compliance rule: a phone is callable only if both scrubs said "clear" for exactly that number.

Everything that is not an affirmative clear blocks the phone with a reason code. This module is the only
place that can produce CALLABLE = true, so the rule is tested exhaustively by property tests
(`etl_platform_tests/unit/test_rules.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Litigator(StrEnum):
    LITIGATOR = "litigator"
    CLEAR = "clear"
    UNKNOWN = "unknown"


class Dnc(StrEnum):
    LISTED = "listed"
    CLEAR = "clear"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ScrubOutcome:
    """One scrub's answer for one phone. `reason` explains a non-clear status (never a phone number)."""

    status: str
    reason: str | None = None


def outcomes_by_phone(phones: list, statuses: list, reasons: list, status_type=str) -> dict[str, ScrubOutcome]:
    """{phone: ScrubOutcome} from a scrub's columns (a reason that is not a string, e.g. NaN, is None). A
    scrub has a handful of distinct (status, reason) pairs and outcomes are immutable, so each pair is made
    once: one object per phone was most of the cost at 100,000 leads."""
    made: dict[tuple, ScrubOutcome] = {}
    outcomes = {}
    for phone, status, reason in zip(phones, statuses, reasons, strict=True):
        key = (status, reason if isinstance(reason, str) else None)
        outcome = made.get(key)
        if outcome is None:
            outcome = made[key] = ScrubOutcome(status_type(key[0]), key[1])
        outcomes[phone] = outcome
    return outcomes


NOT_SCRUBBED = "not_scrubbed"


@dataclass(frozen=True)
class Verdict:
    callable: bool
    block_reason: str | None


def decide(phone: str | None, litigator: ScrubOutcome | None, dnc: ScrubOutcome | None) -> Verdict:
    """Combine the two scrubs for one phone. Missing outcomes count as unknown, never as clear."""
    if phone is None:
        return Verdict(False, "NO_PHONE")
    reasons: list[str] = []
    lit = litigator or ScrubOutcome(Litigator.UNKNOWN, NOT_SCRUBBED)
    dn = dnc or ScrubOutcome(Dnc.UNKNOWN, NOT_SCRUBBED)
    if lit.status == Litigator.LITIGATOR:
        reasons.append("LITIGATOR")
    elif lit.status != Litigator.CLEAR:
        reasons.append(f"LITIGATOR_UNKNOWN:{lit.reason or 'unspecified'}")
    if dn.status == Dnc.LISTED:
        reasons.append("DNC_LISTED")
    elif dn.status != Dnc.CLEAR:
        reasons.append(f"DNC_UNKNOWN:{dn.reason or 'unspecified'}")
    # Only the exact string "clear" from both gates lets a phone through.
    if not reasons and lit.status == Litigator.CLEAR and dn.status == Dnc.CLEAR:
        return Verdict(True, None)
    return Verdict(False, ";".join(reasons) or "UNSPECIFIED")
