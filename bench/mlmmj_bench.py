"""Subscribable lists through the gateway and the real mlmmjadmin (tests/mlmmjadmin.py): a
create with 5,000 subscribers and its GET, then creates, reads, profile writes and deletes of
200 lists (8 clients), and a user delete while 200 lists exist. Prints figures; asserts none.

    .venv/bin/python bench/mlmmj_bench.py [--lists 200] [--subscribers 5000] [--mysql|--pgsql URL]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tests.conftest  # noqa: E402,F401  (first, as pytest loads it: the fixtures import each other)
from bench.common import System, add_backend_options, backend_name, login_cookie  # noqa: E402
from bench.users_bench import Runner, fill  # noqa: E402
from shared import db  # noqa: E402
from shared.models.vmail import Domain  # noqa: E402
from shared.timeutil import utcnow  # noqa: E402
from tests.mlmmjadmin import running_mlmmjadmin  # noqa: E402

DOMAIN = "bench.example.com"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lists", type=int, default=200)
    parser.add_argument("--subscribers", type=int, default=5_000)
    parser.add_argument("--clients", type=int, default=8)
    add_backend_options(parser)
    args = parser.parse_args()

    with running_mlmmjadmin() as mlmmjadmin, System(server_url=args.mysql or args.pgsql) as system:
        system.env.update({"MLMMJADMIN_API_BASE_URL": mlmmjadmin.url,
                           "MLMMJADMIN_API_AUTH_TOKEN": mlmmjadmin.token})  # fmt: skip
        now = utcnow()
        Domain.insert(domain=DOMAIN, created=now, modified=now).execute()
        fill(DOMAIN, 0, 10)
        db.release_connections()
        for name in ("gateway", "mlmmj", "user"):
            system.start(name)
        runner = Runner(system.ports["gateway"], login_cookie(system.ports["gateway"], None))
        print(f"{backend_name(args.mysql or args.pgsql)}; mlmmjadmin on loopback")
        subscribers = ",".join(f"s{n:05d}@sub{n % 50}.test" for n in range(args.subscribers))
        big = f"/ml/big@{DOMAIN}"
        for name, method, path, fields in [
            (f"POST a list with {args.subscribers} subscribers", "POST", big,
             {"subscribers": subscribers, "require_confirm": "no"}),
            ("GET it with_subscribers", "GET", big + "?with_subscribers=yes", None),
            (f"PUT remove {args.subscribers}", "PUT", big, {"remove_subscribers": subscribers}),
        ]:  # fmt: skip
            print(f"{name:<44}{runner.call(method, path, fields) * 1000:>9.0f} ms")
        names = [f"/ml/l{n}@{DOMAIN}" for n in range(args.lists)]
        print(f"{'operation':<44}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
        rounds = [
            ("POST list (owner, 1 subscriber)", "POST",
             {"owner": f"u0@{DOMAIN}", "subscribers": f"u1@{DOMAIN}", "require_confirm": "no"}),
            ("GET list (row + mlmmj profile)", "GET", None),
            ("PUT subject_prefix", "PUT", {"subject_prefix": "[bench]"}),
        ]  # fmt: skip
        for name, method, fields in rounds:
            rate, p50, p99 = runner.measure([(method, p, fields) for p in names], args.clients)
            print(f"{name:<44}{rate:>9.0f}{p50:>9.2f}{p99:>9.2f}")
        seconds = runner.call("DELETE", f"/user/u1@{DOMAIN}", None)
        print(f"{f'DELETE a user subscribed to {args.lists} lists':<44}{seconds * 1000:>9.0f} ms")
        rate, p50, p99 = runner.measure([("DELETE", p, None) for p in names], args.clients)
        print(f"{'DELETE list (rows, then archive)':<44}{rate:>9.0f}{p50:>9.2f}{p99:>9.2f}")


if __name__ == "__main__":
    main()
