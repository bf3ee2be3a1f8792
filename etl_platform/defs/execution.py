"""How runs execute: the executor and the whole-step retry policy, built from the Settings."""

from __future__ import annotations

import dagster as dg

from etl_platform.core.settings import Settings

# In-process on purpose: the multiprocess executor costs ~2 s of process start-up per step on a 2-core
# machine, more than the whole 200-lead pipeline's own work (docs/how-it-works.md, "Design decisions").
# The stages are I/O-bound on vendors and the warehouse; concurrency lives inside the vendor clients.
EXECUTOR = dg.in_process_executor


def vendor_step_retry_policy(settings: Settings) -> dg.RetryPolicy:
    """Whole-step retries for the vendor-bound assets, on top of the clients' per-call retries: a vendor
    that is down for minutes gets another chance before the run fails."""
    return dg.RetryPolicy(
        max_retries=settings.step_retry_max,
        delay=settings.step_retry_delay_seconds,
        backoff=dg.Backoff.EXPONENTIAL,
        jitter=dg.Jitter.PLUS_MINUS,
    )
