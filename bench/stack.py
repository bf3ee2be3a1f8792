"""A private stack for the pipeline benchmarks: a sandbox process, a Dagster instance database, the CLI.

Everything lives under `bench/.work/` and in the PostgreSQL database `etl_platform_bench`, so a benchmark
never disturbs `make run`'s sandbox or instance. The sandbox runs as its own process, as it does behind
`make run`, so its CPU use is not charged to the run being measured.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from bench import peak_rss
from bench.harness import PROJECT_ROOT, WORK
from etl_platform.cli.environment import dagster_bin, ensure_postgres_database, materialize_args
from etl_platform.sandbox.runner import Sandbox, SandboxSettings, free_port, spawn

# `python -m bench --profile`: run every `dagster` process under pyinstrument, one HTML report per run here.
PROFILE_DIR: Path | None = None


def bench_db_url() -> str:
    """The instance's PostgreSQL server (DAGSTER_POSTGRES_URL), database `etl_platform_bench`."""
    base = os.environ.get("DAGSTER_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/etl_platform"
    return urlparse(base)._replace(path="/etl_platform_bench").geturl()


@dataclass
class CliRun:
    """One `dagster` CLI process: wall time, when it started and exited, peak memory, exit code."""

    wall_seconds: float
    started_at: float  # epoch seconds, when the process was spawned
    exited_at: float
    peak_rss_mib: float
    exit_code: int


@dataclass
class Profile:
    """Sandbox latency and limits, and the client settings that go with them."""

    name: str
    idicore_latency_ms: float
    idicore_rate_limit: float | None
    ccc_latency_ms: float
    ccc_rate_limit: float | None
    client_rate_limit: float
    client_concurrency: int = 16
    # how the sandbox enforces both vendors' limits: "bucket" (a one-second burst allowed) or "window" (a
    # strict sliding one-second window, as the strictest vendor would)
    rate_mode: str = "bucket"


DEFAULT_PROFILE = Profile("default", 250.0, 50.0, 400.0, 1000 / 60, client_rate_limit=50.0)
# The default profile under the strict sliding one-second window: no burst, any excess draws a 429.
WINDOW_PROFILE = Profile("window", 250.0, 50.0, 400.0, 1000 / 60, client_rate_limit=50.0, rate_mode="window")
# 8 in flight: the client is CPU-bound at zero latency, and 8 measured fastest (bench client)
ZERO_LATENCY = Profile("zero-latency", 0.0, None, 0.0, None, client_rate_limit=100_000.0, client_concurrency=8)


class BenchStack:
    def __init__(self, profile: Profile, day: dt.date, leads: int, extra_env: dict[str, str] | None = None):
        self.profile = profile
        # Enough numbers that big days have mostly distinct phones (the default pool is 2,800 numbers).
        self.phone_pool = max(400, leads // 3)
        self.day = day
        self.leads = leads
        self.root = WORK / profile.name
        self.extra_env = extra_env or {}
        self.db_url = bench_db_url()
        self.proc: subprocess.Popen | None = None

    # --- set-up -----------------------------------------------------------------------------------
    def __enter__(self) -> BenchStack:
        shutil.rmtree(self.root, ignore_errors=True)
        self.root.mkdir(parents=True)
        p = self.profile
        settings = SandboxSettings(
            root=self.root / "sandbox",
            snowflake_port=free_port(),
            idicore_port=free_port(),
            ccc_port=free_port(),
            days=0,
            leads_per_day=0,  # the benchmark seeds its own day below
            phone_pool_per_area_code=self.phone_pool,
            idicore_latency_ms=p.idicore_latency_ms,
            idicore_rate_limit=p.idicore_rate_limit,
            ccc_latency_ms=p.ccc_latency_ms,
            ccc_rate_limit=p.ccc_rate_limit,
            persist_snowflake=False,
            rate_mode=p.rate_mode,
        )
        self.sandbox = Sandbox(settings)  # not started here: used to reach and seed the sandbox process
        home = self.root / "dagster_home"
        home.mkdir()
        shutil.copyfile(PROJECT_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
        self._reset_instance_db()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("SANDBOX_", "SNOWFLAKE_", "IDICORE_"))},
            **self.sandbox.env,
            "DAGSTER_HOME": str(home),
            "DAGSTER_POSTGRES_URL": self.db_url,
            "IDICORE_RATE_LIMIT": str(p.client_rate_limit),
            "IDICORE_CONCURRENCY": str(p.client_concurrency),
            "SANDBOX_SEED": str(settings.seed),
            "SANDBOX_DAYS": "0",
            "SANDBOX_LEADS_PER_DAY": "0",
            "SANDBOX_PHONE_POOL_PER_AREA_CODE": str(self.phone_pool),
            "SANDBOX_IDICORE_LATENCY_MS": str(p.idicore_latency_ms),
            "SANDBOX_IDICORE_RATE_LIMIT": str(p.idicore_rate_limit or "none"),
            "SANDBOX_CCC_LATENCY_MS": str(p.ccc_latency_ms),
            "SANDBOX_CCC_RATE_LIMIT": str(p.ccc_rate_limit or "none"),
            "SANDBOX_FAULTS": "",
            "SANDBOX_RATE_MODE": p.rate_mode,
            "SNOWFLAKE_PORT": str(settings.snowflake_port),
            "SANDBOX_IDICORE_PORT": str(settings.idicore_port),
            "SANDBOX_CCC_PORT": str(settings.ccc_port),
            **self.extra_env,
        }
        self._start_sandbox()
        self.sandbox.seed_leads(days=[self.day], per_day=self.leads)
        return self

    def _reset_instance_db(self) -> None:
        import psycopg2

        ensure_postgres_database(self.db_url)
        with psycopg2.connect(self.db_url.replace("+psycopg2", "")) as conn, conn.cursor() as cur:
            # A clean instance per benchmark: no history from other profiles in the learned baselines.
            cur.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")

    def _start_sandbox(self) -> None:
        self.proc = spawn(self.sandbox.settings.root, cwd=self.root, env=self.env)

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)

    # --- runs ---------------------------------------------------------------------------------------
    def dagster(self, args: list[str], log_name: str) -> CliRun:
        """Run the plain Dagster CLI as a child, through bench.peak_rss, which reports that child's own peak
        resident memory (wait4 on a child of this process would report at least this process's peak)."""
        log_path = self.root / f"{log_name}.log"
        with open(log_path, "wb") as out:
            started_at = time.time()
            t0 = time.perf_counter()
            command = [dagster_bin(), *args]
            if PROFILE_DIR is not None:
                PROFILE_DIR.mkdir(parents=True, exist_ok=True)
                report = PROFILE_DIR / f"{log_name}.html"
                profiler = [sys.executable, "-m", "pyinstrument", "-r", "html", "-o", str(report)]
                command = [*profiler, "-m", "dagster", *args]
            measured = self.root / f"{log_name}.rss.json"
            command = peak_rss.measured(measured, command)
            proc = subprocess.Popen(command, env=self.env, cwd=self.root, stdout=out, stderr=subprocess.STDOUT)
            proc.wait()
            wall = time.perf_counter() - t0
        if proc.returncode:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
            raise RuntimeError(f"dagster {' '.join(args)} failed ({proc.returncode}):\n{tail}")
        return CliRun(wall, started_at, time.time(), json.loads(measured.read_text())["peak_rss_mib"], proc.returncode)

    def load_registry(self) -> CliRun:
        return self.dagster(
            ["asset", "materialize", "-m", "etl_platform.definitions", "--select", "dnc_registry"], "dnc_registry"
        )

    def materialize_day(self, label: str, code: list[str] | None = None) -> CliRun:
        """The day's run; `code` replaces `-m etl_platform.definitions` (another definitions module)."""
        args = materialize_args(self.day.isoformat())
        if code:
            where = args.index("-m")
            args[where : where + 2] = code
        return self.dagster(args, f"run-{label}")

    def forget_outputs(self) -> None:
        """Make the next run of the day a fresh one: no cached idiCORE answers, no earlier results."""
        from etl_platform.adapters.warehouse import WarehouseSession, statements

        with self.sandbox.connect() as conn:
            session = WarehouseSession(conn, batch_rows=1)
            session.ensure_tables()
            for statement in statements("bench/forget_outputs"):
                session.cur.execute(statement)

    def latest_trace(self):
        """The newest run as `etl-platform trace` sees it, read from this stack's instance."""
        import dagster as dg

        from etl_platform.cli.observe import find_run, load_trace

        with self.instance_environment(), dg.DagsterInstance.get() as instance:
            record = find_run(instance, None)
            trace = load_trace(instance, record)
            # When the first step started: what a run pays before any work (start-up, planning, pools).
            starts = instance.get_records_for_run(
                record.dagster_run.run_id, of_type=dg.DagsterEventType.STEP_START, limit=1
            ).records
            trace.first_step_at = starts[0].event_log_entry.timestamp if starts else None
            # When the last step ended: first step start -> last step end is the pipeline's own span.
            ends = instance.get_records_for_run(
                record.dagster_run.run_id,
                of_type={dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE},
                ascending=False,
                limit=1,
            ).records
            trace.last_step_at = ends[0].event_log_entry.timestamp if ends else None
            return record, trace

    @contextlib.contextmanager
    def instance_environment(self, home: Path | None = None) -> Iterator[None]:
        """This process's environment pointed at this stack's instance (dagster.yaml reads it from there)
        while an instance is opened here; `home` for another DAGSTER_HOME on the same database."""
        keys = ("DAGSTER_HOME", "DAGSTER_POSTGRES_URL")
        saved = {k: os.environ.get(k) for k in keys}
        os.environ.update(
            DAGSTER_HOME=str(home or self.env["DAGSTER_HOME"]),
            DAGSTER_POSTGRES_URL=self.db_url,
        )
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
