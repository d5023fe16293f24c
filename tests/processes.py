"""The Procfile's real processes for end-to-end tests: free loopback ports, an environment
that points them at the test's databases, start/stop, and a cookie-keeping HTTP client."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
import urllib3

from tests.conftest import ADMIN, ADMIN_PASSWORD

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = ("gateway", "domain", "user", "alias", "throttle", "admin", "ldif", "amavisd", "mlmmj")


# Each backend's suite takes its ports from a range of its own, below the kernel's ephemeral
# ports: CI runs the three suites at once, and a port one suite picked (bind to 0) and released
# could be handed to another suite's next pick before the first suite's process bound it (seen
# once: a gateway then signed for another run's domain service, which answered NOT_AUTHORIZED).
PORT_RANGES = {"sqlite": (10000, 17000), "mysql": (17000, 24000), "pgsql": (24000, 31000)}
_handed_out: set[int] = set()


def free_port() -> int:
    """A free loopback port of this suite's range, never one handed out before in the run."""
    low, high = PORT_RANGES.get(os.environ.get("TEST_DB", "sqlite"), PORT_RANGES["sqlite"])
    if len(_handed_out) > (high - low) // 2:
        _handed_out.clear()
    for _ in range(1000):
        port = random.randrange(low, high)
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port in {low}-{high}")


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port}")


class Client:
    """A cookie-keeping HTTP client of the gateway."""

    def __init__(self, port: int):
        self.base = f"http://127.0.0.1:{port}"
        self.http = urllib3.PoolManager(retries=False, timeout=10)
        self.cookie = None

    def call(self, method: str, path: str, fields=None) -> dict:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if fields:
            body = urlencode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        response = self.http.request(method, self.base + path, body=body, headers=headers)
        assert response.headers["Content-Type"].startswith("application/json")
        if "Set-Cookie" in response.headers:
            self.cookie = response.headers["Set-Cookie"].split(";", 1)[0]
        return response.json()

    def login(self) -> None:
        answer = self.call("POST", "/api/login", {"username": ADMIN, "password": ADMIN_PASSWORD})
        assert answer == {"_success": True}


@pytest.fixture
def environment(config, global_admin):
    ports = {name: free_port() for name in PROCESSES}
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(api_settings(config, ports))
    return env, ports


def api_settings(config, ports: dict[str, int]) -> dict[str, str]:
    """The API's settings for the processes: the test's databases, free ports."""
    settings = {
        **{f"{name.upper()}_DB_URL": url for name, url in config.database_urls().items()},
        "ENABLE_RESTFUL_API": "true",
        "SESSION_COOKIE_SECURE": "false",
        "INTERNAL_SECRET": "e2e-secret",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "8",
        "DB_POOL_SIZE": "8",
        "UPSTREAM_CONNECT_TIMEOUT": "1",
        "GATEWAY_BIND": f"127.0.0.1:{ports['gateway']}",
    }
    for name in PROCESSES[1:]:
        settings[f"{name.upper()}_SERVICE_BIND"] = f"127.0.0.1:{ports[name]}"
    return settings


def start(command: str, env, log: Path | None = None) -> subprocess.Popen:
    output = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(
        ["bash", "-c", command],
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(*processes: subprocess.Popen) -> None:
    """SIGTERM to every one at once (their gunicorn masters stop in parallel), SIGKILL to
    what is still there after 15 s."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in running:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextlib.contextmanager
def running_processes(env, ports, logs: Path | None = None):
    """Each Procfile line as its own process (so one can be stopped and started again); with
    `logs`, each writes `<logs>/<name>.log`."""
    lines = procfile()
    running = {name: start(lines[name], env, logs / f"{name}.log" if logs else None)
               for name in PROCESSES}  # fmt: skip
    try:
        for port in ports.values():
            wait_for_port(port)
        yield running, lines, env, ports
    finally:
        stop(*running.values())


@pytest.fixture
def processes(environment):
    with running_processes(*environment) as started:
        yield started
