"""`etl-platform`: run a day end to end, manage the local sandbox, report on recorded runs."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import sys
import time
from pathlib import Path

from etl_platform.environment import (
    PROJECT_ROOT,
    ensure_pools,
    ensure_postgres_database,
    load_env,
    materialize_args,
    run_dagster,
)

SANDBOX_ROOT = PROJECT_ROOT / ".sandbox"


def yesterday() -> str:
    return (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()


# --- sandbox --------------------------------------------------------------------------------------------
def _sandbox_pid() -> int | None:
    pid_file = SANDBOX_ROOT / "sandbox.pid"
    try:
        pid = int(pid_file.read_text())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None


def sandbox_start(profile: str | None = None, timeout: float = 120) -> None:
    """Start the sandbox in the background unless it already runs; wait until it is seeded."""
    if profile is not None:
        os.environ["SANDBOX_FAULTS"] = "" if profile in ("none", "realistic") else profile
    pid = _sandbox_pid()
    if pid and (SANDBOX_ROOT / "ready").exists():
        if profile is None:
            print(f"sandbox already running (pid {pid})")
            return
        sandbox_stop()  # restart so the requested profile applies
    elif pid:
        sandbox_stop()
    from etl_platform.sandbox.runner import spawn

    try:
        proc = spawn(SANDBOX_ROOT, cwd=PROJECT_ROOT, timeout=timeout)
    except RuntimeError as err:
        raise SystemExit(str(err)) from None
    (SANDBOX_ROOT / "sandbox.pid").write_text(str(proc.pid))
    print(f"sandbox up (pid {proc.pid}, faults: {os.environ.get('SANDBOX_FAULTS') or 'none'})")


def sandbox_stop() -> None:
    pid = _sandbox_pid()
    if pid is None:
        print("sandbox not running")
        return
    os.killpg(pid, signal.SIGINT)
    for _ in range(100):
        if _sandbox_pid() is None:
            break
        time.sleep(0.1)
    else:
        os.killpg(pid, signal.SIGKILL)
    (SANDBOX_ROOT / "ready").unlink(missing_ok=True)
    print("sandbox stopped")


# --- run ------------------------------------------------------------------------------------------------
def uses_sandbox() -> bool:
    return os.environ.get("SNOWFLAKE_HOST") in ("127.0.0.1", "localhost")


def _tail(path: Path, lines: int = 25) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def run_partition(partition: str, profile: str | None, skip_registry: bool, verbose: bool) -> int:
    ensure_postgres_database(os.environ["DAGSTER_POSTGRES_URL"])
    ensure_pools()
    if uses_sandbox():
        sandbox_start(profile)
    module = ["-m", "etl_platform.definitions"]
    logs = PROJECT_ROOT / "logs"
    if not skip_registry:
        if registry_up_to_date():
            print("DNC registry up to date with DNC_SOURCE_DIR: not reloaded")
        else:
            # Not partitioned, so it is a run of its own before the partition's run.
            log_file = None if verbose else logs / "dnc_registry.log"
            code = run_dagster(["asset", "materialize", *module, "--select", "dnc_registry"], log_file)
            if code:
                print(_tail(log_file) if log_file else "", file=sys.stderr)
                return code
    return materialize_partition(partition, verbose)


def materialize_partition(partition: str, verbose: bool = False) -> int:
    """The plain Dagster CLI for one partition of the daily assets, then the run's trace."""
    log_file = None if verbose else PROJECT_ROOT / "logs" / f"run-{partition}.log"
    print(f"materializing {partition} with `dagster asset materialize` (event log: {log_file or 'console'})")
    started = time.perf_counter()
    code = run_dagster(materialize_args(partition), log_file)
    elapsed = time.perf_counter() - started
    if code and log_file:
        print(_tail(log_file), file=sys.stderr)
    print(f"\n`dagster asset materialize` for {partition}: {elapsed:.2f} s including process start-up\n")
    trace_code = trace(None)
    return code or trace_code


def registry_up_to_date() -> bool:
    from etl_platform.vendors.dnc import DncStore

    source = Path(os.environ["DNC_SOURCE_DIR"])
    store = DncStore(Path(os.environ["DNC_REGISTRY_PATH"]))
    return source.is_dir() and store.path.exists() and store.fingerprint() == store.source_fingerprint(source)


def trace(run_id: str | None, as_json: bool = False) -> int:
    import json

    import dagster as dg

    from etl_platform.observe import find_run, load_trace
    from etl_platform.trace import render

    with dg.DagsterInstance.get() as instance:
        try:
            record = find_run(instance, run_id)
        except LookupError as err:
            print(err, file=sys.stderr)
            return 2
        result = load_trace(instance, record)
    print(json.dumps(result.as_dict(), indent=2, default=str) if as_json else render(result))
    return 0 if result.status == "SUCCESS" else 1


def analyze(args) -> int:
    import json

    import dagster as dg

    from etl_platform import analyze as analysis_module

    with dg.DagsterInstance.get() as instance:
        try:
            result, _ = analysis_module.analyze(instance, args.run, args.partition, args.last)
        except LookupError as err:
            print(err, file=sys.stderr)
            return 2
    print(json.dumps(result.as_dict(), indent=2, default=str) if args.json else analysis_module.render(result))
    if args.plot:
        print(f"plot written to {analysis_module.plot(result, Path(args.plot))}", file=sys.stderr)
    return 0


