"""White/blacklists, spam policies and greylisting through the gateway: a POST of 5,000
addresses (and its GET, and moving them to the other list), then per-user spam policy and
greylisting writes and reads for 2,000 users (8 clients). Prints figures; asserts none.

    .venv/bin/python bench/antispam_bench.py [--users 2000] [--addresses 5000] [--mysql|--pgsql URL]
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
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--addresses", type=int, default=5_000)
    parser.add_argument("--clients", type=int, default=8)
    add_backend_options(parser)
    args = parser.parse_args()

    with System(server_url=args.mysql or args.pgsql) as system:
        now = utcnow()
        Domain.insert(domain=DOMAIN, created=now, modified=now).execute()
        fill(DOMAIN, 0, args.users)
        db.release_connections()
        for name in ("gateway", "amavisd", "throttle"):
            system.start(name)
        runner = Runner(system.ports["gateway"], login_cookie(system.ports["gateway"], None))
        print(f"{backend_name(args.mysql or args.pgsql)}; {args.users} users")
        addresses = ",".join(f"sender{n:05d}@bulk{n % 50}.test" for n in range(args.addresses))
        lists = f"/wblist/inbound/{{}}/u0@{DOMAIN}"
        for name, method, path, fields in [
            (f"POST {args.addresses} addresses", "POST", lists.format("blacklist"),
             {"addresses": addresses}),
            (f"GET {args.addresses} addresses", "GET", lists.format("blacklist"), None),
            ("POST them to the other list", "POST", lists.format("whitelist"),
             {"addresses": addresses}),
            (f"PUT (remove) {args.addresses}", "PUT", lists.format("whitelist"),
             {"addresses": addresses}),
        ]:  # fmt: skip
            print(f"{name:<40}{runner.call(method, path, fields) * 1000:>9.0f} ms")
        users = [f"u{n}@{DOMAIN}" for n in range(args.users)]
        print(f"{'operation':<40}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
        rounds = [
            ("PUT spampolicy (new)", "PUT", "/spampolicy/user/{}", {"quarantine_spam": "yes"}),
            ("PUT spampolicy (one value)", "PUT", "/spampolicy/user/{}", {"spam_score": "5"}),
            ("GET spampolicy", "GET", "/spampolicy/user/{}", None),
            ("POST wblist (1 address)", "POST", "/wblist/inbound/blacklist/{}",
             {"addresses": "x@bad.test"}),
            ("GET wblist", "GET", "/wblist/inbound/blacklist/{}", None),
            ("POST greylisting", "POST", "/greylisting/{}", {"status": "disable"}),
            ("GET greylisting", "GET", "/greylisting/{}", None),
        ]  # fmt: skip
        for name, method, template, fields in rounds:
            calls = [(method, template.format(u), fields) for u in users]
            rate, p50, p99 = runner.measure(calls, args.clients)
            print(f"{name:<40}{rate:>9.0f}{p50:>9.2f}{p99:>9.2f}")


if __name__ == "__main__":
    main()
