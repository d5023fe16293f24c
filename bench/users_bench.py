"""Users through the gateway in a domain holding 1,000 and then 100,000 users (pre-filled in the
database): create, get, update, delete, sequentially and with 8 clients; then the email_only list
of the big domain and the user service's memory. Prints figures; asserts none.

    .venv/bin/python bench/users_bench.py [--sizes 1000,100000] [--ops 200] [--mysql|--pgsql URL]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import urllib3  # noqa: E402

from bench.bulk import PASSWORD, load_mailboxes  # noqa: E402
from bench.common import System, add_backend_options, backend_name, login_cookie  # noqa: E402
from bench.domains_bench import group_rss_mib  # noqa: E402
from shared import db  # noqa: E402
from shared.models.vmail import Domain  # noqa: E402
from shared.timeutil import utcnow  # noqa: E402


def fill(domain: str, start: int, stop: int) -> None:
    load_mailboxes(domain, start, stop)


class Runner:
    def __init__(self, port: int, cookie: str):
        self.base = f"http://127.0.0.1:{port}/api"
        self.headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
        self.http = urllib3.PoolManager(maxsize=16, timeout=60)

    def call(self, method: str, path: str, fields=None) -> float:
        body = urlencode(fields) if fields else None
        started = time.perf_counter()
        response = self.http.request(method, self.base + path, body=body, headers=self.headers)
        elapsed = time.perf_counter() - started
        answer = response.json()
        if not answer.get("_success"):
            raise SystemExit(f"{method} {path}: {answer}")
        return elapsed

    def measure(self, calls, clients: int):
        started = time.perf_counter()
        if clients == 1:
            latencies = [self.call(*c) for c in calls]
        else:
            with concurrent.futures.ThreadPoolExecutor(clients) as pool:
                latencies = list(pool.map(lambda c: self.call(*c), calls))
        wall = time.perf_counter() - started
        latencies.sort()
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        return len(calls) / wall, statistics.median(latencies) * 1000, p99 * 1000


def operations(domain: str, size: int, ops: int, tag: str):
    step = max(1, size // ops)
    existing = [f"u{n}@{domain}" for n in range(0, size, step)][:ops]
    new = [f"{tag}{n}@{domain}" for n in range(ops)]
    return [
        ("create", [("POST", f"/user/{a}", {"password": PASSWORD}) for a in new]),
        ("get", [("GET", f"/user/{a}", None) for a in existing]),
        ("update", [("PUT", f"/user/{a}", {"name": "Bench"}) for a in existing]),
        ("delete", [("DELETE", f"/user/{a}", None) for a in new]),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--ops", type=int, default=200, help="requests per operation and mode")
    add_backend_options(parser)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    domain = "bench.example.com"

    with System(server_url=args.mysql or args.pgsql) as system:
        now = utcnow()
        Domain.insert(domain=domain, created=now, modified=now).execute()
        db.release_connections()
        system.start("gateway")
        system.start("user")
        user_service = system.processes[1]
        runner = Runner(system.ports["gateway"], login_cookie(system.ports["gateway"], None))
        backend = backend_name(args.mysql or args.pgsql)
        print(f"{backend}; {args.ops} requests per row; gunicorn gthread "
              f"{system.workers}x{system.threads}")  # fmt: skip
        print(f"{'users':>8} {'operation':<10}{'clients':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
        filled = 0
        for size in sizes:
            started = time.perf_counter()
            fill(domain, filled, size)
            db.release_connections()
            filled = size
            print(f"(filled to {size} users in {time.perf_counter() - started:.1f} s)")
            for clients in (1, 8):
                for name, calls in operations(domain, size, args.ops, f"n{clients}x"):
                    rate, p50, p99 = runner.measure(calls, clients)
                    print(f"{size:>8} {name:<10}{clients:>8}{rate:>9.0f}{p50:>9.2f}{p99:>9.2f}")
        rss_before = group_rss_mib(user_service.pid)
        started = time.perf_counter()
        response = runner.http.request(
            "GET", f"{runner.base}/users/{domain}?email_only=yes", headers=runner.headers
        )
        seconds = time.perf_counter() - started
        count = len(response.json()["_data"])
        rss_after = group_rss_mib(user_service.pid)
        print(f"GET /api/users/{domain}?email_only=yes: {count} addresses, "
              f"{len(response.data) / 1e6:.1f} MB in {seconds * 1000:.0f} ms; user service RSS "
              f"{rss_before:.0f} MiB before, {rss_after:.0f} MiB after")  # fmt: skip


if __name__ == "__main__":
    main()
