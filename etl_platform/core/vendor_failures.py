"""What counts as a vendor failure: the one definition the stages' error budgets and the error-rate checks
use, over one vocabulary, the error kinds (`VendorError.kind`: "http_503", "timeout", "bad_reply_html",
"breaker_open", ...). A scrub's reason for an unknown phone is the kind with the vendor's prefix
("ccc_http_503"); `kind_of` takes it off.

A vendor failure means the vendor could not answer for that call or item: a timeout, a 5xx, a 429 that
outlived the retries, a reply that breaks the contract, or the breaker refusing the call because the vendor
is down. Not vendor failures: problems of the input (a number that failed validation or that CCC rejected,
a malformed request, a query idiCORE refused as too broad) and the bookkeeping of a split batch.

The stage budgets (VENDOR_MAX_ERROR_SHARE) count vendor failures per item; the error-rate check
(VENDOR_ALERT_ERROR_SHARE) counts failed *calls*, so it leaves out breaker refusals, which made no call.
"""

from __future__ import annotations

INVALID_NUMBER = "invalid_number"  # failed our validation: never sent
REJECTED_NUMBER = "rejected_number"  # CCC answered 400 for this one number (isolated by bisection)
BREAKER_OPEN = "breaker_open"
BATCH_SPLIT = "batch_split"
NOT_VENDOR_FAILURES = frozenset({INVALID_NUMBER, REJECTED_NUMBER, "http_400", BATCH_SPLIT})
# idiCORE refusing a query (400 with an error code: idicore_TooManyMatches, ...) is the lead's problem.
REFUSED_QUERY_PREFIX = "idicore_"


def scrub_reason(vendor: str, kind: str) -> str:
    """The reason stored for a phone a vendor left unknown."""
    return f"{vendor}_{kind}"


def kind_of(reason: str | None, vendor: str) -> str | None:
    """The error kind behind a scrub reason (the vendor's prefix taken off)."""
    if reason and reason.startswith(f"{vendor}_"):
        return reason[len(vendor) + 1 :]
    return reason


def is_vendor_failure(kind: str | None) -> bool:
    """True when the vendor could not answer (None or "": there was no failure at all)."""
    if not kind:
        return False
    return kind not in NOT_VENDOR_FAILURES and not kind.startswith(REFUSED_QUERY_PREFIX)


def failed_calls(figures: dict[str, object], vendor: str) -> int:
    """Failed calls among the `<vendor>_error_<kind>` counters of a stage's metadata: vendor failures that
    were calls (breaker refusals made none)."""
    prefix = f"{vendor}_error_"
    return sum(
        int(v)
        for k, v in figures.items()
        if k.startswith(prefix) and is_vendor_failure(kind := k[len(prefix) :]) and kind != BREAKER_OPEN
    )
