"""The production topology, started once per session for every test that needs it (the `deployment` fixture in
conftest.py): a code server serving the definitions over gRPC (`dagster code-server start`), the webserver and
the daemon, each its own process, sharing the session's PostgreSQL database through the project's own
dagster.yaml, its polling intervals shortened for tests. The daemon also serves the tests that need one
(backfills, health), so no test starts a daemon of its own."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from etl_platform.sandbox.runner import free_port, port_open

PROJECT_YAML = Path(__file__).resolve().parents[1] / "dagster_home" / "dagster.yaml"
LOCATION = "etl_platform"  # as workspace.yaml, the Dockerfile and docs/deployment.md name it
# Only intervals are shortened: the global maximum runtime stays the project's (2 h), because this daemon
# watches every run of the session's database; a test that needs a short one tags its run.
SHORTENED = {
    "run_monitoring": {"poll_interval_seconds": 1, "free_slots_after_run_end_seconds": 1},
    "run_coordinator": {"max_user_code_failure_retries": 10, "user_code_failure_retry_delay": 1},
}
BIN = Path(sys.executable).parent


def wait_for(what: str, condition, timeout: float, procs=()):
    """Poll `condition` until it returns something truthy; fail naming `what`, or a process that died."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
        for proc in procs:
            assert proc.poll() is None, f"{proc.args[:3]} exited with {proc.returncode} while waiting for {what}"
        time.sleep(0.5)
    return value


def spawn(args: list[str], log: Path, env: dict[str, str], cwd: Path) -> subprocess.Popen:
    out = open(log, "a")  # noqa: SIM115 - the process writes to it until it ends
    return subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@dataclass
class Deployment:
    root: Path
    env: dict[str, str]
    code_port: int = field(default_factory=free_port)
    web_port: int = field(default_factory=free_port)
    code_server: subprocess.Popen | None = None
    webserver: subprocess.Popen | None = None
    daemon: subprocess.Popen | None = None

    @property
    def workspace(self) -> Path:
        return self.root / "workspace.yaml"

    @property
    def processes(self) -> list[subprocess.Popen]:
        return [p for p in (self.code_server, self.webserver, self.daemon) if p is not None]

    def start_code_server(self) -> None:
        self.code_server = spawn(
            [str(BIN / "dagster"), "code-server", "start", "-m", "etl_platform.definitions", "-h", "127.0.0.1"]
            + ["-p", str(self.code_port), "--location-name", LOCATION],
            self.root / "code_server.log",
            self.env,
            self.root,
        )
        wait_for("the code server's port", lambda: port_open(self.code_port), 120, [self.code_server])
        # The port opens before the definitions are loaded; a daemon or webserver connecting then would keep
        # the location as failed until its next workspace refresh (a minute later).
        wait_for("the code server to serve the definitions", self._serving, 120, [self.code_server])

    def _serving(self) -> bool:
        from dagster._grpc.client import DagsterGrpcClient
        from dagster._serdes import deserialize_value

        try:
            answer = deserialize_value(DagsterGrpcClient(port=self.code_port, host="127.0.0.1").list_repositories())
        except Exception:  # noqa: BLE001 - not up yet, or still loading: ask again
            return False
        return type(answer).__name__ == "ListRepositoriesResponse"

    def stop_code_server(self) -> None:
        stop(self.code_server)
        self.code_server = None
        wait_for("the code server's port to close", lambda: not port_open(self.code_port), 30)

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        response = httpx.post(
            f"http://127.0.0.1:{self.web_port}/graphql", json={"query": query, "variables": variables or {}}, timeout=60
        )
        response.raise_for_status()
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def stop(self) -> None:
        for proc in (self.daemon, self.webserver, self.code_server):
            stop(proc)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.root.glob("*.log")))


def start_deployment(root: Path, env: dict[str, str]) -> Deployment:
    config = yaml.safe_load(PROJECT_YAML.read_text())
    config["run_monitoring"] |= SHORTENED["run_monitoring"]
    config["run_coordinator"]["config"] |= SHORTENED["run_coordinator"]
    (root / "dagster.yaml").write_text(yaml.safe_dump(config))
    box = Deployment(root, env | {"DAGSTER_HOME": str(root)})
    box.workspace.write_text(
        yaml.safe_dump(
            {"load_from": [{"grpc_server": {"host": "127.0.0.1", "port": box.code_port, "location_name": LOCATION}}]}
        )
    )
    try:
        box.start_code_server()
        box.daemon = spawn(
            [str(BIN / "dagster-daemon"), "run", "-w", str(box.workspace)], root / "daemon.log", box.env, root
        )
        box.webserver = spawn(
            [str(BIN / "dagster-webserver"), "-w", str(box.workspace), "-h", "127.0.0.1", "-p", str(box.web_port)],
            root / "webserver.log",
            box.env,
            root,
        )
        wait_for("the webserver", lambda: port_open(box.web_port), 120, box.processes)
    except BaseException:
        box.stop()
        raise
    return box
