"""Benchmark 5: the DNC store at national scale: load, disk, look-ups, a change-list update.

Issue 16 asks, for the national registry (about 253M numbers): load <= 5 min per 50M numbers, a look-up of
10,000 phones <= 0.5 s, memory <= 2 GiB. The load is measured once at `total` numbers (50M for the committed
figures) and extrapolated linearly to 253M; each figure's note says whether it is measured or extrapolated.

The registry is synthetic but shaped like the FTC's: one full-list file per area code, each about the national
average size (253M numbers over about 330 area codes), `AAA,NNNNNNN` lines in random order. It is generated
once per size (numpy, seconds; not timed) into ~/.cache/etl_platform-bench/dnc-<N>/, outside git
($ETL_BENCH_CACHE moves it), and reused by later runs. The files are dated COPY_DATE and the look-ups ask as
of two days later, so the cache never goes stale.

Look-ups read the store's bitmap index (adapters/dnc_index.py): one bit per possible number of a covered area
code, so their cost depends on the phones asked, not on how many numbers are listed. That is measured, not
assumed: at 5M and 50M numbers from real loads, and at national size on a store covering 330 area codes whose
index is filled at the national density (about 253M listed numbers, written directly: loading 253M numbers
here would take the 3 GB of files and minutes the issue asks not to spend). The national look-ups run warm
(the index's pages in the page cache, as on a machine that scrubs daily) and cold (its pages evicted with
posix_fadvise before each run: every phone a read from disk).

One run, every step in a child process whose own peak RSS bench.peak_rss reports:
1. a full load of the registry, once (wall seconds, CPU, peak RSS), and the store's size on disk;
2. 10,000 look-ups against the full store (at least 3 runs: they are cheap);
3. one FTC-style change list (0.1% of the numbers deleted, as many added, every area code) applied as an
   incremental load, timed, then checked by looking its numbers up;
4. look-ups of 600, 10,000 and 1,000,000 phones, `repeats` times, on a 5M-number registry (loaded once; the
   full store itself when `total` is 5M or less);
5. 10,000 look-ups on the national-size index, warm and cold;
6. the load per 50M and the load and disk at 253M, by linear extrapolation (the index's size is exact).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench import peak_rss
from bench.harness import PROJECT_ROOT, WORK, BenchResult, Target

NATIONAL_NUMBERS = 253_000_000
NATIONAL_AREA_CODES = 330  # area codes in service in the US, roughly
PER_AREA_CODE = NATIONAL_NUMBERS // NATIONAL_AREA_CODES  # numbers in a synthetic area code's file
MIN_AREA_CODES = 10  # small (smoke) registries still spread over several files
TARGET_NUMBERS = 50_000_000  # the load target is per 50M numbers
REPEAT_NUMBERS = 5_000_000  # the registry the look-ups are repeated on
LOOKUP_PHONES = 10_000
REPEAT_LOOKUPS = (600, 10_000, 1_000_000)  # a DESIGN baseline batch, the batch, a scrub batch
CHANGE_SHARE = 0.001  # of the registry's numbers deleted, and as many added, by the change list
COPY_DATE = dt.date(2026, 1, 1)  # the full lists' date (in their names)
CHANGE_DATE = COPY_DATE + dt.timedelta(days=1)
TODAY = COPY_DATE + dt.timedelta(days=2)  # the look-ups' "today": every copy fresh
DNC_BATCH_SIZE = 1_000_000  # the asset's default (DNC_BATCH_SIZE)
LINE = 12  # bytes of a generated line, `AAA,NNNNNNN\n`
GENERATOR = "dnc-v2"  # bump when the generated files change: the cache is regenerated

LOAD_FIGURE = "load (files -> sorted store, atomic swap)"


def cache_root() -> Path:
    return Path(os.environ.get("ETL_BENCH_CACHE") or Path.home() / ".cache" / "etl_platform-bench")


def area_codes(total: int) -> list[int]:
    """Valid NANP area codes (no N11, no N9X), as many as a national-average file size needs."""
    valid = [a for a in range(201, 1000) if a % 100 != 11 and a // 10 % 10 != 9]
    return valid[: min(len(valid), max(MIN_AREA_CODES, round(total / PER_AREA_CODE)))]


def _write_lines(path: Path, area: int, numbers: np.ndarray) -> None:
    """`AAA,NNNNNNN` lines built as a byte matrix: 50M lines in seconds, where f-strings take minutes."""
    out = np.empty((len(numbers), LINE), dtype=np.uint8)
    out[:, :4] = np.frombuffer(f"{area},".encode(), dtype=np.uint8)
    rest = numbers.astype(np.int64)
    for col in range(10, 3, -1):
        out[:, col] = rest % 10 + ord("0")
        rest //= 10
    out[:, 11] = ord("\n")
    out.tofile(path)


def registry_source(total: int) -> Path:
    """The FTC-style full lists holding `total` numbers (generated once, then reused from the cache)."""
    source = cache_root() / f"dnc-{total}"
    done = source / ".complete"
    stamp = json.dumps({"generator": GENERATOR, "numbers": total, "copy_date": COPY_DATE.isoformat()})
    if done.exists() and done.read_text() == stamp:
        return source
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    rng = np.random.default_rng(2026)
    areas = area_codes(total)
    per_area, extra = divmod(total, len(areas))
    for i, area in enumerate(areas):
        # distinct 7-digit numbers whose exchange starts with 2-9, in random order (as unsorted as it gets)
        numbers = rng.choice(8_000_000, size=per_area + (i < extra), replace=False) + 2_000_000
        _write_lines(source / f"dnc_{area}_{COPY_DATE.isoformat()}.txt", area, numbers)
    done.write_text(stamp)
    return source


def _listed(source: Path, count: int, rng: np.random.Generator, last: bool = False) -> np.ndarray:
    """`count` listed numbers (10-digit int64) from the first lines of every file (the last lines when
    `last`: the change list deletes those, so look-ups keep finding theirs); the lines are in random order."""
    files = sorted(source.glob("dnc_*.txt"))
    per_file = -(-count // len(files))
    weights = 10 ** np.arange(9, -1, -1, dtype=np.int64)
    parts = []
    for path in files:
        offset = max(0, path.stat().st_size - per_file * LINE) if last else 0
        raw = np.fromfile(path, dtype=np.uint8, count=per_file * LINE, offset=offset).reshape(-1, LINE)
        digits = np.concatenate([raw[:, 0:3], raw[:, 4:11]], axis=1).astype(np.int64) - ord("0")
        parts.append(digits @ weights)
    return rng.permutation(np.concatenate(parts))[:count]


def _random_numbers(areas: list[int], count: int, rng: np.random.Generator) -> np.ndarray:
    return rng.choice(areas, size=count) * 10_000_000 + rng.integers(2_000_000, 10_000_000, size=count)


def _phones(source: Path, total: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """Half listed numbers, half random numbers in the same area codes (some of which are listed too)."""
    listed = _listed(source, count // 2, rng)
    return rng.permutation(np.concatenate([listed, _random_numbers(area_codes(total), count - len(listed), rng)]))


def _change_list(path: Path, source: Path, total: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A change list dated CHANGE_DATE: deletions of listed numbers, additions of others (none deleted too)."""
    size = max(1, int(total * CHANGE_SHARE))
    deleted = _listed(source, size, rng, last=True)
    added = np.setdiff1d(_random_numbers(area_codes(total), size, rng), deleted)
    lines = [f"D,{n // 10_000_000},{n % 10_000_000:07d}\n" for n in deleted.tolist()]
    lines += [f"A,{n // 10_000_000},{n % 10_000_000:07d}\n" for n in added.tolist()]
    path.write_text("".join(lines))
    return deleted, added


