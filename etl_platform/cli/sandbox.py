"""`etl-platform sandbox start|stop|restart|status`: the local sandbox as a background process."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path
from urllib.parse import urlparse

import click

from etl_platform.cli.environment import PROJECT_ROOT

SANDBOX_ROOT = PROJECT_ROOT / ".sandbox"


def sandbox_pid() -> int | None:
    pid_file = SANDBOX_ROOT / "sandbox.pid"
    try:
        pid = int(pid_file.read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):  # no pid file, no such process
        return None
    # A sandbox this process started and stopped stays a zombie until reaped: it is not running.
    with contextlib.suppress(OSError, IndexError):  # no /proc (not Linux): os.kill said it runs
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return None
    return pid


def check_profile(profile: str | None) -> None:
    """A usage error for an unknown fault profile, before anything is stopped or started."""
    if profile is None or profile in ("none", "realistic"):
        return
    from etl_platform.sandbox.faults import parse_faults

    try:
        parse_faults(profile)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--profile") from None


def run_profile(profile: str | None, environ=os.environ) -> str:
    """The profile a run asks for: --profile, else SANDBOX_FAULTS, else none. Never "whatever the running
    sandbox has": a profile set for one run (`make run PROFILE=down`) must not outlive it."""
    return profile or environ.get("SANDBOX_FAULTS") or "none"


def describe_faults(faults: dict[str, float]) -> str:
    """`down: FAULTS ON (503 on 100% of requests)`, `none: well-behaved vendors`."""
    from etl_platform.sandbox.faults import PROFILES

    name = next((n for n, f in PROFILES.items() if f == faults), None)
    if not faults:
        return "none: well-behaved vendors"
    shares = ", ".join(f"{kind} on {share:.0%}" for kind, share in faults.items())
    return f"{name or 'custom'}: FAULTS ON ({shares} of requests)"


def _vendor_bases(environ=os.environ) -> dict[str, str]:
    """The vendor stand-ins' base URLs; their /_sandbox/ control endpoints are on the same ports."""
    urls = {"idiCORE": environ.get("IDICORE_SEARCH_URL", ""), "CCC": environ.get("CCC_LITIGATOR_URL", "")}
    return {name: f"{urlparse(url).scheme}://{urlparse(url).netloc}" for name, url in urls.items() if url}


def active_profile(environ=os.environ) -> str:
    """What the running sandbox's vendors inject now, read from their /_sandbox/stats."""
    import httpx

    faults = {
        name: httpx.get(f"{base}/_sandbox/stats", timeout=5).json()["behaviour"]["faults"]
        for name, base in _vendor_bases(environ).items()
    }
    described = {name: describe_faults(f) for name, f in faults.items()}
    if len(set(described.values())) == 1:
        return next(iter(described.values()))
    return "; ".join(f"{name} {text}" for name, text in described.items())


def _profile_or_why() -> str:
    import httpx

    try:
        return active_profile()
    except (httpx.HTTPError, KeyError, ValueError) as err:
        return f"unknown (the vendors did not answer: {type(err).__name__})"


def apply_profile(profile: str, environ=os.environ) -> str:
    """Switch the running sandbox's vendors to `profile` at run time (their /_sandbox/config), without the
    restart and re-seeding a new sandbox costs; the profile now active, as active_profile says."""
    import httpx

    from etl_platform.sandbox.faults import parse_faults

    faults = {} if profile in ("none", "realistic") else parse_faults(profile)
    for base in _vendor_bases(environ).values():
        reply = httpx.post(
            f"{base}/_sandbox/config", json={"faults": faults, "fault_limit": None, "fault_after": None}, timeout=5
        )
        reply.raise_for_status()
    return active_profile(environ)


