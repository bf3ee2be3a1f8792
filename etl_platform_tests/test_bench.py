"""The benchmark harness measures, it is not a timed test: these check that it runs, reports medians and
targets honestly, and writes JSON with the machine, on a small registry (no figure is asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from etl_platform.environment import PROJECT_ROOT


def test_bench_figures_medians_and_targets():
    sys.path.insert(0, str(PROJECT_ROOT))
    from bench.harness import BenchResult, Target, render

    result = BenchResult("x", "x")
    result.add("fast", "s", [3.0, 1.0, 2.0])
    result.add("ratio", "x", [0.95])
    result.targets = [Target("under 1.5 s", "fast", 1.5), Target("at least 0.9", "ratio", 0.9, at_least=True)]
    (slow, ok) = result.verdicts()
    assert result.figure("fast").median == 2.0
    assert slow["met"] is False and slow["median"] == 2.0, "a median above the limit is a miss"
    assert ok["met"] is True
    text = render([result], {"cpu": "c", "cores": 2, "memory_gib": 1, "python": "3", "dagster": "d", "commit": ""}, 3)
    assert "[MISS] under 1.5 s" in text and "[MET ] at least 0.9" in text


def test_bench_command_writes_json_with_machine_and_verdicts(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "dnc", "--repeats", "2", "--dnc-numbers", "50000", "--out", str(out)],
        cwd=PROJECT_ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    payload = json.loads(out.read_text())
    assert payload["machine"]["cores"] == os.cpu_count() and payload["repeats"] == 2
    (dnc,) = payload["benchmarks"]
    figures = {f["name"]: f for f in dnc["figures"]}
    load = figures["load (files -> sorted store, atomic swap)"]
    assert len(load["runs"]) == 2 and min(load["runs"]) <= load["median"] <= max(load["runs"])
    assert figures["look up 25,000 phones"]["median"] > 0, "look-ups capped at half of a small registry"
    assert dnc["targets"] == [], "the 1,000,000-look-up target is judged only when a million were looked up"
    assert "5. DNC store" in proc.stdout and "JSON: " in proc.stdout
