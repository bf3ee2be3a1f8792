"""`etl-platform sandbox start|stop|restart|status`: the local sandbox as a background process."""

from __future__ import annotations

import os
import signal
import time

import click

from etl_platform.cli.environment import PROJECT_ROOT

SANDBOX_ROOT = PROJECT_ROOT / ".sandbox"


def sandbox_pid() -> int | None:
    pid_file = SANDBOX_ROOT / "sandbox.pid"
    try:
        pid = int(pid_file.read_text())
        os.kill(pid, 0)
        return pid
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None


def check_profile(profile: str | None) -> None:
    """A usage error for an unknown fault profile, before anything is stopped or started."""
    if profile is None or profile in ("none", "realistic"):
        return
    from etl_platform.sandbox.faults import parse_faults

    try:
        parse_faults(profile)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--profile") from None


def sandbox_start(profile: str | None = None, timeout: float = 120) -> None:
    """Start the sandbox in the background unless it already runs; wait until it is seeded. The child gets
    this process's environment (`.env` already merged), so the sandbox needs no command-line layer."""
    env = dict(os.environ)
    if profile is not None:
        env["SANDBOX_FAULTS"] = "" if profile in ("none", "realistic") else profile
    pid = sandbox_pid()
    if pid and (SANDBOX_ROOT / "ready").exists():
        if profile is None:
            click.echo(f"sandbox already running (pid {pid})")
            return
        sandbox_stop()  # restart so the requested profile applies
    elif pid:
        sandbox_stop()
    from etl_platform.sandbox.runner import spawn

    try:
        proc = spawn(SANDBOX_ROOT, cwd=PROJECT_ROOT, env=env, timeout=timeout)
    except RuntimeError as err:
        raise SystemExit(str(err)) from None
    (SANDBOX_ROOT / "sandbox.pid").write_text(str(proc.pid))
    click.echo(f"sandbox up (pid {proc.pid}, faults: {env.get('SANDBOX_FAULTS') or 'none'})")


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
        click.echo(f"sandbox running (pid {pid})" if pid else "sandbox not running")
        raise SystemExit(0 if pid else 1)
