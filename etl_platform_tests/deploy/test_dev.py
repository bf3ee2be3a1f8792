"""`etl-platform dev` (`make dev`): the UI, daemon and code server, stopped as a whole. `dagster dev` stopped with
SIGTERM left its code server and gRPC children running, holding the code and the instance's connections."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest

from etl_platform.cli.dev import _alive, descendants
from etl_platform.sandbox.runner import free_port
from etl_platform_tests.deployment import wait_for


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/server_info", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_stopping_dev_stops_every_process_it_started(stop, sandbox, dagster_home, instance, tmp_path):
    port = free_port()
    log = open(tmp_path / "dev.log", "w")  # noqa: SIM115 - the process writes to it until it ends
    proc = subprocess.Popen(
        [sys.executable, "-m", "etl_platform.cli", "dev", "--port", str(port)],
        env=os.environ.copy(),  # the session's sandbox, instance database and DAGSTER_HOME
        cwd=tmp_path,  # not the project folder: no developer .env
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    tree: set[int] = set()
    try:
        wait_for("the UI to answer", lambda: _answers(port), 240, [proc])
        # the webserver answers before the daemon has its code server: wait until the tree is whole
        wait_for("the daemon", lambda: any("dagster._daemon" in _cmdline(p) for p in descendants(proc.pid)), 60)
        tree = descendants(proc.pid)
        commands = [_cmdline(pid) for pid in tree]
        assert any("dagster_webserver" in c for c in commands), commands
        assert any("api grpc" in c or "code-server" in c or "code_server" in c for c in commands), commands
        proc.send_signal(stop)
        proc.wait(timeout=120)
        left = {pid: _cmdline(pid) for pid in tree if _alive(pid)}
        assert not left, f"still running after {stop.name}: {left}\n{(tmp_path / 'dev.log').read_text()[-3000:]}"
        assert not _answers(port)
    finally:
        for pid in tree | descendants(proc.pid):
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
        log.close()


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