# --- the measured work, in child processes ---------------------------------------------------------------


def _in_child(task: dict) -> tuple[dict, float, float, float]:
    """Run `task` in `python -m bench.dnc` and return its answer, wall seconds, CPU seconds and peak RSS (MiB),
    the child's own (bench.peak_rss: not this process's, which holds generated phones and earlier work)."""
    answer = Path(task["answer"])
    answer.unlink(missing_ok=True)
    measured = Path(f"{answer}.rss.json")
    t0 = time.perf_counter()
    child = [sys.executable, "-m", "bench.dnc", json.dumps(task)]
    command = peak_rss.measured(measured, child)
    returncode = subprocess.run(command, cwd=PROJECT_ROOT).returncode
    wall = time.perf_counter() - t0
    if returncode:
        raise RuntimeError(f"bench.dnc child {task['action']} failed ({returncode})")
    usage = json.loads(measured.read_text())
    return json.loads(answer.read_text()), wall, usage["cpu_s"], usage["peak_rss_mib"]


def _evict(paths: list[Path]) -> None:
    """Drop the files' pages from the page cache (they are clean: written with fsync), so the next read of
    each page goes to the disk."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def _child_main(task: dict) -> dict:
    from etl_platform.adapters.dnc_store import DncStore

    store = DncStore(Path(task["store"]))
    if task["action"] == "load":
        report = store.load(Path(task["source"]), force=task["force"])
        return {
            "seconds": report.seconds,
            "mode": report.mode,
            "numbers": report.numbers,
            "applied": list(report.applied),
            "fingerprint": report.fingerprint,
            "copy_dates": sorted({str(c.copy_date) for c in report.area_codes}),
        }
    import duckdb  # noqa: F401  (the store imports it on first use: 0.15 s of process start-up, not of a look-up)
    import pandas as pd

    phones = [str(p) for p in np.load(task["phones"]).tolist()]
    runs, frame = [], None
    store_files = [store.path, store.index_path(store.fingerprint())]
    for _ in range(task["repeats"]):
        if task.get("cold"):
            _evict(store_files)
        # what dnc_scrub does: lookup_frame per batch of DNC_BATCH_SIZE, then one frame
        t0 = time.perf_counter()
        frame = pd.concat(
            [store.lookup_frame(phones[i : i + DNC_BATCH_SIZE], TODAY) for i in range(0, len(phones), DNC_BATCH_SIZE)],
            ignore_index=True,
        )
        runs.append(time.perf_counter() - t0)
    status = dict(zip(frame["PHONE"], frame["STATUS"], strict=True))
    # The index stays mapped only inside a look-up: map it again and look the same phones up, to see how
    # much of the peak RSS was the index's pages (mapped page cache) rather than the process's own memory.
    index = store._index(store.fingerprint())
    index.listed(np.array([int(p) for p in phones], dtype=np.int64))
    return {"runs": runs, "statuses": [status[p] for p in phones], **_resident()}


def _resident() -> dict:
    """This process's resident memory now, split: its own (anonymous) and mapped files (the index's pages the
    look-ups touched, and the interpreter's libraries: page cache, shared and reclaimable; peak RSS counts
    them too)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {key: int(fields[key].split()[0]) / 1024 for key in ("RssAnon", "RssFile") if key in fields}


