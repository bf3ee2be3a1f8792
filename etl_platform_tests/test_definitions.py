"""The code location loads the way `dagster dev` and the CLI load it, with the graph of DESIGN.md."""

from __future__ import annotations

import os
import subprocess

import dagster as dg

from etl_platform.environment import PROJECT_ROOT, dagster_bin

EDGES = {
    "raw_leads": set(),
    "new_leads": {"raw_leads"},
    "lead_contacts": {"new_leads"},
    "litigator_scrub": {"lead_contacts"},
    "dnc_scrub": {"lead_contacts", "dnc_registry"},
    "lead_results": {"lead_contacts", "litigator_scrub", "dnc_scrub"},
    "dnc_registry": set(),
}


def test_asset_graph_partitions_and_dependencies(defs):
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == set(EDGES)
    for name, parents in EDGES.items():
        node = graph.get(dg.AssetKey(name))
        assert {p.to_user_string() for p in node.parent_keys} == parents, name
        if name == "dnc_registry":
            assert node.partitions_def is None
        else:
            assert isinstance(node.partitions_def, dg.DailyPartitionsDefinition)
            assert node.partitions_def.timezone == "UTC"
    assert set(defs.resources) >= {"snowflake", "idicore", "ccc", "dnc", "settings"}
    job = defs.resolve_job_def("daily_leads_job")
    assert job.executor_def.name == "in_process"


def test_scrubs_do_not_depend_on_each_other(defs):
    graph = defs.resolve_asset_graph()
    assert dg.AssetKey("dnc_scrub") not in graph.get(dg.AssetKey("litigator_scrub")).parent_keys
    assert dg.AssetKey("litigator_scrub") not in graph.get(dg.AssetKey("dnc_scrub")).parent_keys


def test_workspace_validates_with_the_dagster_cli(dagster_home, tmp_path):
    result = subprocess.run(
        [dagster_bin(), "definitions", "validate", "-w", str(PROJECT_ROOT / "workspace.yaml")],
        cwd=tmp_path,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "etl_platform" in result.stdout + result.stderr
