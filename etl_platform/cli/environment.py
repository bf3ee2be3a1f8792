"""Loading `.env` and preparing the Dagster instance for the command-line tools."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import subprocess
from pathlib import Path
from urllib.parse import urlparse

from dotenv import dotenv_values

from etl_platform.core.stages import DAILY_JOB, DNC_REGISTRY, VENDOR_POOLS


def _is_checkout(folder: Path) -> bool:
    return (folder / "pyproject.toml").is_file() and (folder / "etl_platform").is_dir()


def _project_root() -> Path:
    """Where .env, .sandbox/ and run-logs/ live: the checkout the command is started in; else the checkout this
    package is installed from (editable); else (an installed wheel) the folder the command is started from.
    The current folder comes first, so a command run in a second checkout never writes into the first."""
    here = Path.cwd()
    if _is_checkout(here):
        return here
    installed = Path(__file__).resolve().parents[2]
    return installed if _is_checkout(installed) else here


PROJECT_ROOT = _project_root()
# The folder holding the project's dagster.yaml: DAGSTER_HOME unless one is exported. Not the project folder
# itself: a `dagster` or `dg` command started in a folder with a dagster.yaml and no DAGSTER_HOME reads that
# file for its temporary instance, so `dg check defs` in the checkout needed DAGSTER_POSTGRES_URL although
# checking the definitions needs no instance database (DESIGN: the location loads with nothing set).
INSTANCE_FOLDER = "dagster_home"
PATH_VARIABLES = ("DNC_REGISTRY_PATH", "DNC_SOURCE_DIR", "ETL_BASELINES_PATH")
# Dagster's CLI applies a .env in its working directory *over* the environment. The commands here have
# already merged the settings (exported variables win), so they start Dagster from a folder without one.
# Not `logs/`: with DAGSTER_HOME at a project, Dagster owns `$DAGSTER_HOME/logs/` (its telemetry queue,
# which it moves away); `dagster dev` started in there lost its working folder and the UI died at start.
DAGSTER_CWD = PROJECT_ROOT / "run-logs"
# The sandbox's settings: what a fresh checkout runs against when nothing else is configured.
SANDBOX_DEFAULTS = ".env.example"


def settings_sources(root: Path, environ) -> tuple[Path | None, dict[str, str]]:
    """Which file fills in what the environment does not set, and its values. Precedence, explicit:
    1. variables exported in the environment;
    2. the project's `.env`, when there is one (a team's own settings);
    3. the sandbox defaults (`.env.example`), only when neither of those configures Snowflake at all:
       filling gaps in a production environment with sandbox values would retarget it.
    The commands never write a `.env`: one in the project folder would also be applied by `dagster` and
    `dg` started there, over the environment."""
    env_file = root / ".env"
    if env_file.is_file():
        return env_file, {k: v for k, v in dotenv_values(env_file).items() if v is not None}
    if "SNOWFLAKE_ACCOUNT" not in environ and (root / SANDBOX_DEFAULTS).is_file():
        return root / SANDBOX_DEFAULTS, {k: v for k, v in dotenv_values(root / SANDBOX_DEFAULTS).items() if v}
    return None, {}


def load_env(root: Path = PROJECT_ROOT) -> Path | None:
    """Fill os.environ from the settings file `settings_sources` picks, never overriding what the caller
    exported; warn (naming variables, never values) when `.env` disagrees with the environment; point
    DAGSTER_HOME at the project's dagster.yaml (`dagster_home/`) when unset.

    The one place the package writes the process environment, on purpose: it runs once, first thing in a
    command (`etl-platform`'s group callback), and what it sets is what the Dagster instance (DAGSTER_HOME,
    DAGSTER_POSTGRES_URL in dagster.yaml) and the child `dagster` processes read."""
    import click

    source, values = settings_sources(root, os.environ)
    differing = sorted(k for k, v in values.items() if k in os.environ and os.environ[k] != v)
    if differing and source is not None and source.name == ".env":
        click.echo(
            f"warning: {source} sets {', '.join(differing)} differently from the environment; etl-platform uses "
            "the exported values, but `dagster`/`dg` started in that folder would use the file's",
            err=True,
        )
    if "SNOWFLAKE_ACCOUNT" in os.environ and source is not None:
        # The warehouse is configured by the environment: a file must not add a host, a credential or a
        # database to it (an old sandbox .env would retarget a production run).
        skipped = sorted(k for k in values if k.startswith("SNOWFLAKE_") and k not in os.environ)
        values = {k: v for k, v in values.items() if k not in skipped}
        if skipped:
            click.echo(
                f"warning: SNOWFLAKE_ACCOUNT is exported, so {', '.join(skipped)} from {source} are ignored; "
                "export them too if they are meant",
                err=True,
            )
    if source is not None and source.name == SANDBOX_DEFAULTS:
        values = sandbox_defaults(root, values, os.environ)
    for key, value in values.items():
        if key not in os.environ:
            os.environ[key] = value
    for key in PATH_VARIABLES:
        # Relative paths mean "in the project", wherever a command is started from.
        if os.environ.get(key) and not Path(os.environ[key]).is_absolute():
            os.environ[key] = str(root / os.environ[key])
    os.environ.setdefault("DAGSTER_HOME", str(default_dagster_home(root)))
    return source


def default_dagster_home(root: Path = PROJECT_ROOT) -> Path:
    """The checkout's instance folder; an installed wheel has none: the folder the command runs in."""
    folder = root / INSTANCE_FOLDER
    return folder if (folder / "dagster.yaml").is_file() else root