def _load(store: Path, source: Path, force: bool) -> tuple[dict, float, float, float]:
    return _in_child(
        {"action": "load", "store": str(store), "source": str(source), "force": force, "answer": f"{store}.answer"}
    )


def _lookup(store: Path, phones: np.ndarray, repeats: int, cold: bool = False) -> tuple[dict, float, float, float]:
    np.save(store.with_suffix(".phones.npy"), phones)
    task = {
        "action": "lookup",
        "store": str(store),
        "phones": str(store.with_suffix(".phones.npy")),
        "repeats": repeats,
        "cold": cold,
        "answer": f"{store}.answer",
    }
    return _in_child(task)


def _check_listed_share(statuses: list[str], what: str) -> None:
    """Half the phones are listed numbers and some of the random half are listed too: about 50-60%."""
    listed = statuses.count("listed") / len(statuses)
    if not 0.45 <= listed <= 0.65:
        raise RuntimeError(f"look-up of {what} found {listed:.0%} listed; expected a little over half")


def _work_source(total: int) -> tuple[Path, Path]:
    """A folder of links to the cached full lists (a change list is added to it) and the store's path."""
    work = WORK / "dnc_bench" / str(total)
    shutil.rmtree(work, ignore_errors=True)
    (work / "source").mkdir(parents=True)
    for path in sorted(registry_source(total).glob("dnc_*.txt")):
        (work / "source" / path.name).symlink_to(path)
    return work / "source", work / "registry.duckdb"


