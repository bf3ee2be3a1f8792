"""What every benchmark shares: repeated measurement, medians, targets, the machine, the table, the JSON."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
WORK = PROJECT_ROOT / "bench" / ".work"  # generated inputs, sandboxes and run logs (not in git)


@dataclass
class Figure:
    """One measured quantity: every run's value and their median."""

    name: str
    unit: str
    runs: list[float]
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    def as_dict(self) -> dict:
        return {"name": self.name, "unit": self.unit, "median": self.median, "runs": self.runs, "note": self.note}


@dataclass
class Target:
    """A goal from the issue: `figure <= limit` (or >= when `at_least`)."""

    name: str
    figure: str
    limit: float
    at_least: bool = False

    def met(self, value: float) -> bool:
        return value >= self.limit if self.at_least else value <= self.limit


@dataclass
class BenchResult:
    name: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    context: dict = field(default_factory=dict)  # settings the figures depend on

    def add(self, name: str, unit: str, runs: list[float], note: str = "") -> Figure:
        figure = Figure(name, unit, [round(v, 6) for v in runs], note)
        self.figures.append(figure)
        return figure

    def figure(self, name: str) -> Figure:
        return next(f for f in self.figures if f.name == name)

    def verdicts(self) -> list[dict]:
        out = []
        for target in self.targets:
            value = self.figure(target.figure).median
            out.append(
                {
                    "target": target.name,
                    "figure": target.figure,
                    "median": value,
                    "limit": target.limit,
                    "comparison": ">=" if target.at_least else "<=",
                    "met": target.met(value),
                }
            )
        return out

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "title": self.title,
            "context": self.context,
            "figures": [f.as_dict() for f in self.figures],
            "targets": self.verdicts(),
        }


def machine() -> dict:
    """Where the figures come from: they mean little without it."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    from importlib.metadata import version

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "os": platform.platform(),
        "python": platform.python_version(),
        "dagster": version("dagster"),
        "snowflake_connector": version("snowflake-connector-python"),
        "duckdb": version("duckdb"),
        "commit": commit,
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _fmt(value: float, unit: str) -> str:
    if unit in ("count", "rows", "searches", "leads"):
        return f"{value:,.0f}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.4f}"


def render(results: list[BenchResult], info: dict, repeats: int) -> str:
    lines = [
        f"etl_platform benchmarks - {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, "
        f"Python {info['python']}, dagster {info['dagster']}, commit {info['commit'] or '?'}",
        f"medians of {repeats} runs unless noted; spread = min..max",
    ]
    for result in results:
        lines += ["", f"== {result.title}"]
        if result.context:
            lines.append("   " + ", ".join(f"{k}={v}" for k, v in result.context.items()))
        width = max((len(f.name) for f in result.figures), default=10)
        for f in result.figures:
            spread = f"{_fmt(min(f.runs), f.unit)}..{_fmt(max(f.runs), f.unit)}" if len(f.runs) > 1 else ""
            note = f"  ({f.note})" if f.note else ""
            lines.append(f"   {f.name:<{width}}  {_fmt(f.median, f.unit):>10} {f.unit:<9} {spread:<22}{note}")
        for v in result.verdicts():
            mark = "MET " if v["met"] else "MISS"
            lines.append(f"   [{mark}] {v['target']}: {_fmt(v['median'], '')} {v['comparison']} {_fmt(v['limit'], '')}")
    return "\n".join(lines)


def write_json(path: Path, results: list[BenchResult], info: dict, repeats: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"machine": info, "repeats": repeats, "benchmarks": [r.as_dict() for r in results]}
    path.write_text(json.dumps(payload, indent=2) + "\n")
