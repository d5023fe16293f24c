"""The server CPU of every family's single-account GET and PUT (or the POST that sets it)
through the gateway, in a domain of --accounts mailboxes, under wrk; every process of the API
counted (the gateway's and the services') and the database server's apart. The writes of one
row contend for one account, as a busy tenant's would.
Prints a row per request; asserts none. The mlmmj family is left out: it needs mlmmjadmin.

    .venv/bin/python bench/families_bench.py [--accounts 10000] [--seconds 3]
        [--connections 16] [--mysql|--pgsql URL]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bulk import load_mailboxes  # noqa: E402
from bench.common import (  # noqa: E402
    Client,
    System,
    add_backend_options,
    backend_name,
    database_cpu_seconds,
    group_cpu_seconds,
    login_cookie,
    wrk,
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
    ("user", "user", "GET", f"/user/{USER}", None),
    ("user", "user", "PUT", f"/user/{USER}", {"name": "Bench"}),
    ("domain", "domain", "GET", f"/domain/{DOMAIN}", None),
    ("domain", "domain", "PUT", f"/domain/{DOMAIN}", {"name": "Bench"}),
    ("alias", "alias", "GET", f"/alias/{ALIAS}", None),
    ("alias", "alias", "PUT", f"/alias/{ALIAS}", {"name": "Team"}),
    ("maillist", "alias", "GET", f"/maillist/{LIST}", None),
    ("maillist", "alias", "PUT", f"/maillist/{LIST}", {"name": "List"}),
    ("admin", "admin", "GET", f"/admin/{ADMIN}", None),
    ("admin", "admin", "PUT", f"/admin/{ADMIN}", {"name": "Boss"}),
    ("throttle", "throttle", "GET", f"/throttle/{DOMAIN}/outbound", None),
    ("throttle", "throttle", "POST", f"/throttle/{DOMAIN}/outbound", {"max_msgs": "20"}),
    ("spam policy", "amavisd", "GET", f"/spampolicy/domain/{DOMAIN}", None),
    ("spam policy", "amavisd", "PUT", f"/spampolicy/domain/{DOMAIN}", {"quarantine_spam": "no"}),
    ("greylisting", "throttle", "GET", f"/greylisting/{DOMAIN}", None),
    ("greylisting", "throttle", "POST", f"/greylisting/{DOMAIN}", {"status": "disable"}),
    ("ldif", "ldif", "GET", f"/ldif/user/{USER}", None),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000, help="mailboxes in the domain")
    parser.add_argument("--seconds", type=int, default=3, help="length of one wrk run")
    parser.add_argument("--connections", type=int, default=16, help="wrk's connections")
    add_backend_options(parser)
    args = parser.parse_args()
    server_url = args.mysql or args.pgsql

    with System(server_url=server_url) as system:
        now = utcnow()
        Domain.insert(domain=DOMAIN, created=now, modified=now).execute()
        load_mailboxes(DOMAIN, 0, args.accounts)
        for name in ("gateway", *(s for s in SERVICES if s != "mlmmj")):
            system.start(name)
        base = f"http://127.0.0.1:{system.ports['gateway']}/api"
        headers = {"Cookie": login_cookie(system.ports["gateway"], None),
                   "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
        client = Client(
            base, headers, lambda r: r.status == 200 and json.loads(r.data).get("_success")
        )
        for call in SETUP:
            client.call(*call)
        # Then each family's service runs alone: the pools of seven services under wrk would
        # pass MariaDB's default 151 connections.
        for name in SERVICES:
            if name != "mlmmj":
                system.stop(name)
        print(
            f"{backend_name(server_url)}; {args.accounts:,} mailboxes in the domain; wrk "
            f"-c{args.connections} -d{args.seconds}s per row; gunicorn gthread "
            f"{system.workers}x{system.threads}; API CPU: the gateway's and the service's"
        )
        print(f"{'family':<13}{'request':<44}{'req/s':>8}{'p50 ms':>8}{'non-2xx':>8}"
              f"{'API CPU ms':>12}{'DB CPU ms':>11}")  # fmt: skip
        running = None
        for family, service, method, path, body in REQUESTS:
            if service != running:
                if running:
                    system.stop(running)
                system.start(running := service)
                pids = (system.named["gateway"].pid, system.named[service].pid)
                form = urlencode(body or {})
                wrk(base + path, headers, 2, args.connections, method=method, body=form)
            cpu = sum(group_cpu_seconds(pid) for pid in pids)
            db_cpu = database_cpu_seconds(server_url)
            rate, p50, _, errors = wrk(base + path, headers, args.seconds, args.connections,
                                       method=method, body=urlencode(body or {}))  # fmt: skip
            requests = rate * args.seconds
            cpu = (sum(group_cpu_seconds(pid) for pid in pids) - cpu) / requests * 1000
            db_cpu = (database_cpu_seconds(server_url) - db_cpu) / requests * 1000
            print(f"{family:<13}{method + ' /api' + path:<44}{rate:>8.0f}{p50:>8.2f}"
                  f"{errors:>8}{cpu:>12.2f}{db_cpu:>11.2f}")  # fmt: skip
        db.release_connections()


if __name__ == "__main__":
    main()
