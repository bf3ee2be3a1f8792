"""The code location: what `dagster dev`, `dagster asset materialize -m etl_platform.definitions` and the
daemon load."""

from __future__ import annotations

import gc
import sys

import dagster as dg

from etl_platform.alerts import freshness_alert_sensor, run_failure_alert_sensor
from etl_platform.assets.contacts import lead_contacts
from etl_platform.assets.leads import new_leads, raw_leads
from etl_platform.assets.results import lead_results
from etl_platform.assets.scrubs import dnc_registry, dnc_scrub, litigator_scrub
from etl_platform.partitions import daily_partitions
from etl_platform.resources import build_resources
from etl_platform.schedules import daily_leads_schedule
from etl_platform.sensors import dnc_registry_files_sensor, dnc_registry_job

PIPELINE_ASSETS = [raw_leads, new_leads, lead_contacts, litigator_scrub, dnc_scrub, lead_results]

daily_leads_job = dg.define_asset_job(
    "daily_leads_job",
    selection=dg.AssetSelection.assets(*PIPELINE_ASSETS),
    partitions_def=daily_partitions,
    description="One day of leads, end to end.",
)

defs = dg.Definitions(
    assets=[*PIPELINE_ASSETS, dnc_registry],
    jobs=[daily_leads_job, dnc_registry_job],
    schedules=[daily_leads_schedule],
    sensors=[
        dnc_registry_files_sensor,
        run_failure_alert_sensor,
        freshness_alert_sensor,
    ],
    resources=build_resources(),
    # In-process on purpose: the multiprocess executor costs ~2 s of process start-up per step on this
    # 2-core machine, more than the whole 200-lead pipeline's own work (README, Performance). The
    # stages are I/O-bound on vendors and the warehouse; concurrency lives inside the vendor clients.
    executor=dg.in_process_executor,
)

# Everything imported so far (dagster, the Snowflake connector and snowpark, pandas: ~1.5 million objects)
# lives as long as the process. Freezing it takes it out of the cyclic garbage collector's full passes:
# without this, the collection at interpreter exit alone took ~2 s after every `dagster asset materialize`
# (py-spy: gc_collect_main), and every full collection during a run rescanned the same objects.
# Not when duckdb is already loaded (the test process's in-process sandbox): its bindings would report
# frozen objects as leaks at exit. The pipeline itself imports duckdb only when it uses the DNC store.
if "duckdb" not in sys.modules:
    gc.freeze()

# Imported after the freeze on purpose (its objects stay collectable, see above), but still with the code
# location: the DNC scrub needs it in every run, and an import is start-up cost, not the stage's.
import duckdb  # noqa: E402, F401