def _national_store(rng: np.random.Generator) -> tuple[Path, np.ndarray, int]:
    """A store covering NATIONAL_AREA_CODES area codes (loaded from one-line files, so its catalog is a real
    load's) whose index is then written at the national density: PER_AREA_CODE distinct listed numbers an
    area code on average. Returns the store, some listed numbers (for look-ups) and how many the index lists."""
    from etl_platform.adapters.dnc_index import LOCALS, pack, write_index
    from etl_platform.adapters.dnc_store import DncStore

    work = WORK / "dnc_bench" / "national"
    shutil.rmtree(work, ignore_errors=True)
    (work / "source").mkdir(parents=True)
    areas = area_codes(NATIONAL_NUMBERS)
    for area in areas:
        (work / "source" / f"dnc_{area}_{COPY_DATE.isoformat()}.txt").write_text(f"{area},2000000\n")
    store = DncStore(work / "registry.duckdb")
    store.load(work / "source")
    exchanges = LOCALS - 2_000_000  # local numbers whose exchange starts with 2-9
    # draws with replacement that leave PER_AREA_CODE distinct numbers on average (rng.choice without
    # replacement permutes 8M numbers per area code: minutes)
    draws = round(-exchanges * np.log(1 - PER_AREA_CODE / exchanges))
    listed, samples = 0, []

    def bitmap_of(area: int) -> np.ndarray:
        nonlocal listed
        local = rng.integers(2_000_000, LOCALS, size=draws)
        samples.append(area * LOCALS + local[:40])
        bitmap = pack(local)
        listed += int(np.bitwise_count(bitmap).sum())
        return bitmap

    write_index(store.index_path(store.fingerprint()), areas, bitmap_of)
    return store.path, np.concatenate(samples), listed


