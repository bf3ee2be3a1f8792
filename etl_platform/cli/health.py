"""`etl-platform health`: is every dependency up? One probe per dependency, each with a short timeout and a
message a person can act on. No probe prints a secret; idiCORE is probed with a login (not billed) and CCC
with its documented litigator test number, which must come back flagged."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlparse

import click

from etl_platform.core.settings import Settings, SettingsError, VendorCallPolicy
from etl_platform.core.stages import LEAD_CONTACTS, LITIGATOR_SCRUB

UP, WARN, DOWN = "UP", "WARN", "DOWN"
PROBE_TIMEOUT = 5.0
CCC_TEST_LITIGATOR = "2675466417"


@dataclass
class Probe:
    name: str
    status: str
    latency_ms: float
    detail: str


def _timed(name: str, fn: Callable[[], tuple[str, str]]) -> Probe:
    started = time.perf_counter()
    try:
        status, detail = fn()
    except KeyError as exc:  # a variable the probe needs is missing from the environment
        status, detail = DOWN, f"{exc.args[0]} is not set (see .env.example)"
    except SettingsError as exc:  # already one line naming the variables (the sign-in, a setting)
        status, detail = DOWN, _first_line(exc)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a DOWN line, never a crash
        status, detail = DOWN, f"{type(exc).__name__}: {_first_line(exc)}"
    return Probe(name, status, round(1000 * (time.perf_counter() - started), 1), detail)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _scrub_secrets(text: str, environ) -> str:
    for key in (
        "SNOWFLAKE_PASSWORD",
        "SNOWFLAKE_PRIVATE_KEY",
        "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE",
        "IDICORE_CLIENT_SECRET",
        "CCC_LOGIN_ID",
    ):
        if environ.get(key):
            text = text.replace(environ[key], "***")
    return text


def probe_policy(settings: Settings, vendor: str) -> VendorCallPolicy:
    """One attempt with the probe's short timeout: health reports what is, it does not ride faults out."""
    return settings.call_policy(vendor).model_copy(
        update={"timeout_seconds": PROBE_TIMEOUT, "max_attempts": 1, "max_retry_seconds": PROBE_TIMEOUT}
    )


def probe_instance(environ) -> tuple[str, str]:
    import dagster as dg

    from etl_platform.cli.environment import instance_db_problem

    # PostgreSQL itself first, with the probe's timeout (dagster-postgres would retry for ~20 s);
    # dagster.yaml's storage needs the URL: an empty one would reach libpq's defaults.
    if problem := instance_db_problem(environ["DAGSTER_POSTGRES_URL"], timeout=int(PROBE_TIMEOUT)):
        return DOWN, problem
    with dg.DagsterInstance.get() as instance:
        instance.get_run_records(limit=1)
        behind = []
        for label, storage in (
            ("runs", instance.run_storage),
            ("events", instance.event_log_storage),
            ("schedules", instance.schedule_storage),
        ):
            version = getattr(storage, "alembic_version", None)
            if version is None:
                continue
            current, head = version()
            heads = head if isinstance(head, list | tuple) else [head]
            if current not in heads:
                behind.append(f"{label} at {current}, code expects {head}")
    if behind:
        return DOWN, f"schema out of date ({'; '.join(behind)}): run `dagster instance migrate`"
    return UP, "PostgreSQL reachable, storage schema current"


def probe_daemon(environ) -> tuple[str, str]:
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        beats = instance.get_daemon_heartbeats()
    if not beats:
        return DOWN, "no daemon heartbeat recorded: start `dagster-daemon run -w workspace.yaml` (or `make dev`)"
    newest = max(b.timestamp for b in beats.values())
    age = time.time() - newest
    if age > Settings.from_env(environ).daemon_heartbeat_max_age_seconds:
        return DOWN, (
            f"last heartbeat {age:.0f} s ago: the daemon is not running, schedules and backfills stall; start "
            "`dagster-daemon run -w workspace.yaml`"
        )
    return UP, f"heartbeat {age:.0f} s ago ({len(beats)} daemons)"


