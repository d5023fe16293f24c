"""An alias with 5,000 members: create it, add 1,000 more, read it back, through the gateway.
Half the members are local mailboxes (checked to exist), half external. Prints figures.

    .venv/bin/python bench/aliases_bench.py [--members 5000] [--added 1000] [--mysql|--pgsql URL]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import urllib3  # noqa: E402

from bench.common import System, add_backend_options, backend_name, login_cookie  # noqa: E402
from bench.users_bench import fill  # noqa: E402
from shared import db  # noqa: E402
from shared.models.vmail import Domain  # noqa: E402
from shared.timeutil import utcnow  # noqa: E402

DOMAIN = "bench.example.com"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--added", type=int, default=1000)
    add_backend_options(parser)
    args = parser.parse_args()

    with System(server_url=args.mysql or args.pgsql) as system:
        now = utcnow()
        Domain.insert(domain=DOMAIN, created=now, modified=now).execute()
        local = (args.members + args.added) // 2
        fill(DOMAIN, 0, local)
        db.release_connections()
        system.start("gateway")
        system.start("alias")
        cookie = login_cookie(system.ports["gateway"], None)
        http = urllib3.PoolManager(timeout=300)
        base = f"http://127.0.0.1:{system.ports['gateway']}/api/alias/list@{DOMAIN}"
        headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
        everyone = [f"u{n}@{DOMAIN}" for n in range(local)] + [
            f"e{n}@elsewhere.org" for n in range(args.members + args.added - local)
        ]
        first, added = everyone[: args.members], everyone[args.members :]

        def timed(method, fields=None):
            body = urlencode(fields) if fields else None
            started = time.perf_counter()
            response = http.request(method, base, body=body, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            answer = response.json()
            assert answer["_success"], answer
            return elapsed, answer, len(body or "")

        backend = backend_name(args.mysql or args.pgsql)
        print(f"{backend}; members: {local} local mailboxes checked to exist, the rest external")
        ms, _, size = timed("POST", {"members": ",".join(first)})
        print(f"POST   alias with {len(first)} members   {ms:8.0f} ms  ({size / 1e3:.0f} kB body)")
        ms, _, size = timed("PUT", {"addMember": ",".join(added)})
        print(
            f"PUT    addMember {len(added)}              {ms:8.0f} ms  ({size / 1e3:.0f} kB body)"
        )
        ms, answer, _ = timed("GET")
        count = len(answer["_data"]["members"])
        print(f"GET    read back ({count} members)      {ms:8.0f} ms")


if __name__ == "__main__":
    main()
