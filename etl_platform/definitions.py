"""The code location: what `dagster dev`, `dagster asset materialize -m etl_platform.definitions` and the
daemon load."""

from __future__ import annotations

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