def probe_sign_in(environ) -> tuple[str, str]:
    """The Snowflake sign-in alone, without connecting: the first line of `health`, since the code location
    loads with any credential (DESIGN) and a run only finds a bad one when its first step connects."""
    from etl_platform.adapters.snowflake_keys import checked_auth

    auth, fingerprint = checked_auth(environ)  # the one line naming the variables, as the step would fail
    return UP, auth.describe() + (f", key {fingerprint}" if fingerprint else "")


def _snowflake_connection(environ):
    """A connection with the probe's short timeouts (the caller closes it)."""
    import snowflake.connector

    from etl_platform.adapters.snowflake_keys import connector_auth_args
    from etl_platform.adapters.warehouse import connection_args_from_env

    args = connection_args_from_env(environ) | {"login_timeout": PROBE_TIMEOUT, "network_timeout": PROBE_TIMEOUT}
    return snowflake.connector.connect(
        account=environ["SNOWFLAKE_ACCOUNT"],
        user=environ["SNOWFLAKE_USER"],
        **connector_auth_args(environ),
        database=environ["SNOWFLAKE_DATABASE"],
        schema=environ["SNOWFLAKE_SCHEMA"],
        warehouse=environ.get("SNOWFLAKE_WAREHOUSE"),
        role=environ.get("SNOWFLAKE_ROLE"),
        **args,
    )


def probe_snowflake(environ) -> tuple[str, str]:
    from etl_platform.adapters.snowflake_keys import checked_auth

    auth, fingerprint = checked_auth(environ)  # a key that cannot load is named here, before any connection
    conn = _snowflake_connection(environ)
    try:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM (SELECT 1 FROM LEADS LIMIT 1)")
        cur.fetchall()
    finally:
        conn.close()
    signed_in = auth.describe() + (f", key {fingerprint}" if fingerprint else "")
    return UP, f"connected ({signed_in}); LEADS readable"


def probe_late_leads(environ, today: dt.date | None = None) -> tuple[str, str]:
    """Days whose rows in LEADS changed since they were materialized (a loader ran late) but that lie beyond
    the late-leads sensor's window (LATE_LEADS_LOOKBACK_DAYS), back to LEAD_LOOKBACK_DAYS: the sensor will
    not ask for them, a data engineer decides. One warehouse statement (sql/lead_day_digests.sql, as the
    sensor) and one read of raw_leads' materializations."""
    import dagster as dg

    from etl_platform.adapters.sql_files import sql
    from etl_platform.cli.environment import instance_db_problem
    from etl_platform.core import late_leads as ll
    from etl_platform.defs.leads.late_leads import seen_views

    settings = Settings.from_env(environ)
    today = today or dt.datetime.now(dt.UTC).date()
    watched = set(ll.window(today, settings.late_leads_window_days, settings.partitions_start))
    older = [d for d in ll.window(today, settings.lead_lookback_days, settings.partitions_start) if d not in watched]
    if not older:
        return UP, "the late-leads sensor's window covers the whole look-back (LEAD_LOOKBACK_DAYS)"
    if problem := instance_db_problem(environ["DAGSTER_POSTGRES_URL"], timeout=int(PROBE_TIMEOUT)):
        return DOWN, problem
    with dg.DagsterInstance.get() as instance:
        seen = seen_views(instance, older)
    span = f"{older[0]}..{older[-1]}"
    if not seen:
        return UP, f"no day of {span} (beyond the sensor's window) has been materialized"
    conn = _snowflake_connection(environ)
    try:
        cur = conn.cursor()
        cur.execute(sql("lead_day_digests"), ll.bounds(seen))
        now = ll.views_by_day(cur.fetchall())
    finally:
        conn.close()
    result = ll.compare(seen, now)
    if result.changed:
        days = ", ".join(f"{d} ({ll.describe_change(*views)})" for d, views in result.changed.items())
        return WARN, (
            f"changed in LEADS since materialized, beyond the late-leads sensor's "
            f"{settings.late_leads_window_days} days (not requested automatically): {days}; re-run a day "
            "(`etl-platform run --partition D`) to deliver its late leads"
        )
    return UP, f"{len(result.unchanged)} materialized day(s) of {span} unchanged in LEADS" + (
        f", {len(result.unknown)} without a recorded view" if result.unknown else ""
    )