def _served_elsewhere() -> list[int] | None:
    """The sandbox ports, when all of them answer though this folder's sandbox is not running: a sandbox
    started elsewhere (the tests' own, another checkout's) already serves them, and a second could not bind."""
    from etl_platform.sandbox.runner import SandboxSettings, port_open

    s = SandboxSettings.from_env(SANDBOX_ROOT)
    ports = [s.snowflake_port, s.idicore_port, s.ccc_port]
    return ports if all(port_open(port) for port in ports) else None


def _days_missing() -> tuple[str, str] | None:
    """(the first day the running sandbox holds, the first day SANDBOX_DAYS asks for) when it holds fewer."""
    from etl_platform.cli.environment import sandbox_first_day

    try:
        held = (SANDBOX_ROOT / "seeded-from").read_text().strip()
    except FileNotFoundError:
        return None
    wanted = sandbox_first_day(os.environ, {}).isoformat()
    return (held, wanted) if wanted < held else None


def sandbox_start(profile: str | None = None, timeout: float = 120) -> None:
    """Start the sandbox in the background unless it already runs; wait until it is seeded. The child gets
    this process's environment (`.env` already merged), so the sandbox needs no command-line layer.
    `profile` None keeps a running sandbox's fault profile; a profile is applied to a running sandbox at run
    time. Either way the first line says which profile is active (and that faults are on)."""
    env = dict(os.environ)
    if profile is not None:
        env["SANDBOX_FAULTS"] = "" if profile in ("none", "realistic") else profile
    pid = sandbox_pid()
    if pid and (SANDBOX_ROOT / "ready").exists() and (missing := _days_missing()):
        click.echo(f"the sandbox holds the days from {missing[0]}, SANDBOX_DAYS asks from {missing[1]}: restarting it")
        sandbox_stop()
        pid = None
    if pid and (SANDBOX_ROOT / "ready").exists():
        active = active_profile() if profile is None else apply_profile(profile)
        click.echo(f"sandbox fault profile {active} (sandbox already running, pid {pid})")
        return
    if pid:
        sandbox_stop()
    elif ports := _served_elsewhere():
        active = active_profile() if profile is None else apply_profile(profile)
        click.echo(
            f"sandbox fault profile {active} (a sandbox not started from {PROJECT_ROOT} already serves ports "
            f"{', '.join(map(str, ports))}: using it)"
        )
        return
    from etl_platform.sandbox.faults import parse_faults
    from etl_platform.sandbox.runner import spawn

    click.echo(f"sandbox fault profile {describe_faults(parse_faults(env.get('SANDBOX_FAULTS')))} (starting it)")
    try:
        proc = spawn(SANDBOX_ROOT, cwd=PROJECT_ROOT, env=env, timeout=timeout)
    except RuntimeError as err:
        raise SystemExit(str(err)) from None
    (SANDBOX_ROOT / "sandbox.pid").write_text(str(proc.pid))
    click.echo(f"sandbox up (pid {proc.pid})")


def sandbox_stop() -> None:
    pid = sandbox_pid()
    if pid is None:
        click.echo("sandbox not running")
        return
    os.killpg(pid, signal.SIGINT)
    for _ in range(100):
        if sandbox_pid() is None:
            break
        time.sleep(0.1)
    else:
        os.killpg(pid, signal.SIGKILL)
    (SANDBOX_ROOT / "ready").unlink(missing_ok=True)
    click.echo("sandbox stopped")


@click.command("sandbox")
@click.argument("action", type=click.Choice(["start", "stop", "restart", "status"]))
@click.option("--profile", help="fault profile: none, flaky, hostile, down, or kind=share,...")
def command(action: str, profile: str | None) -> None:
    """The local sandbox (fakesnow, idiCORE, CCC, DNC files)."""
    check_profile(profile)
    if action == "start":
        sandbox_start(profile)
    elif action == "stop":
        sandbox_stop()
    elif action == "restart":
        sandbox_stop()
        sandbox_start(profile)
    else:
        pid = sandbox_pid()
        click.echo(f"sandbox running (pid {pid}), fault profile {_profile_or_why()}" if pid else "sandbox not running")
        raise SystemExit(0 if pid else 1)
