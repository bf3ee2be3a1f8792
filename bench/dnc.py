"""Benchmark 5: the DNC store (DuckDB): loading a national-size registry and looking phones up.

The registry is synthetic but shaped like the FTC's: one full-list file per area code, `AAA,NNNNNNN`
lines. It is generated once per size into bench/.work/ (not timed) and reused.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.harness import WORK, BenchResult, Target
from etl_platform.adapters.dnc_store import DncStore

AREA_CODES = 50
LOOKUP_SIZES = (600, 1_000_000)
DNC_BATCH_SIZE = 1_000_000  # the asset's default (DNC_BATCH_SIZE)


def _area_codes() -> list[int]:
    return [201 + 2 * i for i in range(AREA_CODES)]  # 201, 203, ... all valid NANP area codes


def registry_source(total: int, copy_date: dt.date) -> Path:
    """FTC-style files holding `total` numbers spread over AREA_CODES area codes (cached by size/date)."""
    source = WORK / f"dnc_source_{total}_{copy_date.isoformat()}"
    done = source / ".complete"
    if done.exists():
        return source
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    rng = np.random.default_rng(2026)
    per_area = total // AREA_CODES
    for area in _area_codes():
        # 7-digit numbers whose exchange starts with 2-9, unique within the area code
        numbers = np.unique(rng.integers(2_000_000, 10_000_000, size=int(per_area * 1.1)))
        numbers = rng.permutation(numbers)[:per_area]
        (source / f"dnc_{area}_{copy_date.isoformat()}.txt").write_text(
            "".join(f"{area},{n}\n" for n in numbers.tolist())
        )
    done.write_text("ok")
    return source


def _phones(source: Path, count: int, rng: np.random.Generator) -> list[str]:
    """Half listed numbers from the files, half random numbers in the same area codes."""
    listed: list[str] = []
    files = sorted(source.glob("dnc_*.txt"))
    need = count // 2
    for path in files:
        lines = path.read_text().splitlines()
        take = min(len(lines), max(1, need // len(files)) + 1)
        listed += [line.replace(",", "") for line in rng.choice(lines, size=take, replace=False).tolist()]
        if len(listed) >= need:
            break
    listed = listed[:need]
    areas = rng.choice(_area_codes(), size=count - len(listed))
    rest = rng.integers(2_000_000, 10_000_000, size=count - len(listed))
    phones = listed + [f"{a}{n}" for a, n in zip(areas.tolist(), rest.tolist(), strict=True)]
    rng.shuffle(phones)
    return phones


def bench_dnc(repeats: int, total: int) -> BenchResult:
    result = BenchResult("dnc", f"5. DNC store: {total:,}-number registry (DuckDB)")
    today = dt.datetime.now(dt.UTC).date()
    source = registry_source(total, today - dt.timedelta(days=2))
    store_path = WORK / "dnc_bench" / "registry.duckdb"
    store_path.parent.mkdir(parents=True, exist_ok=True)
    loads = []
    for _ in range(repeats):
        store_path.unlink(missing_ok=True)
        t0 = time.perf_counter()
        report = DncStore(store_path).load(source, force=True)
        loads.append(time.perf_counter() - t0)
    if report.numbers != total // AREA_CODES * AREA_CODES:
        raise RuntimeError(f"registry load kept {report.numbers:,} numbers of {total:,}")
    source_mib = sum(p.stat().st_size for p in source.glob("*.txt")) / 2**20
    result.add("load (files -> sorted store, atomic swap)", "s", loads)
    result.add("store size on disk", "MiB", [store_path.stat().st_size / 2**20])
    result.add("source files", "MiB", [source_mib])

    store = DncStore(store_path)
    rng = np.random.default_rng(7)
    # a small registry (a smoke run) cannot supply a million distinct listed numbers: cap at half of it
    sizes = sorted({min(size, total // 2) for size in LOOKUP_SIZES})
    for size in sizes:
        phones = _phones(source, size, rng)
        runs = []
        for _ in range(repeats):
            # what dnc_scrub does: lookup_frame per batch of DNC_BATCH_SIZE, then one frame
            t0 = time.perf_counter()
            frame = pd.concat(
                [store.lookup_frame(phones[i : i + DNC_BATCH_SIZE], today) for i in range(0, size, DNC_BATCH_SIZE)],
                ignore_index=True,
            )
            runs.append(time.perf_counter() - t0)
        listed = int(frame["STATUS"].eq("listed").sum())
        if not (0.4 * size <= listed <= 0.6 * size):
            raise RuntimeError(f"look-up of {size:,} phones found {listed:,} listed; expected about half")
        result.add(f"look up {size:,} phones", "s", runs)
        result.add(f"  per phone ({size:,})", "us", [r / size * 1e6 for r in runs])
    result.context = {"numbers": total, "area_codes": AREA_CODES, "lookup_batch": DNC_BATCH_SIZE}
    if 1_000_000 in sizes:
        result.targets = [Target("1,000,000 look-ups under 2 s", "look up 1,000,000 phones", 2.0)]
    return result
