"""`python -m bench dnc` end to end on a small registry: it runs and writes JSON with the machine and the
verdicts (no figure is asserted: benchmarks are not timed tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from etl_platform_tests.conftest import PROJECT_ROOT


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
