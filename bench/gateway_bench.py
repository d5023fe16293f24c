"""One single-account GET four ways: through the gateway with a session cookie and with an API
key, straight to its service (signed), and a minimal Falcon app under the same gunicorn
settings (the ceiling). Prints requests/s, latency
and server CPU per request (the API's processes, and the database server's); asserts none.

    .venv/bin/python bench/gateway_bench.py [--resource user|domain] [--accounts 10000]
        [--seconds 5] [--rounds 3] [--connections 16] [--mysql|--pgsql URL]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    ADMIN,
    SECRET,
    System,
    add_backend_options,
    api_key,
    backend_name,
    database_cpu_seconds,
    free_port,
    group_cpu_seconds,
    login_cookie,
    wrk,
)
from shared import db, identity  # noqa: E402
from shared.models.vmail import Domain  # noqa: E402
from shared.timeutil import utcnow  # noqa: E402

DOMAIN = "bench.example.com"


def fill(accounts: int) -> None:
    """The domain and its accounts (u0@… is the one read); users_bench's loader."""
    from bench.users_bench import fill as fill_users

    now = utcnow()
    Domain.insert(domain=DOMAIN, description="Bench", created=now, modified=now).execute()
    fill_users(DOMAIN, 0, max(accounts, 1))
    db.release_connections()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resource", choices=("user", "domain"), default="user")
    parser.add_argument("--accounts", type=int, default=10_000, help="mailboxes in the domain")
    parser.add_argument("--seconds", type=int, default=5, help="length of one wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved runs per path (median)")
    parser.add_argument("--connections", type=int, default=16)
    add_backend_options(parser)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per process")
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker")
    args = parser.parse_args()
    server_url = args.mysql or args.pgsql

    with System(server_url=server_url, workers=args.workers, threads=args.threads) as system:
        fill(args.accounts)
        service = args.resource
        system.start("gateway")
        system.start(service)
        system.start("admin")  # to make the API key
        port = system.ports["ceiling"] = free_port()
        system.start(
            "ceiling",
            f"exec gunicorn -c gunicorn.conf.py --bind 127.0.0.1:{port} "
            "'bench.ceiling_app:get_app()'",
        )
        gateway, upstream, _, ceiling = system.processes[-4:]
        time.sleep(1)

        path = f"/domain/{DOMAIN}" if service == "domain" else f"/user/u0@{DOMAIN}"
        caller = identity.Identity(admin=ADMIN, role=identity.GLOBAL, client_ip="127.0.0.1")
        signed = identity.sign(caller, "GET", path, SECRET)
        cookie = login_cookie(system.ports["gateway"], system.config)
        key = api_key(system.ports["gateway"], cookie)
        # (name, url, headers, the processes whose CPU the path costs)
        targets = [
            ("gateway", f"http://127.0.0.1:{system.ports['gateway']}/api{path}",
             {"Cookie": cookie}, (gateway, upstream)),
            ("gateway (API key)", f"http://127.0.0.1:{system.ports['gateway']}/api{path}",
             {"Authorization": f"Bearer {key}"}, (gateway, upstream)),
            ("direct (signed)", f"http://127.0.0.1:{system.ports[service]}{path}", signed,
             (upstream,)),
            ("ceiling (minimal Falcon)", f"http://127.0.0.1:{port}{path}", {}, (ceiling,)),
        ]  # fmt: skip
        print(
            f"GET /api{path.replace('u0@' + DOMAIN, '<mail>').replace(DOMAIN, '<domain>')}, "
            f"{backend_name(server_url)}, {args.accounts} mailboxes, wrk -c{args.connections} "
            f"-d{args.seconds}s, median of {args.rounds}, gthread {system.workers}x{system.threads}"
        )
        print(f"{'path':<26}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}"
              f"{'API CPU ms/req':>16}{'DB CPU ms/req':>15}")  # fmt: skip
        for _, url, headers, _ in targets:
            wrk(url, headers, 2, args.connections)  # warm-up: pools, imports, caches
        runs = {name: [] for name, *_ in targets}
        for _ in range(args.rounds):  # interleaved, so that a noisy moment hits every path
            for name, url, headers, processes in targets:
                api_before = sum(group_cpu_seconds(p.pid) for p in processes)
                db_before = database_cpu_seconds(server_url)
                rate, p50, p99, errors = wrk(url, headers, args.seconds, args.connections)
                requests = rate * args.seconds
                api_cpu = sum(group_cpu_seconds(p.pid) for p in processes) - api_before
                db_cpu = database_cpu_seconds(server_url) - db_before
                runs[name].append(
                    (rate, p50, p99, errors, api_cpu / requests * 1000, db_cpu / requests * 1000)
                )
        results = {}
        for name, measured in runs.items():
            rate, p50, p99, _, api_ms, db_ms = (
                statistics.median(m[i] for m in measured) for i in range(6)
            )
            errors = sum(m[3] for m in measured)
            results[name] = rate
            print(f"{name:<26}{rate:>9.0f}{p50:>9.2f}{p99:>9.2f}{errors:>9}"
                  f"{api_ms:>16.2f}{db_ms:>15.2f}")  # fmt: skip
        gateway_rate, key_rate, direct, ceiling_rate = results.values()
        print(f"gateway/direct = {gateway_rate / direct:.2f}", end="   ")
        print(f"key/cookie = {key_rate / gateway_rate:.2f}", end="   ")
        print(f"direct/ceiling = {direct / ceiling_rate:.2f}")


if __name__ == "__main__":
    main()
