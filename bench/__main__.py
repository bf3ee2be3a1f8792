"""`python -m bench [NAME ...] [--repeats N] [--sizes 10000,100000] [--out PATH]`; `make bench` runs all."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import sys
from pathlib import Path

from bench.harness import PROJECT_ROOT, machine, render, write_json
from etl_platform.cli.environment import load_env
from etl_platform.core.settings import Settings

BENCHMARKS = ("e2e", "overhead", "scale", "client", "dnc", "startup", "sizes", "backfill")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", choices=[*BENCHMARKS, []], help=f"default: all ({', '.join(BENCHMARKS)})")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure; the median is reported")
    parser.add_argument("--sizes", default="10000,100000", help="leads per partition for `scale`")
    parser.add_argument("--leads", default="200,2000,20000", help="leads per day for `sizes`")
    parser.add_argument(
        "--dnc-numbers",
        type=int,
        default=50_000_000,
        help="registry size for `dnc` (its files are generated once, cached)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="profile each dagster run with pyinstrument (bench/results/profiles/)"
    )
    parser.add_argument("--out", type=Path, help="JSON file (default: bench/results/<UTC time>.json + latest.json)")
    parser.add_argument("--plot-sizes", type=Path, help="only redraw bench/sizes.png from this results JSON")
    args = parser.parse_args(argv)
    if args.plot_sizes:
        importlib.import_module("bench.pipeline").plot_sizes_from(args.plot_sizes)
        return 0
    names = args.names or list(BENCHMARKS)
    # The benchmarks run fixed days (e.g. bench/pipeline.py BENCH_DAY), not the sandbox's last SANDBOX_DAYS: keep
    # the code's partitions start, which load_env's sandbox defaults would move to the sandbox's first day.
    os.environ.setdefault("ETL_PARTITIONS_START", Settings.model_fields["partitions_start"].default.isoformat())
    load_env()  # the PostgreSQL URL and defaults; each benchmark sets its own sandbox endpoints
    if args.profile:
        from bench import stack

        stack.PROFILE_DIR = PROJECT_ROOT / "bench" / "results" / "profiles"

    def module(name: str):
        return importlib.import_module(f"bench.{name}")

    runners = {
        "e2e": lambda: module("pipeline").bench_e2e(args.repeats),
        "overhead": lambda: module("pipeline").bench_overhead(args.repeats),
        "scale": lambda: module("pipeline").bench_scale(args.repeats, [int(s) for s in args.sizes.split(",") if s]),
        "client": lambda: module("client").bench_client(args.repeats),
        "dnc": lambda: module("dnc").bench_dnc(args.repeats, args.dnc_numbers),
        "startup": lambda: module("pipeline").bench_startup(args.repeats),
        "sizes": lambda: module("pipeline").bench_sizes(args.repeats, tuple(int(s) for s in args.leads.split(","))),
        "backfill": lambda: module("backfill").bench_backfill(),
    }
    info = machine()
    results = []
    for name in names:
        print(f"-- running {name} ...", file=sys.stderr, flush=True)
        results.append(runners[name]())
        # Written after every benchmark, so a long session keeps what it measured so far.
        out = args.out or PROJECT_ROOT / "bench" / "results" / f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.json"
        write_json(out, results, info, args.repeats)
        if args.out is None:
            write_json(PROJECT_ROOT / "bench" / "results" / "latest.json", results, info, args.repeats)
    print(render(results, info, args.repeats))
    print(f"\nJSON: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
