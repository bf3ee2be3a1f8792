"""The DNC registry reload: a job for the `dnc_registry` asset and a sensor that requests it when the files
in DNC_SOURCE_DIR change."""

import os
from pathlib import Path

import dagster as dg

from etl_platform.adapters.dnc_store import DncStore
from etl_platform.core.stages import DNC_REGISTRY, REGISTRY_JOB

dnc_registry_job = dg.define_asset_job(
    REGISTRY_JOB, selection=[DNC_REGISTRY.asset], description="Reload the local DNC store from DNC_SOURCE_DIR."
)


@dg.sensor(
    job=dnc_registry_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Reloads the DNC registry when the FTC files in DNC_SOURCE_DIR change (new, replaced, removed).",
)
def dnc_registry_files_sensor(context: dg.SensorEvaluationContext):
    # Read at evaluation, as the resource's EnvVars are at run time: the paths are where the data is now.
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
