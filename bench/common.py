"""Shared bench plumbing: databases, processes from the Procfile, and wrk runs."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared import db  # noqa: E402
from shared.config import SERVICES, Config  # noqa: E402
from shared.rules.admins import create_global_admin  # noqa: E402
from shared.schema import init_databases  # noqa: E402

ADMIN, PASSWORD = "bench@example.com", "B3nch-Passw0rd"
SECRET = "bench-internal-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port}")


def database_urls(folder: str, server_url: str | None) -> dict[str, str]:
    """SQLite files in `folder`, or new databases on a mysql:// or postgresql:// server."""
    names = tuple(db.DATABASES)
    if server_url:
        tag = os.urandom(4).hex()
        return {name: f"{server_url}/mailapi_bench_{tag}_{name}" for name in names}
    return {name: f"sqlite:///{folder}/{name}.db" for name in names}


def backend_name(server_url: str | None) -> str:
    if not server_url:
        return "SQLite"
    return "MariaDB" if server_url.startswith("mysql") else "PostgreSQL"


def add_backend_options(parser) -> None:
    parser.add_argument("--mysql", metavar="URL", help="e.g. mysql://root@127.0.0.1:3306")
    parser.add_argument("--pgsql", metavar="URL", help="e.g. postgresql://postgres@127.0.0.1:5432")


