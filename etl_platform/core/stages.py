"""The stage registry: one place for each stage's identity (asset key, trace name, trace label, pipeline
order, vendor, concurrency pool, group) and the job names. Assets, checks, the trace, `analyze`, the
baselines, the bench and the pools all read it from here.

`StageRecord` collects the figures a stage records in its materialization metadata.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

DAILY_JOB = "daily_leads_job"
REGISTRY_JOB = "dnc_registry_job"
SOURCE_CHECKS_JOB = "leads_source_checks_job"
LEADS_SOURCE = "leads"  # the asset key of the source table LEADS (external: the pipeline never writes it)


@dataclass(frozen=True)
class Stage:
    asset: str  # the asset key (DESIGN.md)
    name: str  # the stage name of DESIGN.md's traces and baselines
    label: str  # how the trace's "Pipeline Trace" line names it
    group: str  # the Dagster asset group, i.e. the folder under etl_platform/defs/
    vendor: str | None = None  # prefix of the vendor counters in its metadata (idicore_calls, ...)
    pool: str | None = None  # the instance concurrency pool that shares the vendor's rate limit


RAW_LEADS = Stage("raw_leads", "Snowflake Query", "Snowflake Query", "leads")
NEW_LEADS = Stage("new_leads", "Pre-filtering", "Pre-filtering", "leads")
LEAD_CONTACTS = Stage("lead_contacts", "idiCORE", "idiCORE Enrichment", "enrichment", vendor="idicore", pool="idicore")
LITIGATOR_SCRUB = Stage("litigator_scrub", "CCC", "CCC Litigator Check", "compliance", vendor="ccc", pool="ccc")
DNC_SCRUB = Stage("dnc_scrub", "DNC", "DNC Check", "compliance")
LEAD_RESULTS = Stage("lead_results", "Results Upload", "Results Upload", "delivery")
DNC_REGISTRY = Stage("dnc_registry", "DNC Registry Load", "DNC Registry Load", "compliance")

# The daily partition's stages, in pipeline order (the two scrubs are independent; CCC is listed first).
PIPELINE: tuple[Stage, ...] = (RAW_LEADS, NEW_LEADS, LEAD_CONTACTS, LITIGATOR_SCRUB, DNC_SCRUB, LEAD_RESULTS)
PIPELINE_ORDER: tuple[str, ...] = tuple(s.asset for s in PIPELINE)
STAGES: dict[str, Stage] = {s.asset: s for s in (*PIPELINE, DNC_REGISTRY)}
VENDOR_POOLS: tuple[str, ...] = tuple(s.pool for s in PIPELINE if s.pool)


def stage(asset: str) -> Stage:
    return STAGES[asset]


@dataclass
class StageRecord:
    """Collects a stage's figures; `metadata()` is what goes on the materialization."""

    asset: str
    started: float = field(default_factory=time.perf_counter)
    figures: dict[str, object] = field(default_factory=dict)

    def add(self, **figures: object) -> None:
        self.figures.update(figures)

    def metadata(self) -> dict[str, object]:
        """Call last: the stage's seconds run until now (always a float, so the UI plots it)."""
        return {
            "stage": STAGES[self.asset].name,
            "stage_seconds": float(round(time.perf_counter() - self.started, 4)),
            **self.figures,
        }


def error_share_exceeded(failed: int, total: int, max_share: float) -> bool:
    """True when a vendor stage failed too often to call the run a success (it must fail loudly)."""
    return total > 0 and failed / total > max_share