def dead_letters(args) -> int:
    from etl_platform.dead_letter_cli import fetch_dead_letters, list_command, summarise

    day = dt.date.fromisoformat(args.partition)
    if args.action == "list":
        return list_command(day, args.json)
    before = fetch_dead_letters(day)
    print(f"replaying {args.partition}: {summarise(before)}")
    code = materialize_partition(args.partition)
    after = {(r["LEAD_ID"], r["STAGE"]) for r in fetch_dead_letters(day)}
    replayed = [r for r in before if (r["LEAD_ID"], r["STAGE"]) not in after]
    print(f"replayed {len(replayed)} of {len(before)} dead letters; {len(after)} remain")
    return code


def backfill(args) -> int:
    from etl_platform.backfill import run_synchronously, submit

    start, end = dt.date.fromisoformat(args.start), dt.date.fromisoformat(args.end)
    ensure_postgres_database(os.environ["DAGSTER_POSTGRES_URL"])
    if args.sync:
        return run_synchronously(start, end)
    return submit(start, end, args.parallel)


def health(as_json: bool) -> int:
    import json

    from etl_platform import health as health_module

    probes = health_module.run_health(os.environ)
    print(json.dumps(health_module.as_json(probes), indent=2) if as_json else health_module.render(probes))
    return health_module.exit_code(probes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="etl-platform", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="materialize one daily partition end to end through the Dagster CLI")
    run.add_argument("--partition", default=yesterday(), help="YYYY-MM-DD (default: yesterday, UTC)")
    run.add_argument("--profile", help="sandbox fault profile: none, flaky, hostile, down, or kind=share,...")
    run.add_argument("--skip-registry", action="store_true", help="do not (re)load the DNC registry first")
    run.add_argument("--verbose", action="store_true", help="show Dagster's event log on the console")

    tr = sub.add_parser("trace", help="trace one recorded run stage by stage (default: the latest run)")
    tr.add_argument("run_id", nargs="?", help="run id or a unique prefix of it")
    tr.add_argument("--json", action="store_true", help="machine-readable output")

    an = sub.add_parser("analyze", help="stage breakdown vs baselines, bottleneck, recommendations")
    scope = an.add_mutually_exclusive_group()
    scope.add_argument("--run", help="a run id or unique prefix")
    scope.add_argument("--partition", help="the latest run of this partition (YYYY-MM-DD)")
    scope.add_argument("--last", type=int, help="the latest run of each of the last N partitions")
    an.add_argument("--json", action="store_true", help="machine-readable output")
    an.add_argument("--plot", metavar="PNG", help="also draw stage durations per partition into this PNG")

    bf = sub.add_parser("backfill", help="a range of partitions: a daemon-run Dagster backfill, or --sync")
    bf.add_argument("--start", required=True, help="first partition, YYYY-MM-DD")
    bf.add_argument("--end", required=True, help="last partition, YYYY-MM-DD (inclusive)")
    bf.add_argument("--parallel", type=int, default=2, help="partitions running at once (1-4; default 2)")
    bf.add_argument("--sync", action="store_true", help="run the days one after another in this process")

    dlq = sub.add_parser("dead-letters", help="list or replay a partition's dead letters")
    dlq.add_argument("action", choices=["list", "replay"])
    dlq.add_argument("--partition", required=True, help="YYYY-MM-DD")
    dlq.add_argument("--json", action="store_true", help="machine-readable output (list)")

    sb = sub.add_parser("sandbox", help="the local sandbox (fakesnow, idiCORE, CCC, DNC files)")
    sb.add_argument("action", choices=["start", "stop", "restart", "status"])
    sb.add_argument("--profile", help="fault profile, as for `run`")

    sub.add_parser("setup", help="create the Dagster instance database if missing")

    hl = sub.add_parser("health", help="probe every dependency; non-zero exit when one is down")
    hl.add_argument("--json", action="store_true", help="machine-readable output")

    args = parser.parse_args(argv)
    load_env()
    if args.command == "run":
        return run_partition(args.partition, args.profile, args.skip_registry, args.verbose)
    if args.command == "trace":
        return trace(args.run_id, args.json)
    if args.command == "backfill":
        return backfill(args)
    if args.command == "dead-letters":
        return dead_letters(args)
    if args.command == "analyze":
        return analyze(args)
    if args.command == "health":
        return health(args.json)
    if args.command == "setup":
        ensure_postgres_database(os.environ["DAGSTER_POSTGRES_URL"])
        ensure_pools()
        return 0
    if args.action == "start":
        sandbox_start(args.profile)
    elif args.action == "stop":
        sandbox_stop()
    elif args.action == "restart":
        sandbox_stop()
        sandbox_start(args.profile)
    else:
        pid = _sandbox_pid()
        print(f"sandbox running (pid {pid})" if pid else "sandbox not running")
        return 0 if pid else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