def sandbox_database_name(root: Path) -> str:
    """The instance database of a checkout on the sandbox defaults: one per project folder, so two clones on one
    machine do not see each other's runs and learned baselines. Deterministic: the same folder always gets the
    same database (its history survives), and PostgreSQL's identifier rules are met (lower case, < 63)."""
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:8]
    return f"etl_platform_{digest}"


def sandbox_first_day(environ, values: dict[str, str], today: dt.date | None = None) -> dt.date:
    """The first day the sandbox seeds: it holds today and the SANDBOX_DAYS days before (runner.seed_leads)."""
    today = today or dt.datetime.now(dt.UTC).date()
    days = environ.get("SANDBOX_DAYS") or values.get("SANDBOX_DAYS") or "7"
    return today - dt.timedelta(days=int(days))


def sandbox_defaults(root: Path, values: dict[str, str], environ, today: dt.date | None = None) -> dict[str, str]:
    """The sandbox defaults with the two values that depend on the folder and the day. Only these defaults are
    rewritten: a DAGSTER_POSTGRES_URL or ETL_PARTITIONS_START exported (or set in a `.env`) is the user's.
    - the instance database is the folder's own (sandbox_database_name);
    - the daily partitions start on the sandbox's first seeded day, not on the production start: the sandbox
      holds a week, and every asset showed ~330 missing partitions in red. Every Dagster process of a command
      (code server, run worker, daemon) inherits this process's environment, so all see the same start."""
    values = dict(values)
    if "DAGSTER_POSTGRES_URL" not in environ and values.get("DAGSTER_POSTGRES_URL"):
        url = urlparse(values["DAGSTER_POSTGRES_URL"])
        values["DAGSTER_POSTGRES_URL"] = url._replace(path=f"/{sandbox_database_name(root)}").geturl()
    if "ETL_PARTITIONS_START" not in environ:
        values["ETL_PARTITIONS_START"] = sandbox_first_day(environ, values, today).isoformat()
    return values


def describe_instance(environ) -> str:
    """Which instance database a command uses (no credentials)."""
    url = urlparse(environ.get("DAGSTER_POSTGRES_URL") or "")
    return f"PostgreSQL database {url.path.lstrip('/') or '?'} at {url.hostname}:{url.port or 5432}"


def instance_db_problem(url: str | None, timeout: int = 5) -> str | None:
    """Why the instance's PostgreSQL cannot be used now, in one line, or None. Checked before opening the
    Dagster instance: dagster-postgres retries a refused connection with back-off for ~20 s."""
    import psycopg2

    if not url:
        return "DAGSTER_POSTGRES_URL is not set (see .env.example)"
    target = urlparse(url)
    try:
        psycopg2.connect(url, connect_timeout=timeout).close()
    except psycopg2.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        where = f"{target.hostname}:{target.port or 5432}/{target.path.lstrip('/')}"
        return f"PostgreSQL at {where} (DAGSTER_POSTGRES_URL) is not reachable: {first}"
    return None


