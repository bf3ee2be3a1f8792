"""What counts as a vendor failure: the one definition the scrubs' error budget and the error-rate checks use.

A vendor failure says something about the vendor's health (a timeout, a 5xx, a 429 that outlived the
retries, a reply that breaks the contract). A refused query, a malformed number or a call the open breaker
refused says something about the input or was already counted, so it neither fails a stage nor raises the
error rate.
"""

from __future__ import annotations

# Error kinds (VendorError.kind, also the `<vendor>_error_<kind>` metadata keys) and scrub reasons that are
# not vendor failures.
NOT_VENDOR_FAILURES = frozenset(
    {
        "invalid_number",  # the phone failed validation before any call
        "ccc_rejected_number",  # CCC answered 400 for this one number (isolated by bisection)
        "http_400",  # the request was refused as malformed: an input problem
        "batch_split",  # a CCC batch split to isolate a bad number (bookkeeping, not an error)
        "breaker_open",  # refused by our own breaker: the failures that opened it were counted already
    }
)
# idiCORE refusing a query (400 with an error code, e.g. idicore_TooManyMatches) is the lead's problem.
NOT_VENDOR_FAILURE_PREFIXES = ("idicore_",)


def is_vendor_failure(kind: str | None) -> bool:
    """True when an error kind or scrub reason says the vendor failed (None: no failure at all)."""
    if not kind:
        return False
    return kind not in NOT_VENDOR_FAILURES and not kind.startswith(NOT_VENDOR_FAILURE_PREFIXES)


def failed_calls(figures: dict[str, object], vendor: str) -> int:
    """Vendor failures among the `<vendor>_error_<kind>` counters of a stage's metadata."""
    prefix = f"{vendor}_error_"
    return sum(int(v) for k, v in figures.items() if k.startswith(prefix) and is_vendor_failure(k[len(prefix) :]))
