"""GET /api/domain/<domain>: through the gateway, straight to the domain service (signed), and a
minimal Falcon app under the same gunicorn settings (the ceiling). Prints figures; asserts none.

    .venv/bin/python bench/gateway_bench.py [--seconds 10] [--connections 16] [--mysql|--pgsql URL]
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
    backend_name,
    free_port,
    login_cookie,
    wrk,
)
from shared import db, identity  # noqa: E402
from shared.models.vmail import Domain  # noqa: E402
from shared.timeutil import utcnow  # noqa: E402

DOMAIN = "bench.example.com"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5, help="length of one wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved runs per path (median)")
    parser.add_argument("--connections", type=int, default=16)
    add_backend_options(parser)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per process")
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker")
    args = parser.parse_args()

    with System(
        server_url=args.mysql or args.pgsql, workers=args.workers, threads=args.threads
    ) as system:
        now = utcnow()
        Domain.insert(domain=DOMAIN, description="Bench", created=now, modified=now).execute()
        db.release_connections()
        system.start("gateway")
        system.start("domain")
        port = system.ports["ceiling"] = free_port()
        system.start(
            "ceiling",
            f"exec gunicorn -c gunicorn.conf.py --bind 127.0.0.1:{port} "
            "'bench.ceiling_app:get_app()'",
        )
        time.sleep(1)

        path = f"/domain/{DOMAIN}"
        caller = identity.Identity(admin=ADMIN, role=identity.GLOBAL, client_ip="127.0.0.1")
        signed = identity.sign(caller, "GET", path, SECRET)
        cookie = login_cookie(system.ports["gateway"], system.config)
        targets = [
            (
                "gateway",
                f"http://127.0.0.1:{system.ports['gateway']}/api{path}",
                {"Cookie": cookie},
            ),
            ("direct (signed)", f"http://127.0.0.1:{system.ports['domain']}{path}", signed),
            ("ceiling (minimal Falcon)", f"http://127.0.0.1:{port}{path}", {}),
        ]
        backend = backend_name(args.mysql or args.pgsql)
        print(
            f"GET /api/domain/<domain>, {backend}, wrk -c{args.connections} "
            f"-d{args.seconds}s, median of {args.rounds}, gthread {system.workers}x{system.threads}"
        )
        print(f"{'path':<26}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>9}")
        for _, url, headers in targets:
            wrk(url, headers, 2, args.connections)  # warm-up: pools, imports, caches
        runs = {name: [] for name, _, _ in targets}
        for _ in range(args.rounds):  # interleaved, so that a noisy moment hits every path
            for name, url, headers in targets:
                runs[name].append(wrk(url, headers, args.seconds, args.connections))
        results = {}
        for name, measured in runs.items():
            rate, p50, p99 = (statistics.median(m[i] for m in measured) for i in range(3))
            errors = sum(m[3] for m in measured)
            results[name] = rate
            print(f"{name:<26}{rate:>10.0f}{p50:>10.2f}{p99:>10.2f}{errors:>9}")
        gateway, direct, ceiling_rate = results.values()
        print(f"gateway/direct = {gateway / direct:.2f}", end="   ")
        print(f"direct/ceiling = {direct / ceiling_rate:.2f}")


if __name__ == "__main__":
    main()
