"""The benchmark harness measures, it is not a timed test: these check that it runs, reports medians and
targets honestly, and writes JSON with the machine, on a small registry (no figure is asserted)."""

from __future__ import annotations

import sys

from etl_platform_tests.conftest import PROJECT_ROOT


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
