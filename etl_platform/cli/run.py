"""`etl-platform run`: one daily partition end to end through the plain Dagster CLI, then its trace."""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from pathlib import Path

import click

from etl_platform.cli.environment import (
    DAGSTER_CWD,
    daily_job_args,
    describe_instance,
    ensure_pools,
    ensure_postgres_database,
    run_dagster,
    sandbox_first_day,
)
from etl_platform.cli.sandbox import check_profile, run_profile, sandbox_start
from etl_platform.cli.trace import print_trace
from etl_platform.core.stages import DAILY_JOB, DNC_REGISTRY
from etl_platform.core.target import describe_target, warehouse_target

LOGS = DAGSTER_CWD  # run-logs/: the event log of each CLI run


def yesterday() -> str:
    return (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()


def uses_sandbox() -> bool:
    return warehouse_target(os.environ)["sandbox"] == "yes"


def _tail(path: Path, lines: int = 25) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def registry_up_to_date() -> bool:
    from etl_platform.adapters.dnc_store import DncStore

    source = Path(os.environ["DNC_SOURCE_DIR"])
    store = DncStore(Path(os.environ["DNC_REGISTRY_PATH"]))
    return source.is_dir() and store.path.exists() and store.fingerprint() == store.source_fingerprint(source)


def load_registry(verbose: bool) -> int:
    """The registry is not partitioned, so it is a run of its own before the partition's run."""
    if registry_up_to_date():
        click.echo("DNC registry up to date with DNC_SOURCE_DIR: not reloaded")
        return 0
    log_file = None if verbose else LOGS / "dnc_registry.log"
    code = run_dagster(
        ["asset", "materialize", "-m", "etl_platform.definitions", "--select", DNC_REGISTRY.asset], log_file
    )
    if code and log_file:
        click.echo(_tail(log_file), err=True)
    return code


def check_partition(day: dt.date) -> str:
    """The day as a partition key, or a usage error when the daily partitions do not include it."""
    from etl_platform.core.settings import Settings

    first = Settings.from_env(os.environ).partitions_start
    today = dt.datetime.now(dt.UTC).date()
    if not first <= day < today:
        where = f"{first} (ETL_PARTITIONS_START)"
        if day < first and uses_sandbox() and first == sandbox_first_day(os.environ, {}):
            # the start is the sandbox default's (environment.sandbox_defaults): say how to reach earlier days
            where = (
                f"{first} (the sandbox's first day, today - SANDBOX_DAYS; with a larger SANDBOX_DAYS exported, the "
                "sandbox is restarted to seed the earlier days)"
            )
        last = today - dt.timedelta(days=1)
        raise click.BadParameter(
            f"{day} is not a daily partition: they run from {where} to yesterday ({last}, UTC)",
            param_hint="--partition",
        )
    return day.isoformat()


def latest_run_of(partition: str) -> str | None:
    import dagster as dg

    from etl_platform.cli.environment import open_instance

    with open_instance() as instance:
        records = instance.get_run_records(dg.RunsFilter(tags={"dagster/partition": partition}), limit=1)
    return records[0].dagster_run.run_id if records else None


def _first_line(text: str | None, limit: int = 200) -> str:
    return ((text or "").strip().splitlines() or [""])[0][:limit]


def _cause(error) -> str:
    """What failed, in one line: a retry's error is Dagster's RetryRequestedFromPolicy, the cause nested in it;
    the exception's module path is dropped ("dagster._core.definitions.events.Failure: ...")."""
    while error is not None and error.cls_name in ("RetryRequestedFromPolicy", "RetryRequested") and error.cause:
        error = error.cause
    if error is None:
        return "no error recorded"
    text = _first_line(error.message, 300)
    head, sep, rest = text.partition(": ")
    return rest if sep and head.split(".")[-1] == error.cls_name else text


class RunProgress:
    """Progress lines on the console while the Dagster CLI writes its event log to a file: the run
    started, each step started, retried (and why), done or failed, and a line while a step is still busy.
    Without them a day whose vendor is down printed nothing for minutes (client retries, then whole-step
    retries with their delays). Read from the instance, as the trace is: the same events, no log parsing."""

    STILL_RUNNING_EVERY = 30.0  # seconds between "still running" lines of one step

    def __init__(self, partition: str, log_file: Path | None, echo=click.echo):
        import dagster as dg

        self.dg = dg
        self.partition = partition
        self.log_file = log_file
        self.echo = echo
        self.since = time.time()
        self.run_id: str | None = None
        self.cursor: str | None = None
        self.running: dict[str, float] = {}  # step key -> when it (re)started (epoch seconds)
        self.reported: dict[str, float] = {}  # step key -> when its last line was printed
        self.instance = dg.DagsterInstance.get()

    def close(self) -> None:
        self.instance.dispose()

    @staticmethod
    def label(step_key: str | None) -> str:
        from etl_platform.core.stages import STAGES

        return STAGES[step_key].label if step_key in STAGES else str(step_key)

    def poll(self) -> None:
        dg = self.dg
        if self.run_id is None:
            records = self.instance.get_run_records(
                dg.RunsFilter(
                    tags={"dagster/partition": self.partition},
                    created_after=dt.datetime.fromtimestamp(self.since - 1, dt.UTC),
                ),
                limit=1,
            )
            if not records:
                return
            self.run_id = records[0].dagster_run.run_id
            self.echo(f"run {self.run_id[:8]} started; progress below, Dagster's event log in {self.log_file}")
        kinds = {
            dg.DagsterEventType.STEP_START,
            dg.DagsterEventType.STEP_RESTARTED,
            dg.DagsterEventType.STEP_UP_FOR_RETRY,
            dg.DagsterEventType.STEP_SUCCESS,
            dg.DagsterEventType.STEP_FAILURE,
        }
        while True:
            page = self.instance.get_records_for_run(self.run_id, cursor=self.cursor, of_type=kinds, limit=100)
            for record in page.records:
                self._report(record.event_log_entry)
            self.cursor = page.cursor
            if not page.has_more:
                break
        now = time.time()
        for step, started in self.running.items():
            if now - self.reported[step] >= self.STILL_RUNNING_EVERY:
                self.reported[step] = now
                self.echo(f"  {self.label(step)}: still running after {now - started:.0f} s")

    def _report(self, entry) -> None:
        kind = self.dg.DagsterEventType
        event = entry.dagster_event
        step, name, data = event.step_key, self.label(event.step_key), event.event_specific_data
        now = entry.timestamp  # when it happened, not when this poll saw it
        if event.event_type in (kind.STEP_START, kind.STEP_RESTARTED):
            self.running[step] = self.reported[step] = now
            self.echo(f"  {name}: started" + (" again (retry)" if event.event_type == kind.STEP_RESTARTED else ""))
            return
        started = self.running.pop(step, now)
        self.reported.pop(step, None)
        if event.event_type == kind.STEP_UP_FOR_RETRY:
            wait = getattr(data, "seconds_to_wait", None)
            when = f"in {wait:.0f} s" if wait else "shortly"
            self.echo(f"  {name}: failed, retried {when}: {_cause(data.error)}")
        elif event.event_type == kind.STEP_SUCCESS:
            self.echo(f"  {name}: done in {now - started:.1f} s")
        else:
            self.echo(f"  {name}: FAILED: {_cause(data.error)}")


def run_with_progress(args: list[str], partition: str, log_file: Path) -> int:
    """`dagster ARGS` with its event log in `log_file`, progress lines on the console meanwhile."""
    import subprocess

    from etl_platform.cli.environment import dagster_bin

    DAGSTER_CWD.mkdir(parents=True, exist_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    progress = RunProgress(partition, log_file)
    try:
        with open(log_file, "wb") as out:
            proc = subprocess.Popen([dagster_bin(), *args], cwd=DAGSTER_CWD, stdout=out, stderr=subprocess.STDOUT)
            try:
                while proc.poll() is None:
                    time.sleep(1)
                    progress.poll()
            except BaseException:
                proc.terminate()
                proc.wait()
                raise
        progress.poll()  # the last events
    finally:
        progress.close()
    return proc.returncode


def announce() -> None:
    """Where the run writes and records: said before anything is written."""
    click.echo(f"warehouse target: {describe_target(os.environ)}")
    click.echo(f"Dagster instance: {describe_instance(os.environ)}")


def materialize_partition(partition: str, verbose: bool = False, announced: bool = False) -> int:
    """The plain Dagster CLI for one partition of the daily assets, then the run's trace."""
    log_file = None if verbose else LOGS / f"run-{partition}.log"
    if not announced:
        announce()
    click.echo(f"running {partition} with `dagster job execute -j {DAILY_JOB}` (event log: {log_file or 'console'})")
    started = time.perf_counter()
    if log_file is None:
        code = run_dagster(daily_job_args(partition))
    else:
        code = run_with_progress(daily_job_args(partition), partition, log_file)
    elapsed = time.perf_counter() - started
    click.echo(f"\n`dagster job execute` for {partition}: {elapsed:.2f} s including process start-up\n")
    run_id = latest_run_of(partition)
    if run_id is None:
        # Nothing recorded (the definitions did not load, the instance refused): the log's end is all there is.
        if code and log_file:
            click.echo(_tail(log_file), err=True)
        click.echo(f"no run of {partition} was recorded (see {log_file or 'the output above'})", err=True)
        return code or 1
    if code and log_file:
        # No Dagster stack trace here: the trace below names the failed stage and its cause.
        click.echo(f"the run failed; Dagster's event log, with the stack trace: {log_file}", err=True)
    trace_code = print_trace(run_id)  # a failed run is traced too: the trace says where it failed
    return code or trace_code


@click.command("run")
@click.option(
    "--partition",
    type=click.DateTime(["%Y-%m-%d"]),
    default=yesterday,
    show_default="yesterday, UTC",
    help="YYYY-MM-DD",
)
@click.option("--profile", help="sandbox fault profile: none, flaky, hostile, down, or kind=share,...")
@click.option("--skip-registry", is_flag=True, help="do not (re)load the DNC registry first")
@click.option("--verbose", is_flag=True, help="show Dagster's event log on the console")
def command(partition: dt.datetime, profile: str | None, skip_registry: bool, verbose: bool) -> None:
    """Materialize one daily partition end to end through the Dagster CLI."""
    partition = check_partition(partition.date())
    check_profile(profile)
    if uses_sandbox():
        # First line: the fault profile now active. A run without --profile gets SANDBOX_FAULTS (none by
        # default), never the profile an earlier run left on the running sandbox.
        sandbox_start(run_profile(profile))
    elif profile is not None:
        raise click.BadParameter("fault profiles apply to the local sandbox only", param_hint="--profile")
    announce()  # the first line off the sandbox: the target
    ensure_postgres_database(os.environ["DAGSTER_POSTGRES_URL"])
    ensure_pools()
    if not skip_registry and (code := load_registry(verbose)):
        sys.exit(code)
    sys.exit(materialize_partition(partition, verbose, announced=True))
