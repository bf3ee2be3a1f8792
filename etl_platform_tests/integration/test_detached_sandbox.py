"""The detached sandbox (`etl-platform sandbox start`, `make run`, the bench): the warehouse in one process, the
vendor servers in a child process of their own, so the warehouse's work cannot stall the vendors' clocks (a
strict sliding-window limit then saw bunches the client never sent). Both answer, and the signal that stops
the sandbox stops both: no orphan keeps a port."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import time

import httpx

from etl_platform.sandbox.runner import SANDBOX_CREDENTIALS, free_port, port_open, spawn


def test_detached_sandbox_serves_vendors_from_their_own_process_and_stops_whole(tmp_path):
    ports = {name: free_port() for name in ("SNOWFLAKE_PORT", "SANDBOX_IDICORE_PORT", "SANDBOX_CCC_PORT")}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SANDBOX_", "SNOWFLAKE_", "IDICORE_", "CCC_"))}
    env |= {name: str(port) for name, port in ports.items()}
    env |= {"SANDBOX_DAYS": "0", "SANDBOX_LEADS_PER_DAY": "5", "SANDBOX_IDICORE_LATENCY_MS": "0"}
    root = tmp_path / "sandbox"
    # Started from a process that ignores SIGINT (as under `nohup`, or a pytest-xdist worker): the sandbox
    # inherits the ignore unless it sets its own handler, and then only SIGKILL stopped it.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        proc = spawn(root, cwd=tmp_path, env=env, timeout=120)
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        vendors_pid = int((root / "vendors-ready").read_text())
        assert vendors_pid != proc.pid and os.getpgid(vendors_pid) == os.getpgid(proc.pid)
        login = httpx.post(
            f"http://127.0.0.1:{ports['SANDBOX_IDICORE_PORT']}/apiclient",
            auth=(SANDBOX_CREDENTIALS["IDICORE_CLIENT_ID"], SANDBOX_CREDENTIALS["IDICORE_CLIENT_SECRET"]),
            json={"glba": "otheruse", "dppa": "none"},
        )
        assert login.status_code == 200 and login.text.strip()
        assert all(port_open(port) for port in ports.values())
    finally:
        # as `etl-platform sandbox stop` does: SIGINT to the group, then SIGKILL (given 30 s here, not the CLI's
        # 10: what is tested is that SIGINT stops it at all, and a loaded CI machine is slow to shut down)
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
            killed = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            killed = True
    assert not killed, "SIGINT did not stop the sandbox: it took SIGKILL"
    deadline = time.monotonic() + 30
    while any(port_open(port) for port in ports.values()):
        assert time.monotonic() < deadline, "a sandbox port stayed open after the sandbox was stopped"
        time.sleep(0.2)


def test_a_fault_profile_does_not_outlive_its_run(tmp_path, monkeypatch, capsys):
    """`make run PROFILE=down`, then a plain `make run`: the second gets well-behaved vendors from the running
    sandbox (no restart), and each run's first line says which profile is active."""
    from etl_platform.cli import sandbox as cli_sandbox

    ports = {name: free_port() for name in ("SNOWFLAKE_PORT", "SANDBOX_IDICORE_PORT", "SANDBOX_CCC_PORT")}
    for name in [k for k in os.environ if k.startswith(("SANDBOX_", "SNOWFLAKE_", "IDICORE_", "CCC_"))]:
        monkeypatch.delenv(name)
    for name, value in (
        ports.items()
        | {
            "SANDBOX_DAYS": "0",
            "SANDBOX_LEADS_PER_DAY": "5",
            "SANDBOX_IDICORE_LATENCY_MS": "0",
            "SANDBOX_CCC_LATENCY_MS": "0",
            "IDICORE_SEARCH_URL": f"http://127.0.0.1:{ports['SANDBOX_IDICORE_PORT']}/search/",
            "CCC_LITIGATOR_URL": f"http://127.0.0.1:{ports['SANDBOX_CCC_PORT']}/v1.5/Scrub/litigator",
        }.items()
    ):
        monkeypatch.setenv(name, str(value))
    monkeypatch.setattr(cli_sandbox, "SANDBOX_ROOT", tmp_path / "sandbox")

    def faults(port: int) -> dict:
        return httpx.get(f"http://127.0.0.1:{port}/_sandbox/stats").json()["behaviour"]["faults"]

    try:
        cli_sandbox.sandbox_start(cli_sandbox.run_profile("down"))
        assert capsys.readouterr().out.startswith("sandbox fault profile down: FAULTS ON (503 on 100% of requests)")
        assert faults(ports["SANDBOX_CCC_PORT"]) == faults(ports["SANDBOX_IDICORE_PORT"]) == {"503": 1.0}
        pid = cli_sandbox.sandbox_pid()

        cli_sandbox.sandbox_start(cli_sandbox.run_profile(None))
        first = capsys.readouterr().out.splitlines()[0]
        assert first == f"sandbox fault profile none: well-behaved vendors (sandbox already running, pid {pid})"
        assert faults(ports["SANDBOX_CCC_PORT"]) == faults(ports["SANDBOX_IDICORE_PORT"]) == {}
        scrub = httpx.post(
            os.environ["CCC_LITIGATOR_URL"],
            headers={"loginId": SANDBOX_CREDENTIALS["CCC_LOGIN_ID"]},
            json={"PhoneList": "2675466417"},
        )
        assert scrub.status_code == 200 and scrub.json()[0]["IsLitigator"] is True

        # More days asked for than the running sandbox holds: the partitions start there, so it is restarted
        # to seed them rather than left to serve empty days.
        monkeypatch.setenv("SANDBOX_DAYS", "1")
        cli_sandbox.sandbox_start(cli_sandbox.run_profile(None))
        assert "restarting it" in capsys.readouterr().out
        first_day = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
        assert (tmp_path / "sandbox" / "seeded-from").read_text() == first_day.isoformat()
        assert cli_sandbox.sandbox_pid() not in (None, pid)
    finally:
        cli_sandbox.sandbox_stop()
    deadline = time.monotonic() + 30
    while any(port_open(port) for port in ports.values()):
        assert time.monotonic() < deadline, "a sandbox port stayed open after the sandbox was stopped"
        time.sleep(0.2)
