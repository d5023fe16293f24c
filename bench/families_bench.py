"""The server CPU of every family's single-account GET and PUT (or the POST that sets it)
through the gateway, in a domain of --accounts mailboxes: one client, sequential, every
process of the API counted (the gateway's and the services') and the database server's apart.
Prints a row per request; asserts none. The mlmmj family is left out: it needs mlmmjadmin.

    .venv/bin/python bench/families_bench.py [--accounts 10000] [--requests 300]
        [--mysql|--pgsql URL]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bulk import load_mailboxes  # noqa: E402
from bench.common import (  # noqa: E402
    Client,
    Side,
    System,
    add_backend_options,
    backend_name,
    login_cookie,
)
from shared import db  # noqa: E402
from shared.config import SERVICES  # noqa: E402
from shared.models.vmail import Domain  # noqa: E402
from shared.timeutil import utcnow  # noqa: E402

DOMAIN = "bench.example.com"
USER, ALIAS, LIST, ADMIN = (f"u0@{DOMAIN}", f"team@{DOMAIN}", f"list@{DOMAIN}",
                            "boss@example.net")  # fmt: skip
SETUP = (
    ("POST", f"/alias/{ALIAS}", {"members": USER}),
    ("POST", f"/maillist/{LIST}", {"name": "List"}),
    ("POST", f"/admin/{ADMIN}", {"password": "B0ss-Passw0rd"}),
    ("POST", f"/throttle/{DOMAIN}/outbound", {"period": "60", "max_msgs": "10"}),
    ("PUT", f"/spampolicy/domain/{DOMAIN}", {"quarantine_spam": "yes"}),
    ("POST", f"/greylisting/{DOMAIN}", {"status": "enable"}),
)
REQUESTS = (
    ("user", "GET", f"/user/{USER}", None),
    ("user", "PUT", f"/user/{USER}", {"name": "Bench"}),
    ("domain", "GET", f"/domain/{DOMAIN}", None),
    ("domain", "PUT", f"/domain/{DOMAIN}", {"name": "Bench"}),
    ("alias", "GET", f"/alias/{ALIAS}", None),
    ("alias", "PUT", f"/alias/{ALIAS}", {"name": "Team"}),
    ("maillist", "GET", f"/maillist/{LIST}", None),
    ("maillist", "PUT", f"/maillist/{LIST}", {"name": "List"}),
    ("admin", "GET", f"/admin/{ADMIN}", None),
    ("admin", "PUT", f"/admin/{ADMIN}", {"name": "Boss"}),
    ("throttle", "GET", f"/throttle/{DOMAIN}/outbound", None),
    ("throttle", "POST", f"/throttle/{DOMAIN}/outbound", {"max_msgs": "20"}),
    ("spam policy", "GET", f"/spampolicy/domain/{DOMAIN}", None),
    ("spam policy", "PUT", f"/spampolicy/domain/{DOMAIN}", {"quarantine_spam": "no"}),
    ("greylisting", "GET", f"/greylisting/{DOMAIN}", None),
    ("greylisting", "POST", f"/greylisting/{DOMAIN}", {"status": "disable"}),
    ("ldif", "GET", f"/ldif/user/{USER}", None),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000, help="mailboxes in the domain")
    parser.add_argument("--requests", type=int, default=300, help="requests per row")
    add_backend_options(parser)
    args = parser.parse_args()
    server_url = args.mysql or args.pgsql

    with System(server_url=server_url) as system:
        now = utcnow()
        Domain.insert(domain=DOMAIN, created=now, modified=now).execute()
        load_mailboxes(DOMAIN, 0, args.accounts)
        for name in ("gateway", *(s for s in SERVICES if s != "mlmmj")):
            system.start(name)
        api = Side(
            "mailapi",
            Client(f"http://127.0.0.1:{system.ports['gateway']}/api",
                   {"Cookie": login_cookie(system.ports["gateway"], None),
                    "Content-Type": "application/x-www-form-urlencoded"},
                   lambda r: r.status == 200 and json.loads(r.data).get("_success")),
            tuple(p.pid for p in system.processes), server_url,
        )  # fmt: skip
        for call in SETUP:
            api.client.call(*call)
        api.settle([(m, p, b) for _, m, p, b in REQUESTS] * 20)
        print(f"{backend_name(server_url)}; {args.accounts:,} mailboxes in the domain; "
              f"{args.requests} sequential requests per row; gunicorn gthread "
              f"{system.workers}x{system.threads}")  # fmt: skip
        print(f"{'family':<13}{'request':<44}{'req/s':>8}{'p50 ms':>8}"
              f"{'API CPU ms':>12}{'DB CPU ms':>11}")  # fmt: skip
        for family, method, path, body in REQUESTS:
            figures = api.run([(method, path, body)] * args.requests)
            print(f"{family:<13}{method + ' /api' + path:<44}{figures['rate']:>8.0f}"
                  f"{figures['p50']:>8.2f}{figures['cpu']:>12.2f}"
                  f"{figures['db']:>11.2f}")  # fmt: skip
        db.release_connections()


if __name__ == "__main__":
    main()
