"""Stage bookkeeping: the trace names of DESIGN.md, timing, and the numeric metadata every stage records."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import dagster as dg

# asset key -> the stage name people see in traces (DESIGN.md)
STAGE_NAMES = {
    "raw_leads": "Snowflake Query",
    "new_leads": "Pre-filtering",
    "lead_contacts": "idiCORE",
    "litigator_scrub": "CCC",
    "dnc_scrub": "DNC",
    "lead_results": "Results Upload",
    "dnc_registry": "DNC Registry Load",
}


@dataclass
class StageRecord:
    """Collects a stage's figures; `metadata()` is what goes on the materialization."""

    asset: str
    started: float = field(default_factory=time.perf_counter)
    figures: dict[str, float | int | str] = field(default_factory=dict)

    def add(self, **figures: float | int | str) -> None:
        self.figures.update(figures)

    def metadata(self) -> dict[str, object]:
        """Call last: the stage's seconds run until now."""
        return {
            "stage": STAGE_NAMES[self.asset],
            "stage_seconds": dg.MetadataValue.float(round(time.perf_counter() - self.started, 4)),
            **self.figures,
        }


def error_share_exceeded(failed: int, total: int, max_share: float) -> bool:
    """True when a vendor stage failed too often to call the run a success (it must fail loudly)."""
    return total > 0 and failed / total > max_share
