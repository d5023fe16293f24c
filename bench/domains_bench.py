"""GET /api/domains with many domains (time, size, the service's memory), and DELETE of a domain
holding many mailboxes and aliases. Prints figures; asserts none.

    .venv/bin/python bench/domains_bench.py [--domains 10000] [--accounts 10000]
        [--mysql|--pgsql URL]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import urllib3  # noqa: E402

from bench.common import System, add_backend_options, backend_name, login_cookie  # noqa: E402
from shared import db  # noqa: E402
from shared.models.vmail import Alias, Domain, Forwarding, Mailbox  # noqa: E402
from shared.timeutil import utcnow  # noqa: E402

BATCH = 1000


def insert_batches(model, rows) -> None:
    with model._meta.database.atomic():
        for start in range(0, len(rows), BATCH):
            model.insert_many(rows[start : start + BATCH]).execute()


def fill_domains(count: int) -> None:
    now = utcnow()
    insert_batches(
        Domain,
        [
            {"domain": f"d{n:06d}.example.org", "description": f"Domain {n}", "created": now,
             "modified": now, "settings": "default_user_quota:1024;"}
            for n in range(count)
        ],
    )  # fmt: skip


def fill_accounts(domain: str, count: int) -> None:
    now = utcnow()
    Domain.insert(domain=domain, created=now, modified=now).execute()
    insert_batches(
        Mailbox,
        [
            {"username": f"u{n}@{domain}", "domain": domain, "password": "{PLAIN}x",
             "storagebasedirectory": "/var/vmail", "storagenode": "vmail1",
             "maildir": f"{domain}/u/{n}/u{n}-2026.01.01.00.00.00/", "created": now,
             "modified": now}
            for n in range(count)
        ],
    )  # fmt: skip
    insert_batches(
        Alias,
        [{"address": f"a{n}@{domain}", "domain": domain, "created": now, "modified": now}
         for n in range(count)],
    )  # fmt: skip
    forwardings = [
        {"address": f"u{n}@{domain}", "forwarding": f"u{n}@{domain}", "domain": domain,
         "dest_domain": domain, "is_forwarding": 1}
        for n in range(count)
    ] + [
        {"address": f"a{n}@{domain}", "forwarding": f"u{n}@{domain}", "domain": domain,
         "dest_domain": domain, "is_list": 1}
        for n in range(count)
    ]  # fmt: skip
    insert_batches(Forwarding, forwardings)


def group_rss_mib(pid: int) -> float:
    """Resident memory of a process group (a gunicorn master and its workers)."""
    pids = subprocess.run(
        ["pgrep", "-g", str(os.getpgid(pid))], capture_output=True, text=True
    ).stdout.split()
    total = 0
    for each in pids:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total / 1024


def timed(http, method, url, cookie):
    started = time.perf_counter()
    response = http.request(method, url, headers={"Cookie": cookie}, preload_content=True)
    return time.perf_counter() - started, response


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=10_000)
    add_backend_options(parser)
    args = parser.parse_args()

    with System(server_url=args.mysql or args.pgsql) as system:
        started = time.perf_counter()
        fill_domains(args.domains)
        fill_accounts("big.example.com", args.accounts)
        db.release_connections()
        print(f"filled in {time.perf_counter() - started:.1f} s")
        system.start("gateway")
        system.start("domain")
        domain_service = system.processes[1]
        cookie = login_cookie(system.ports["gateway"], system.config)
        http = urllib3.PoolManager(timeout=120)
        base = f"http://127.0.0.1:{system.ports['gateway']}/api"
        backend = backend_name(args.mysql or args.pgsql)
        print(f"{backend}; {args.domains + 1} domains; one holds {args.accounts} mailboxes, "
              f"{args.accounts} aliases, {2 * args.accounts} forwardings")  # fmt: skip

        timed(http, "GET", f"{base}/domain/big.example.com", cookie)  # warm-up
        rss_before = group_rss_mib(domain_service.pid)
        for query in ("", "?name_only=yes"):
            best = None
            for _ in range(3):
                seconds, response = timed(http, "GET", f"{base}/domains{query}", cookie)
                best = seconds if best is None else min(best, seconds)
            body = response.data
            assert body.startswith(b'{"_success":true'), body[:200]
            print(f"GET /api/domains{query:<15} {best * 1000:8.0f} ms  {len(body) / 1e6:6.2f} MB"
                  f"  ({len(response.json()['_data'])} items, best of 3)")  # fmt: skip
        rss_after = group_rss_mib(domain_service.pid)
        print(f"domain service RSS (master + workers): {rss_before:.0f} MiB before the lists, "
              f"{rss_after:.0f} MiB after")  # fmt: skip
        seconds, response = timed(http, "GET", f"{base}/domains?limit=100&name_only=yes", cookie)
        print(f"GET /api/domains?limit=100  {seconds * 1000:8.1f} ms (one page)")

        seconds, response = timed(http, "DELETE", f"{base}/domain/big.example.com", cookie)
        assert response.json() == {"_success": True}, response.data
        print(f"DELETE /api/domain/big.example.com {seconds * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
