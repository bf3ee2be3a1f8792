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
        env=os.environ | {"ETL_BENCH_CACHE": str(tmp_path / "cache")},  # generated registry files: not in ~
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    payload = json.loads(out.read_text())
    assert payload["machine"]["cores"] == os.cpu_count() and payload["repeats"] == 2
    (dnc,) = payload["benchmarks"]
    figures = {f["name"]: f for f in dnc["figures"]}
    # the full registry is loaded once (at 50M it takes minutes); look-ups are repeated
    assert len(figures["load (files -> sorted store, atomic swap)"]["runs"]) == 1
    assert len(figures["look up 25,000 phones (50,000-number store)"]["runs"]) == 2, "capped at half the registry"
    assert len(figures["look up 10,000 phones (50,000-number store)"]["runs"]) == 3
    assert any(f.startswith("change list:") for f in figures), "the incremental update is measured"
    assert (tmp_path / "cache").is_dir()
    # every target is judged (none asserted: at 50,000 numbers the per-50M load is fixed costs scaled up)
    assert {t["target"] for t in dnc["targets"]} >= {
        "load <= 5 min per 50,000,000 numbers",
        "peak memory <= 2 GiB",
        "10,000 look-ups <= 0.5 s",
        "10,000 look-ups <= 0.5 s at national size",
    }, dnc["targets"]
    assert len(figures["look up 10,000 phones, national-size index (cold)"]["runs"]) == 3
    assert "5. DNC store" in proc.stdout and "JSON: " in proc.stdout


def test_a_childs_peak_memory_is_its_own_not_its_parents(tmp_path):
    """wait4 on a child of a process holding 400 MiB reported >= 400 MiB for a child using a few: Linux carries
    the peak across exec after vfork. bench.peak_rss, the launcher the benchmarks measure children through,
    reports the child's own."""
    import numpy as np

    held = np.ones(400 * 2**20 // 8)  # this process's peak is now above 400 MiB
    child = [sys.executable, "-c", "pass"]
    direct = subprocess.Popen(child)
    _, _, usage = os.wait4(direct.pid, 0)
    assert usage.ru_maxrss / 1024 > 400, "the mechanism the launcher exists for"
    out = tmp_path / "rss.json"
    from bench.peak_rss import measured

    assert subprocess.run(measured(out, child), cwd=tmp_path).returncode == 0, "from any working directory"
    assert json.loads(out.read_text())["peak_rss_mib"] < 100
    assert held.sum() > 0
    failing = [sys.executable, "-c", "raise SystemExit(3)"]
    assert (
        subprocess.run([sys.executable, "-m", "bench.peak_rss", str(out), *failing], cwd=PROJECT_ROOT).returncode == 3
    )