def probe_idicore(environ) -> tuple[str, str]:
    from etl_platform.adapters.vendors.base import ConfigurationError, VendorError
    from etl_platform.adapters.vendors.idicore import IdiCoreClient

    settings = Settings.from_env(environ)
    client = IdiCoreClient(
        auth_url=environ["IDICORE_AUTH_URL"],
        search_url=environ["IDICORE_SEARCH_URL"],
        client_id=environ["IDICORE_CLIENT_ID"],
        client_secret=environ["IDICORE_CLIENT_SECRET"],
        concurrency=1,
        rate_limit=settings.idicore_rate_limit,
        policy=probe_policy(settings, LEAD_CONTACTS.vendor),
    )
    try:
        client.login_only()
    except ConfigurationError as err:
        return DOWN, f"{err}: check IDICORE_CLIENT_ID and IDICORE_CLIENT_SECRET"
    except VendorError as err:
        host = urlparse(environ["IDICORE_AUTH_URL"]).netloc
        return DOWN, f"cannot log in at {host} ({err.kind}: {err}): check IDICORE_AUTH_URL and the network"
    return UP, "login succeeded (no billed search)"


def _vendor_outage(vendor: str, kind: str | None) -> str | None:
    """The line for a vendor that answered but is down or slowing us (5xx, 429): its side, not a wrong key or
    URL, so the login and URL are not what to check; None for any other failure."""
    kind = kind or ""
    if kind.startswith("http_5"):
        return (
            f"{vendor} answered HTTP {kind[5:]} (a server error on its side, not a key or URL problem): it is down or "
            "overloaded; runs fail closed until it answers, try again later"
        )
    if kind == "http_429":
        return f"{vendor} answered HTTP 429 (rate limited): slow down or try again later"
    return None


def probe_ccc(environ) -> tuple[str, str]:
    from etl_platform.adapters.vendors.ccc import CccClient

    client = CccClient(
        url=environ["CCC_LITIGATOR_URL"],
        login_id=environ["CCC_LOGIN_ID"],
        batch_size=1,
        policy=probe_policy(Settings.from_env(environ), LITIGATOR_SCRUB.vendor),
    )
    outcome = client.scrub([CCC_TEST_LITIGATOR])[CCC_TEST_LITIGATOR]
    if str(outcome.status) == "litigator":
        return UP, "documented test number came back flagged: key and contract OK"
    if str(outcome.status) == "clear":
        return DOWN, "documented litigator test number came back clear: the reply breaks the contract"
    from etl_platform.core.vendor_failures import kind_of

    if outage := _vendor_outage("CCC", kind_of(outcome.reason, LITIGATOR_SCRUB.vendor)):
        return DOWN, outage
    return DOWN, f"no verdict for the test number ({outcome.reason}): check CCC_LOGIN_ID and CCC_LITIGATOR_URL"


def probe_dnc(environ) -> tuple[str, str]:
    from etl_platform.adapters.dnc_store import REGISTRY_VALID_DAYS, DncStore

    path = Path(environ["DNC_REGISTRY_PATH"])
    if not path.exists():
        return DOWN, f"no registry at DNC_REGISTRY_PATH ({path}): materialize dnc_registry"
    store = DncStore(path)
    coverage = store.coverage()
    if not coverage:
        return DOWN, "registry holds no area codes"
    if problem := store.index_problem():
        return DOWN, f"registry at DNC_REGISTRY_PATH: {problem}; every phone is blocked until then"
    oldest_fresh = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=REGISTRY_VALID_DAYS)
    stale = [c for c in coverage if c.copy_date < oldest_fresh]
    dates = ", ".join(f"{c.area_code}:{c.copy_date}" for c in coverage)
    if len(stale) == len(coverage):
        return DOWN, f"every area code's copy is older than {REGISTRY_VALID_DAYS} days ({dates})"
    if stale:
        names = ", ".join(c.area_code for c in stale)
        return WARN, f"stale area codes (older than {REGISTRY_VALID_DAYS} days, phones there are blocked): {names}"
    return UP, f"{len(coverage)} area codes, copies: {dates}"


