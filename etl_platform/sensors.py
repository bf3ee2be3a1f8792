"""The DNC registry reload sensor: when the files in DNC_SOURCE_DIR change, materialize `dnc_registry`."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from etl_platform.assets.scrubs import dnc_registry
from etl_platform.vendors.dnc import DncStore

dnc_registry_job = dg.define_asset_job(
    "dnc_registry_job", selection=[dnc_registry], description="Reload the local DNC store from DNC_SOURCE_DIR."
)


@dg.sensor(
    job=dnc_registry_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Reloads the DNC registry when the FTC files in DNC_SOURCE_DIR change (new, replaced, removed).",
)
def dnc_registry_files_sensor(context: dg.SensorEvaluationContext):
    source = Path(os.environ.get("DNC_SOURCE_DIR", ""))
    registry = Path(os.environ.get("DNC_REGISTRY_PATH", ""))
    if not source.is_dir():
        return dg.SkipReason(f"DNC_SOURCE_DIR {source} is not a folder")
    store = DncStore(registry)
    wanted = store.source_fingerprint(source)
    if registry.exists() and store.fingerprint() == wanted:
        return dg.SkipReason("registry files unchanged since the last load")
    # The fingerprint as run key: one reload per distinct set of files, however often the sensor ticks.
    return dg.RunRequest(run_key=f"dnc-files-{wanted}")
