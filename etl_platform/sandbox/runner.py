"""Start and seed the whole local sandbox: fakesnow (Snowflake over HTTP), idiCORE, CCC, DNC files.

`Sandbox` runs the three servers on loopback threads of one process (tests use it directly);
`etl-platform sandbox start` runs it as a detached background process for the CLI and `dagster dev`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import logging
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from etl_platform.sandbox import ccc as ccc_app
from etl_platform.sandbox import idicore as idicore_app
from etl_platform.sandbox.faults import Behaviour, parse_faults
from etl_platform.sandbox.http_common import Counters
from etl_platform.sandbox.snowflake_login import SnowflakeLogin
from etl_platform.sandbox.world import COVERED_AREA_CODES, POOL_PER_AREA_CODE, World

log = logging.getLogger(__name__)

SANDBOX_CREDENTIALS = {
    "SNOWFLAKE_ACCOUNT": "sandbox",
    "SNOWFLAKE_USER": "sandbox",
    "SNOWFLAKE_PASSWORD": "sandbox-password",
    "SNOWFLAKE_DATABASE": "ETL",
    "SNOWFLAKE_SCHEMA": "LEADS_PIPELINE",
    "SNOWFLAKE_WAREHOUSE": "SANDBOX_WH",
    "SNOWFLAKE_ROLE": "SANDBOX_ROLE",
    "IDICORE_CLIENT_ID": "sandbox-client",
    "IDICORE_CLIENT_SECRET": "sandbox-secret",
    "CCC_LOGIN_ID": "sandbox-login",
}


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.closing(socket.socket()) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


@dataclass
class SandboxSettings:
    root: Path
    snowflake_port: int = 0  # 0 = pick a free port
    idicore_port: int = 0
    ccc_port: int = 0
    seed: int = 7
    days: int = 7
    leads_per_day: int = 200
    phone_pool_per_area_code: int = POOL_PER_AREA_CODE
    idicore_latency_ms: float = 250.0
    idicore_rate_limit: float | None = 50.0
    ccc_latency_ms: float = 400.0
    ccc_rate_limit: float | None = 1000 / 60
    rate_mode: str = "bucket"  # how both vendors enforce their limits (faults.Behaviour.rate_mode)
    faults: str | None = None
    registry_age_days: int = 2
    persist_snowflake: bool = True
    # PEM public keys the sandbox warehouse accepts for key-pair sign-in (the user's RSA_PUBLIC_KEY).
    snowflake_public_keys: tuple[Path, ...] = ()

    @classmethod
    def from_env(cls, root: Path, environ=os.environ) -> SandboxSettings:
        def num(name: str, default: float | None) -> float | None:
            value = environ.get(name)
            if value is None or value == "":
                return default
            return None if value.lower() == "none" else float(value)

        def port_of(url_var: str, port_var: str, default: int) -> int:
            if environ.get(port_var):
                return int(environ[port_var])
            url = environ.get(url_var, "")
            with contextlib.suppress(ValueError, IndexError):
                return int(url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
            return default

        return cls(
            root=root,
            snowflake_port=int(environ.get("SNOWFLAKE_PORT") or 18080),
            idicore_port=port_of("IDICORE_SEARCH_URL", "SANDBOX_IDICORE_PORT", 18081),
            ccc_port=port_of("CCC_LITIGATOR_URL", "SANDBOX_CCC_PORT", 18082),
            seed=int(num("SANDBOX_SEED", 7)),
            days=int(num("SANDBOX_DAYS", 7)),
            leads_per_day=int(num("SANDBOX_LEADS_PER_DAY", 200)),
            phone_pool_per_area_code=int(num("SANDBOX_PHONE_POOL_PER_AREA_CODE", POOL_PER_AREA_CODE)),
            idicore_latency_ms=num("SANDBOX_IDICORE_LATENCY_MS", 250.0),
            idicore_rate_limit=num("SANDBOX_IDICORE_RATE_LIMIT", 50.0),
            ccc_latency_ms=num("SANDBOX_CCC_LATENCY_MS", 400.0),
            ccc_rate_limit=num("SANDBOX_CCC_RATE_LIMIT", 1000 / 60),
            rate_mode=environ.get("SANDBOX_RATE_MODE") or "bucket",
            faults=environ.get("SANDBOX_FAULTS") or None,
            snowflake_public_keys=tuple(
                Path(p) for p in (environ.get("SANDBOX_SNOWFLAKE_PUBLIC_KEYS") or "").split(os.pathsep) if p
            ),
        )


@dataclass
class Sandbox:
    settings: SandboxSettings
    world: World = field(init=False)
    idicore: Behaviour = field(init=False)
    ccc: Behaviour = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.world = World(seed=s.seed, pool_per_area_code=s.phone_pool_per_area_code)
        faults = parse_faults(s.faults)
        self.idicore = Behaviour(s.idicore_latency_ms, s.idicore_rate_limit, faults, seed=s.seed, rate_mode=s.rate_mode)
        self.ccc = Behaviour(s.ccc_latency_ms, s.ccc_rate_limit, faults, seed=s.seed + 1, rate_mode=s.rate_mode)
        self.idicore_counters = Counters()
        self.ccc_counters = Counters()
        self._servers: list[tuple[uvicorn.Server, threading.Thread]] = []
        for attr in ("snowflake_port", "idicore_port", "ccc_port"):
            if not getattr(s, attr):
                setattr(s, attr, free_port())

    # --- configuration the pipeline needs to reach this sandbox --------------------------------
    @property
    def env(self) -> dict[str, str]:
        s = self.settings
        return SANDBOX_CREDENTIALS | {
            "SNOWFLAKE_HOST": "127.0.0.1",
            "SNOWFLAKE_PORT": str(s.snowflake_port),
            "SNOWFLAKE_PROTOCOL": "http",
            "IDICORE_AUTH_URL": f"http://127.0.0.1:{s.idicore_port}/apiclient",
            "IDICORE_SEARCH_URL": f"http://127.0.0.1:{s.idicore_port}/search/",
            "CCC_LITIGATOR_URL": f"http://127.0.0.1:{s.ccc_port}/v1.5/Scrub/litigator",
            "DNC_REGISTRY_PATH": str(s.root / "dnc" / "registry.duckdb"),
            "DNC_SOURCE_DIR": str(s.root / "dnc" / "source"),
        }

    # --- servers ----------------------------------------------------------------------------------
    def start(self, parts: tuple[str, ...] = ("snowflake", "idicore", "ccc")) -> Sandbox:
        """Serve `parts` from threads of this process (the tests' sandbox serves all three; the detached
        one serves the vendors from a process of their own, see serve_forever)."""
        s = self.settings
        s.root.mkdir(parents=True, exist_ok=True)
        apps = []
        if "snowflake" in parts:
            apps.append((self._snowflake_app(), s.snowflake_port))
        creds = SANDBOX_CREDENTIALS
        if "idicore" in parts:
            app = idicore_app.create_app(
                self.world,
                self.idicore,
                creds["IDICORE_CLIENT_ID"],
                creds["IDICORE_CLIENT_SECRET"],
                self.idicore_counters,
            )
            apps.append((app, s.idicore_port))
        if "ccc" in parts:
            apps.append(
                (ccc_app.create_app(self.world, self.ccc, creds["CCC_LOGIN_ID"], self.ccc_counters), s.ccc_port)
            )
        for app, port in apps:
            config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
            server = uvicorn.Server(config)
            thread = threading.Thread(target=server.run, name=f"sandbox:{port}", daemon=True)
            thread.start()
            self._servers.append((server, thread))
        deadline = time.monotonic() + 20
        while not all(server.started for server, _ in self._servers):
            if time.monotonic() > deadline or not all(t.is_alive() for _, t in self._servers):
                self.stop()
                raise RuntimeError("sandbox servers did not start (is a port taken?)")
            time.sleep(0.05)
        return self

    def _snowflake_app(self):
        import fakesnow.server
        from fakesnow.instance import FakeSnow

        s = self.settings
        # fakesnow logs every session login and failing statement at INFO; keep the sandbox quiet.
        logging.getLogger("fakesnow.server").setLevel(logging.WARNING)
        if s.persist_snowflake:
            # fakesnow's server keeps one shared instance; giving it a folder makes the sandbox warehouse
            # survive restarts, as a real one would.
            (s.root / "snowflake").mkdir(exist_ok=True)
            fakesnow.server.shared_fs = FakeSnow(db_path=s.root / "snowflake")
        creds = SANDBOX_CREDENTIALS
        self.snowflake_login = SnowflakeLogin(
            fakesnow.server.app,
            account=creds["SNOWFLAKE_ACCOUNT"],
            user=creds["SNOWFLAKE_USER"],
            passwords={creds["SNOWFLAKE_PASSWORD"]},
        )
        for key_file in s.snowflake_public_keys:
            self.snowflake_login.register_public_key(Path(key_file).read_bytes())
        return self.snowflake_login

    def stop(self) -> None:
        for server, _ in self._servers:
            server.should_exit = True
        for _, thread in self._servers:
            thread.join(timeout=10)
        self._servers.clear()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- data -------------------------------------------------------------------------------------
    def connect(self, **auth):
        """A connector session on the sandbox warehouse: the sandbox password unless `auth` says otherwise."""
        import snowflake.connector

        from etl_platform.adapters.warehouse import connection_args_from_env

        env = self.env
        return snowflake.connector.connect(
            account=env["SNOWFLAKE_ACCOUNT"],
            user=env["SNOWFLAKE_USER"],
            **(auth or {"password": env["SNOWFLAKE_PASSWORD"]}),
            database=env["SNOWFLAKE_DATABASE"],
            schema=env["SNOWFLAKE_SCHEMA"],
            **connection_args_from_env(env),
        )

    def seed_leads(self, days: list[dt.date] | None = None, per_day: int | None = None) -> dict[str, int]:
        """Make LEADS hold the generated leads for each day (idempotent: a day already right is left)."""
        from etl_platform.adapters.warehouse import WarehouseSession, sql, to_json_array
        from etl_platform.core.leads import day_bounds

        per_day = self.settings.leads_per_day if per_day is None else per_day
        if days is None:
            today = dt.datetime.now(dt.UTC).date()
            days = [today - dt.timedelta(days=n) for n in range(self.settings.days, -1, -1)]
        seeded: dict[str, int] = {}
        with self.connect() as conn:
            session = WarehouseSession(conn, batch_rows=10_000)
            session.cur.execute(sql("sandbox/create_leads"))
            session.cur.execute(sql("sandbox/create_seeds"))
            for day in days:
                rows = self.world.leads_for_day(day, per_day)
                digest = hashlib.sha256(to_json_array(rows).encode()).hexdigest()
                stored = session.rows("sandbox/seed_digest", [day])
                if not stored or stored[0][0] != digest:
                    bounds = day_bounds(day)
                    with session.transaction():
                        session.execute("sandbox/delete_leads_day", bounds)
                        session.insert_json("sandbox/insert_leads", rows)
                        session.execute("sandbox/delete_seed", [day])
                        session.execute("sandbox/insert_seed", [day, digest])
                seeded[day.isoformat()] = len(rows)
        return seeded

    def write_registry(
        self, copy_date: dt.date | None = None, area_codes: tuple[str, ...] = COVERED_AREA_CODES
    ) -> Path:
        """FTC-format full-list files, one per area code, named with the copy date."""
        copy_date = copy_date or dt.datetime.now(dt.UTC).date() - dt.timedelta(days=self.settings.registry_age_days)
        source = Path(self.env["DNC_SOURCE_DIR"])
        source.mkdir(parents=True, exist_ok=True)
        for area in area_codes:
            for old in source.glob(f"dnc_{area}_*.txt"):
                if old.name != f"dnc_{area}_{copy_date.isoformat()}.txt":
                    old.unlink()
            target = source / f"dnc_{area}_{copy_date.isoformat()}.txt"
            if not target.exists():
                tmp = target.with_suffix(".part")
                tmp.write_text("".join(f"{area},{n}\n" for n in self.world.registry_numbers(area)))
                tmp.rename(target)
        return source


def spawn(root: Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120):
    """Start `python -m etl_platform.sandbox serve ROOT` detached (its own session, output in
    ROOT/sandbox.log) and wait until it has seeded; RuntimeError if it dies or times out first."""
    import subprocess
    import sys

    root.mkdir(parents=True, exist_ok=True)
    (root / "ready").unlink(missing_ok=True)
    log = open(root / "sandbox.log", "ab")  # noqa: SIM115 - handed to the child process
    proc = subprocess.Popen(
        [sys.executable, "-m", "etl_platform.sandbox", "serve", str(root)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=cwd,
    )
    deadline = time.monotonic() + timeout
    while not (root / "ready").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)  # never leave a half-started sandbox holding the ports
            raise RuntimeError(f"sandbox failed to start; see {root / 'sandbox.log'}")
        time.sleep(0.1)
    return proc


VENDOR_PARTS = ("idicore", "ccc")


def serve_forever(root: Path) -> None:
    """Entry point of the detached sandbox process: the warehouse here, the vendors in a child process.

    Why two processes: fakesnow translates every statement with sqlglot, tens of milliseconds of pure
    Python under the GIL. Sharing a process with it, the vendor servers' clocks stalled behind the
    warehouse's work, stamped requests late and in bunches, and a strict sliding-window limit then saw 51
    in a second that the client had spaced at 49 (13 phantom 429s in a 20,000-lead day, bench sizes). A
    real vendor does not share a GIL with the warehouse. The child is in this process group, so the
    signals that stop this process (`etl-platform sandbox stop`, the bench) stop it too."""
    import subprocess
    import sys

    _stop_on_signals()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sandbox %(message)s")
    settings = SandboxSettings.from_env(root)
    (root / "vendors-ready").unlink(missing_ok=True)
    vendors = subprocess.Popen([sys.executable, "-m", "etl_platform.sandbox", "serve-vendors", str(root)])
    sandbox = Sandbox(settings).start(parts=("snowflake",))
    deadline = time.monotonic() + 60
    while not (root / "vendors-ready").exists():
        if vendors.poll() is not None or time.monotonic() > deadline:
            sandbox.stop()
            if vendors.poll() is None:
                vendors.kill()
            raise RuntimeError("the sandbox's vendor servers did not start (is a port taken?)")
        time.sleep(0.05)
    seeded = sandbox.seed_leads()
    sandbox.write_registry()
    # The first day it holds: `etl-platform run`/`dev` restart a sandbox that holds fewer days than SANDBOX_DAYS
    # now asks for (the partitions start there, environment.sandbox_defaults), rather than run empty days.
    (root / "seeded-from").write_text(min(seeded))
    log.info(
        "sandbox up: snowflake:%s idicore:%s ccc:%s; leads per day %s",
        settings.snowflake_port,
        settings.idicore_port,
        settings.ccc_port,
        seeded,
    )
    (root / "ready").write_text(str(os.getpid()))
    try:
        _until_stopped()
    finally:
        (root / "ready").unlink(missing_ok=True)
        if vendors.poll() is None:
            vendors.terminate()  # both shut down at once (it has usually had the group's signal already)
        sandbox.stop()
        with contextlib.suppress(subprocess.TimeoutExpired):
            vendors.wait(timeout=10)


def _until_stopped(every: float = 3600.0, tick=None) -> None:
    """Serve until SIGINT or SIGTERM (see _stop_on_signals); the caller's `finally` cleans up. `tick` is
    called every `every` seconds meanwhile."""
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            time.sleep(every)
            if tick is not None:
                tick()


# The vendor process's full garbage collections walk every object it holds, and the people it has searched
# (World's cache) only grow: 20-55 ms pauses, about eight in a 20,000-lead day, each delaying the moment the
# idiCORE sandbox stamps the requests waiting in its sockets, so its strict window counted 51 where the
# client had sent 50 (7 of that day's 12 429s, traced). A real vendor stamps at its edge, not behind its
# search backend's collector: freezing what the process holds, every second, keeps each collection to the
# last second's objects. A cycle of garbage still alive at a freeze is kept for good: a sandbox can afford it.
VENDOR_GC_FREEZE_SECONDS = 1.0
SLOW_COLLECTION_SECONDS = 0.01


def _log_slow_collections() -> None:
    """Log every garbage collection that holds the vendors' clock for more than SLOW_COLLECTION_SECONDS."""
    started: list[float] = []

    def timed(phase: str, info: dict) -> None:
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif started and (held := time.perf_counter() - started[0]) > SLOW_COLLECTION_SECONDS:
            log.warning(
                "garbage collection of generation %d held the vendors for %.0f ms", info["generation"], held * 1000
            )

    gc.callbacks.append(timed)


def _stop_on_signals() -> None:
    """SIGINT (`etl-platform sandbox stop`) and SIGTERM end the sandbox through its cleanup. Set explicitly: a
    process started from one that ignores SIGINT (`nohup`, a pytest-xdist worker) inherits the ignore, and
    Python then never raises KeyboardInterrupt, so the stop waited 10 s and fell back to SIGKILL."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def serve_vendors(root: Path) -> None:
    """The detached sandbox's vendor servers (idiCORE, CCC), in their own process (see serve_forever)."""
    _stop_on_signals()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s sandbox-vendors %(message)s")
    sandbox = Sandbox(SandboxSettings.from_env(root)).start(parts=VENDOR_PARTS)
    _log_slow_collections()
    gc.freeze()
    (root / "vendors-ready").write_text(str(os.getpid()))
    try:
        _until_stopped(VENDOR_GC_FREEZE_SECONDS, gc.freeze)
    finally:
        # A stop signals the whole process group and the parent then stops this child too: the second
        # SIGINT interrupted the servers' shutdown with a traceback in the sandbox's log.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        (root / "vendors-ready").unlink(missing_ok=True)
        sandbox.stop()