def probe_pools(environ) -> tuple[str, str]:
    """Who holds each vendor pool's slot: a run still STARTED long after its worker died, or a finished run
    whose slot the daemon has not freed, is what keeps every later run waiting (runbook)."""
    import dagster as dg

    from etl_platform.cli.environment import instance_db_problem
    from etl_platform.core.stages import VENDOR_POOLS

    if problem := instance_db_problem(environ["DAGSTER_POSTGRES_URL"], timeout=int(PROBE_TIMEOUT)):
        return DOWN, problem
    status, parts = UP, []
    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        for pool in VENDOR_POOLS:
            info = storage.get_concurrency_info(pool)
            if info.slot_count is None:
                parts.append(f"{pool}: not created yet (the first run creates it)")
                continue
            holders = []
            for slot in info.claimed_slots:
                run = instance.get_run_by_id(slot.run_id)
                if run is None or run.is_finished:
                    status = WARN
                holders.append(f"run {slot.run_id[:8]} ({run.status.value if run else 'deleted'})")
            # "idicore 0/1 free" read as "no slot free": say how many are free, of how many.
            free = max(info.slot_count - len(info.claimed_slots), 0)
            part = f"{pool}: {free} of {info.slot_count} slot{'' if info.slot_count == 1 else 's'} free"
            part += f", held by {', '.join(holders)}" if holders else ""
            if waiting := len(set(info.pending_run_ids)):
                part += f", {waiting} run(s) waiting"
            parts.append(part)
    detail = "; ".join(parts)
    if status == WARN:
        detail += " - a finished run still holds a slot: the daemon frees it (run_monitoring), is it running?"
    return status, detail


PROBES: list[tuple[str, Callable]] = [
    ("snowflake sign-in", probe_sign_in),
    ("dagster instance", probe_instance),
    ("dagster daemon", probe_daemon),
    ("vendor pools", probe_pools),
    ("snowflake", probe_snowflake),
    ("idicore", probe_idicore),
    ("ccc", probe_ccc),
    ("dnc registry", probe_dnc),
    ("late leads", probe_late_leads),
]


def run_health(environ=os.environ) -> list[Probe]:
    # Import the heavy clients first so each probe's latency is the dependency's, not Python's.
    import dagster  # noqa: F401
    import snowflake.connector  # noqa: F401

    import etl_platform.adapters.dnc_store  # noqa: F401
    import etl_platform.adapters.vendors.ccc  # noqa: F401
    import etl_platform.adapters.vendors.idicore  # noqa: F401

    probes = []
    for name, fn in PROBES:
        probe = _timed(name, lambda fn=fn: fn(environ))
        probe.detail = _scrub_secrets(probe.detail, environ)
        probes.append(probe)
    return probes


def render(probes: list[Probe]) -> str:
    return "\n".join(f"{p.status:<5} {p.name:<17} {p.latency_ms:8.1f} ms  {p.detail}" for p in probes)


def as_json_list(probes: list[Probe]) -> list[dict]:
    return [asdict(p) for p in probes]


def exit_code(probes: list[Probe]) -> int:
    return 1 if any(p.status == DOWN for p in probes) else 0


@click.command("health")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def command(as_json: bool) -> None:
    """Probe every dependency; non-zero exit when one is down."""
    probes = run_health(os.environ)
    click.echo(json.dumps(as_json_list(probes), indent=2) if as_json else render(probes))
    sys.exit(exit_code(probes))
