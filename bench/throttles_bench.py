"""POST and GET of per-user throttles for 10,000 users through the gateway (8 clients).
Prints figures; asserts none.

    .venv/bin/python bench/throttles_bench.py [--users 10000] [--clients 8] [--mysql|--pgsql URL]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import System, add_backend_options, backend_name, login_cookie  # noqa: E402
from bench.users_bench import Runner, fill  # noqa: E402
from shared import db  # noqa: E402
from shared.models.vmail import Domain  # noqa: E402
from shared.timeutil import utcnow  # noqa: E402

DOMAIN = "bench.example.com"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=8)
    add_backend_options(parser)
    args = parser.parse_args()

    with System(server_url=args.mysql or args.pgsql) as system:
        now = utcnow()
        Domain.insert(domain=DOMAIN, created=now, modified=now).execute()
        fill(DOMAIN, 0, args.users)
        db.release_connections()
        system.start("gateway")
        system.start("throttle")
        runner = Runner(system.ports["gateway"], login_cookie(system.ports["gateway"], None))
        users = [f"u{n}@{DOMAIN}" for n in range(args.users)]
        backend = backend_name(args.mysql or args.pgsql)
        print(f"{backend}; {args.users} users; {args.clients} clients")
        print(f"{'operation':<32}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
        rounds = [
            ("POST (create)", "POST", {"period": "3600", "max_msgs": "100"}),
            ("POST (update one value)", "POST", {"max_rcpts": "20"}),
            ("GET", "GET", None),
        ]
        for name, method, fields in rounds:
            calls = [(method, f"/throttle/{u}/outbound", fields) for u in users]
            rate, p50, p99 = runner.measure(calls, args.clients)
            print(f"{name:<32}{rate:>9.0f}{p50:>9.2f}{p99:>9.2f}")


if __name__ == "__main__":
    main()