def bench_dnc(repeats: int, total: int) -> BenchResult:
    from etl_platform.adapters.dnc_store import LOAD_MEMORY_LIMIT

    result = BenchResult("dnc", f"5. DNC store: {total:,}-number registry (DuckDB), extrapolated to 253M")
    rng = np.random.default_rng(7)
    t0 = time.perf_counter()
    cached = registry_source(total)
    generated = time.perf_counter() - t0
    source, store = _work_source(total)
    peaks = {}

    # 1. the full load, once
    load, wall, cpu, peaks["load"] = _load(store, source, force=True)
    if load["numbers"] != total:
        raise RuntimeError(f"registry load kept {load['numbers']:,} numbers of {total:,}")
    result.add(LOAD_FIGURE, "s", [load["seconds"]], note="measured once, in a child process")
    result.add("  load, child process wall", "s", [wall], note="Python start-up and imports included")
    result.add("  load, child process CPU (user+sys)", "s", [cpu])
    result.add("  load, child process peak RSS", "MiB", [peaks["load"]])
    from etl_platform.adapters.dnc_index import HEADER, SLOT_BYTES
    from etl_platform.adapters.dnc_store import DncStore

    disk = store.stat().st_size / 2**20
    index_disk = DncStore(store).index_path(load["fingerprint"]).stat().st_size / 2**20
    result.add("store size on disk (DuckDB)", "MiB", [disk])
    result.add("look-up index size on disk", "MiB", [index_disk], note=f"{len(area_codes(total))} area codes")
    result.add("source files", "MiB", [sum(p.stat().st_size for p in source.glob("*.txt")) / 2**20])

    # 2. look-ups against the full store
    lookup_size = min(LOOKUP_PHONES, total // 2)
    full_lookup_name = f"look up {lookup_size:,} phones ({total:,}-number store)"
    # at least 3 runs, cheap at any size: the extrapolation below takes the fastest, the least disturbed
    lookups, _, _, peaks["look-ups"] = _lookup(store, _phones(cached, total, lookup_size, rng), max(repeats, 3))
    _check_listed_share(lookups["statuses"], full_lookup_name)
    result.add(full_lookup_name, "s", lookups["runs"], note="each on a new connection, as a scrub's first")

    # 3. one change list, applied as an incremental load
    deleted, added = _change_list(source / f"dnc_changes_{CHANGE_DATE.isoformat()}.txt", cached, total, rng)
    update, _, _, peaks["update"] = _load(store, source, force=False)
    if update["mode"] != "incremental" or update["copy_dates"] != [CHANGE_DATE.isoformat()]:
        raise RuntimeError(f"the change list was not applied incrementally to every area code: {update}")
    checked = np.concatenate([deleted[:5_000], added[:5_000]])
    after, _, _, _ = _lookup(store, checked, 1)
    expected = ["clear"] * min(5_000, len(deleted)) + ["listed"] * min(5_000, len(added))
    if after["statuses"] != expected:
        raise RuntimeError("after the change list, deleted numbers must be clear and added ones listed")
    result.add(
        f"change list: {len(deleted):,} deletions + {len(added):,} additions (incremental load)",
        "s",
        [update["seconds"]],
        note="copy of the store, changes applied, atomic swap",
    )
    result.add("  change list, child process peak RSS", "MiB", [peaks["update"]])

    # 4. look-ups repeated on a 5M-number registry
    repeat_numbers = min(total, REPEAT_NUMBERS)
    repeat_store = store
    if repeat_numbers < total:
        repeat_source, repeat_store = _work_source(repeat_numbers)
        repeat_load, _, _, peaks["5M load"] = _load(repeat_store, repeat_source, force=True)
        result.add(f"load ({repeat_numbers:,}-number store)", "s", [repeat_load["seconds"]])
    repeat_cached = registry_source(repeat_numbers)
    for size in sorted({min(size, repeat_numbers // 2) for size in REPEAT_LOOKUPS}):
        name = f"look up {size:,} phones ({repeat_numbers:,}-number store)"
        if name == full_lookup_name:
            continue  # measured above, on this same store
        got, _, _, peaks[f"{size:,} look-ups"] = _lookup(
            repeat_store, _phones(repeat_cached, repeat_numbers, size, rng), repeats
        )
        _check_listed_share(got["statuses"], name)
        result.add(name, "s", got["runs"])
        result.add(f"  per phone ({size:,})", "us", [r / size * 1e6 for r in got["runs"]])
    # 5. the national-size index, warm and cold
    national_store, national_listed, national_count = _national_store(rng)
    phones = rng.permutation(
        np.concatenate(
            [
                rng.choice(national_listed, LOOKUP_PHONES // 2),
                _random_numbers(area_codes(NATIONAL_NUMBERS), LOOKUP_PHONES // 2, rng),
            ]
        )
    )
    national_lookup = f"look up {LOOKUP_PHONES:,} phones, national-size index (warm)"
    national_index_file = DncStore(national_store).index_path(DncStore(national_store).fingerprint())
    national_note = (
        f"{national_count:,} numbers listed in {NATIONAL_AREA_CODES} area codes "
        f"({national_index_file.stat().st_size / 2**20:,.0f} MiB); "
    )
    warm, _, _, peaks["national look-ups"] = _lookup(national_store, phones, max(repeats, 3))
    _check_listed_share(warm["statuses"], national_lookup)
    result.add(national_lookup, "s", warm["runs"], note=national_note + "pages in the page cache")
    result.add("  national look-ups, child's own memory (RssAnon)", "MiB", [warm.get("RssAnon", float("nan"))])
    result.add(
        "  national look-ups, mapped file pages (RssFile)",
        "MiB",
        [warm.get("RssFile", float("nan"))],
        note="with the index mapped: its pages the look-ups touched and the libraries (page cache, shared)",
    )
    cold, _, _, _ = _lookup(national_store, phones, max(repeats, 3), cold=True)
    if cold["statuses"] != warm["statuses"]:
        raise RuntimeError("cold and warm look-ups of the same phones disagree")
    result.add(
        f"look up {LOOKUP_PHONES:,} phones, national-size index (cold)",
        "s",
        cold["runs"],
        note=national_note + "the store's and index's pages evicted before each run",
    )
    shutil.rmtree(national_store.parent, ignore_errors=True)  # 412 MB

    peak = max(peaks.values())
    result.add(
        "peak RSS, largest child process", "MiB", [peak], note=f"{max(peaks, key=peaks.get)}; DuckDB's pool is capped"
    )

    # 6. per 50M and at national scale: linear extrapolations, not measurements
    per_target = load["seconds"] * TARGET_NUMBERS / total
    scaled = "measured" if total == TARGET_NUMBERS else f"linear extrapolation from {total:,} numbers"
    result.add(f"load per {TARGET_NUMBERS:,} numbers", "s", [per_target], note=scaled)
    national = f"linear extrapolation from {total:,} numbers"
    result.add(f"load, {NATIONAL_NUMBERS:,} numbers", "s", [load["seconds"] * NATIONAL_NUMBERS / total], note=national)
    national_index = (HEADER + NATIONAL_AREA_CODES * SLOT_BYTES) / 2**20
    result.add(
        f"store on disk, {NATIONAL_NUMBERS:,} numbers",
        "MiB",
        [disk * NATIONAL_NUMBERS / total + national_index],
        note=f"DuckDB: {national}; index: {national_index:,.0f} MiB for {NATIONAL_AREA_CODES} area codes, exact",
    )

    result.context = {
        "numbers": total,
        "area_codes": len(area_codes(total)),
        "numbers_per_area_code": total // len(area_codes(total)),
        "duckdb_memory_limit": LOAD_MEMORY_LIMIT,
        "lookup_batch": DNC_BATCH_SIZE,
        "source_cache": str(cached),
        "generated_s": round(generated, 1),  # 0 when the cache was reused
    }
    result.targets = [
        Target(f"load <= 5 min per {TARGET_NUMBERS:,} numbers", f"load per {TARGET_NUMBERS:,} numbers", 300.0),
        Target("peak memory <= 2 GiB", "peak RSS, largest child process", 2048.0),
    ]
    if total // 2 >= LOOKUP_PHONES:
        result.targets.append(Target(f"{LOOKUP_PHONES:,} look-ups <= 0.5 s", full_lookup_name, 0.5))
    result.targets.append(Target(f"{LOOKUP_PHONES:,} look-ups <= 0.5 s at national size", national_lookup, 0.5))
    if repeat_numbers // 2 >= 1_000_000:
        big = f"look up 1,000,000 phones ({repeat_numbers:,}-number store)"
        result.targets.append(Target("1,000,000 look-ups under 2 s", big, 2.0))
    return result


if __name__ == "__main__":
    task = json.loads(sys.argv[1])
    Path(task["answer"]).write_text(json.dumps(_child_main(task)))