def open_instance():
    """The Dagster instance for a command, or one clear error when its database is down."""
    import click
    import dagster as dg

    if problem := instance_db_problem(os.environ.get("DAGSTER_POSTGRES_URL")):
        raise click.ClickException(problem)
    return dg.DagsterInstance.get()


def ensure_postgres_database(url: str) -> None:
    """Create the instance database named in DAGSTER_POSTGRES_URL if it does not exist yet."""
    import psycopg2
    from psycopg2 import sql

    parsed = urlparse(url.replace("+psycopg2", ""))
    name = parsed.path.lstrip("/") or "postgres"
    admin = parsed._replace(path="/postgres").geturl()
    try:
        conn = psycopg2.connect(admin, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        raise SystemExit(
            f"PostgreSQL at {parsed.hostname}:{parsed.port or 5432} is not reachable ({str(exc).strip()}).\n"
            "Start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
        ) from None
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cur.fetchone() is None:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    conn.close()


def dagster_bin() -> str:
    """The `dagster` executable next to this interpreter (the project's venv)."""
    import sys

    candidate = Path(sys.executable).with_name("dagster")
    return str(candidate) if candidate.exists() else "dagster"


CODE_LOCATION = "etl_platform"  # the location's name in workspace.yaml, the image and docs/deployment.md


def workspace_file() -> Path:
    """The workspace the daemon and webserver load (the project's workspace.yaml; written into run-logs/ for an
    installed wheel). Submitting through it records the code location under the name the daemon knows: a
    backfill submitted with `-m etl_platform.definitions` would name its location after the module, and a
    daemon serving `etl_platform` could not run it."""
    project = PROJECT_ROOT / "workspace.yaml"
    if project.is_file():
        return project
    DAGSTER_CWD.mkdir(parents=True, exist_ok=True)
    generated = DAGSTER_CWD / "workspace.yaml"
    generated.write_text(
        "load_from:\n  - python_module:\n      module_name: etl_platform.definitions\n"
        f"      location_name: {CODE_LOCATION}\n"
    )
    return generated


def daily_job_args(partition: str) -> list[str]:
    """`dagster job execute` of the daily job for one partition: what `etl-platform run` starts. The same steps
    as `materialize_args`, but as `daily_leads_job`, which leaves the scrubs' and lead_results' checks out of
    its plan (their steps still report them): Dagster marks every check planned in a failed run
    EXECUTION_FAILED, and the UI's Checks tab then reads "Failed" over the evaluation that passed
    (docs/how-it-works.md, "The checks"). `dagster asset materialize` cannot leave checks out."""
    return [
        "job",
        "execute",
        "-m",
        "etl_platform.definitions",
        "-j",
        DAILY_JOB,
        "--tags",
        json.dumps({"dagster/partition": partition}),
    ]


def materialize_args(partition: str) -> list[str]:
    """`dagster asset materialize` for one partition of the daily assets (the registry is its own run): the
    plain Dagster CLI of DESIGN.md's contract."""
    return [
        "asset",
        "materialize",
        "-m",
        "etl_platform.definitions",
        "--select",
        f"not key:{DNC_REGISTRY.asset}",
        "--partition",
        partition,
    ]


def run_dagster(args: list[str], log_file: Path | None = None) -> int:
    """Run the plain Dagster CLI; its event log goes to `log_file` when given (the console otherwise)."""
    DAGSTER_CWD.mkdir(parents=True, exist_ok=True)
    if log_file is None:
        return subprocess.call([dagster_bin(), *args], cwd=DAGSTER_CWD)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "wb") as out:
        return subprocess.call([dagster_bin(), *args], cwd=DAGSTER_CWD, stdout=out, stderr=subprocess.STDOUT)


def ensure_pools() -> None:
    """Create the vendor pools' slots in the instance before any run claims them. Dagster creates a pool's
    slots lazily, at the first claim; two runs claiming at once on a fresh instance can each create one,
    and then both vendor steps run together (seen in CI). An existing limit (`dagster instance concurrency
    set`) is kept."""
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        limit = instance.get_concurrency_config().pool_config.default_pool_limit
        configured = storage.get_concurrency_keys()
        for pool in VENDOR_POOLS:
            if pool not in configured and limit is not None:
                storage.set_concurrency_slots(pool, limit)
