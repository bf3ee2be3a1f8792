"""The DNC registry reload sensor against the sandbox's registry files and the Postgres instance."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from etl_platform.defs.compliance.sensors import dnc_registry_files_sensor


def test_registry_sensor_requests_a_reload_only_when_files_change(defs, instance, sandbox, registry_loaded):
    context = dg.build_sensor_context(instance=instance)
    assert isinstance(dnc_registry_files_sensor(context), dg.SkipReason)
    source = Path(sandbox.env["DNC_SOURCE_DIR"])
    extra = source / "dnc_646_2026-11-20.txt"
    extra.write_text("646,2345678\n")
    try:
        request = dnc_registry_files_sensor(dg.build_sensor_context(instance=instance))
        assert isinstance(request, dg.RunRequest) and request.run_key.startswith("dnc-files-")
        again = dnc_registry_files_sensor(dg.build_sensor_context(instance=instance))
        assert again.run_key == request.run_key, "same files, same run key: the daemon runs it once"
    finally:
        extra.unlink()
    assert isinstance(dnc_registry_files_sensor(dg.build_sensor_context(instance=instance)), dg.SkipReason)
    assert defs.resolve_sensor_def("dnc_registry_files_sensor").job_name == "dnc_registry_job"


def test_daily_job_covers_the_pipeline_partitions(defs, instance):
    job = defs.resolve_job_def("daily_leads_job")
    assert defs.resolve_schedule_def("daily_leads_schedule").job_name == job.name
    assert "2026-11-21" in job.partitions_def.get_partition_keys(dynamic_partitions_store=instance)