def drop_databases(urls: dict[str, str]) -> None:
    db.close_pools()
    from playhouse import db_url

    for url in urls.values():
        params = db_url.parse(url)
        if url.startswith("postgres"):
            import psycopg

            with psycopg.connect(
                host=params.get("host", "127.0.0.1"), port=params.get("port", 5432),
                user=params.get("user", "postgres"), password=params.get("password"),
                dbname="postgres", autocommit=True,
            ) as connection:  # fmt: skip
                connection.execute(f'DROP DATABASE IF EXISTS "{params["database"]}" WITH (FORCE)')
            continue
        import pymysql

        connection = pymysql.connect(
            host=params.get("host", "127.0.0.1"),
            port=params.get("port", 3306),
            user=params.get("user", "root"),
            password=params.get("passwd", ""),
        )
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{params['database']}`")
        connection.close()


@dataclasses.dataclass
class System:
    """Databases plus processes started from Procfile lines; stopped by PID on exit."""

    server_url: str | None = None  # mysql://… or postgresql://… (no database); None: SQLite
    threads: int = 8
    workers: int = 2
    processes: list = dataclasses.field(default_factory=list)
    named: dict = dataclasses.field(default_factory=dict)  # name → its running process

    def __enter__(self):
        self.folder = tempfile.mkdtemp(prefix="mailapi-bench-")
        self.urls = database_urls(self.folder, self.server_url)
        self.config = dataclasses.replace(
            Config(),
            **{f"{name}_db_url": url for name, url in self.urls.items()},
            internal_secret=SECRET,
            db_pool_size=self.threads,
        )
        init_databases(self.config)
        create_global_admin(ADMIN, PASSWORD, self.config)
        db.release_connections()
        self.ports = {}
        self.env = dict(os.environ)
        self.env.update(
            {
                "PATH": str(Path(sys.executable).parent) + os.pathsep + self.env["PATH"],
                **{f"{name.upper()}_DB_URL": url for name, url in self.urls.items()},
                "ENABLE_RESTFUL_API": "true",
                "SESSION_COOKIE_SECURE": "false",
                "INTERNAL_SECRET": SECRET,
                "IDENTITY_MAX_AGE": "3600",  # wrk replays one signed header set
                "GUNICORN_WORKERS": str(self.workers),
                "GUNICORN_THREADS": str(self.threads),
                "DB_POOL_SIZE": str(self.threads),
                "GUNICORN_LOGLEVEL": "warning",
                "API_ERROR_STATUS": "rest",  # so that wrk counts a failure as non-2xx
            }
        )
        for name in ("gateway", *SERVICES):
            port = self.ports[name] = free_port()
            var = "GATEWAY_BIND" if name == "gateway" else f"{name.upper()}_SERVICE_BIND"
            self.env[var] = f"127.0.0.1:{port}"
        return self

    def start(self, name: str, command: str | None = None) -> None:
        if command is None:
            lines = dict(
                line.split(": ", 1)
                for line in (ROOT / "Procfile").read_text().splitlines()
                if line.strip()
            )
            command = lines[name]
        self.ports.setdefault(name, free_port())
        process = subprocess.Popen(
            ["bash", "-c", command],
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
        )
        self.processes.append(process)
        self.named[name] = process
        wait_for_port(self.ports[name])

    def stop(self, name: str) -> None:
        process = self.named.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
        self.processes.remove(process)

    def __exit__(self, *exc):
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            process.wait(timeout=20)
        if self.server_url:
            drop_databases(self.urls)
        shutil.rmtree(self.folder, ignore_errors=True)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pids) -> float:
    """User plus system CPU of these processes so far (the gone ones count nothing)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    return total / CLOCK_TICKS


def group_cpu_seconds(pid: int) -> float:
    """CPU of a process group so far: a gunicorn master and its workers."""
    members = subprocess.run(
        ["pgrep", "-g", str(os.getpgid(pid))], capture_output=True, text=True
    ).stdout.split()
    return _cpu_seconds(members)


def database_cpu_seconds(server_url: str | None) -> float:
    """CPU so far of the local database server's processes (0 for SQLite: it runs in ours)."""
    if not server_url:
        return 0.0
    name = "mariadbd" if server_url.startswith("mysql") else "postgres"
    found = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True).stdout.split()
    return _cpu_seconds(found)


WRK_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, headers: dict[str, str], seconds: int, connections: int, threads: int = 2,
        method: str = "GET", body: str = ""):  # fmt: skip
    """requests/s, p50 ms, p99 ms (and non-2xx count) of one wrk run; another method or a body
    go in a wrk script."""
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        if method != "GET" or body:
            script.write(f"wrk.method = {json.dumps(method)}\nwrk.body = {json.dumps(body)}\n")
            script.flush()
            command += ["-s", script.name]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    latency = {p: float(v) * UNITS[u] for p, v, u in WRK_LATENCY.findall(output)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return rate, latency["50"], latency["99"], int(errors.group(1)) if errors else 0


def login_cookie(gateway_port: int, config) -> str:
    import urllib3

    response = urllib3.request(
        "POST",
        f"http://127.0.0.1:{gateway_port}/api/login",
        body=f"username={ADMIN}&password={PASSWORD}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.json() == {"_success": True}, response.data
    return response.headers["Set-Cookie"].split(";", 1)[0]


def api_key(gateway_port: int, cookie: str) -> str:
    """A read-write API key of the bench admin, made through the API."""
    import urllib3

    response = urllib3.request(
        "POST",
        f"http://127.0.0.1:{gateway_port}/api/apikey/bench",
        body="access=rw",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    answer = response.json()
    assert answer["_success"], answer
    return answer["_data"]["key"]


class Client:
    """One HTTP client for every API a bench drives: a request is (method, path, body); dict
    bodies go as JSON when the content type says so, else as a form."""

    def __init__(self, base: str, headers: dict[str, str], ok):
        import urllib3

        self.base, self.headers, self.ok = base, headers, ok
        self.http = urllib3.PoolManager(maxsize=16, timeout=600)

    def call(self, method: str, path: str, body=None) -> tuple[float, bytes]:
        headers = dict(self.headers)
        if isinstance(body, dict):
            if headers.get("Content-Type") == "application/json":
                body = json.dumps(body)
            else:
                body = urlencode(body)
        started = time.perf_counter()
        response = self.http.request(method, self.base + path, body=body, headers=headers)
        elapsed = time.perf_counter() - started
        if not self.ok(response):
            raise SystemExit(f"{method} {path}: {response.status} {response.data[:300]!r}")
        return elapsed, response.data


@dataclasses.dataclass
class Side:
    """An API under measurement: its client, and the process groups whose CPU is its cost."""

    name: str
    client: Client
    pids: tuple[int, ...]  # process groups of the API
    server_url: str | None = "mysql://"  # whose database server's CPU counts (None: SQLite)

    def settle(self, warm_up) -> None:
        """Wait until every worker has loaded its app (no CPU for half a second), then send
        some requests so that first-call costs stay out of the figures."""
        cpu = -1.0
        while cpu != (cpu := sum(group_cpu_seconds(pid) for pid in self.pids)):
            time.sleep(0.5)
        for call in warm_up:
            self.client.call(*call)

    def run(self, calls, clients: int = 1) -> dict:
        """requests/s, p50 ms, and the CPU ms per request of the API and of the database
        server, for `calls` sent by `clients` concurrent clients (in order when one)."""
        import concurrent.futures

        cpu = sum(group_cpu_seconds(pid) for pid in self.pids)
        db_cpu = database_cpu_seconds(self.server_url)
        started = time.perf_counter()
        if clients == 1:
            latencies = [self.client.call(*call)[0] for call in calls]
        else:
            with concurrent.futures.ThreadPoolExecutor(clients) as pool:
                latencies = [t for t, _ in pool.map(lambda c: self.client.call(*c), calls)]
        wall = time.perf_counter() - started
        cpu = sum(group_cpu_seconds(pid) for pid in self.pids) - cpu
        db_cpu = database_cpu_seconds(self.server_url) - db_cpu
        return {"rate": len(calls) / wall, "p50": statistics.median(latencies) * 1000,
                "cpu": cpu / len(calls) * 1000, "db": db_cpu / len(calls) * 1000}  # fmt: skip
