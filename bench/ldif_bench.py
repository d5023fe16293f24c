"""The LDIF export of one domain at growing sizes (default 1,000, 10,000, 100,000 mailboxes,
bulk-loaded): `GET /api/ldif/domain/<d>?with_accounts=yes` through the gateway, streamed; time,
bytes, the LDIF service's CPU per entry and the peak memory of the gateway and the LDIF
service. Memory that stays flat as the domain grows is the point. Prints figures; asserts none.

    .venv/bin/python bench/ldif_bench.py [--sizes 1000,10000,100000] [--mysql|--pgsql URL]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bulk import load_mailboxes  # noqa: E402
from bench.common import (  # noqa: E402
    System,
    add_backend_options,
    backend_name,
    group_cpu_seconds,
    login_cookie,
)
from bench.million_bench import PeakRss  # noqa: E402
from bench.users_bench import Runner  # noqa: E402
from shared import db  # noqa: E402
from shared.models.vmail import Domain  # noqa: E402
from shared.timeutil import utcnow  # noqa: E402

DOMAIN = "bench.example.com"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    add_backend_options(parser)
    args = parser.parse_args()
    server_url = args.mysql or args.pgsql
    with System(server_url=server_url) as system:
        now = utcnow()
        Domain.insert(domain=DOMAIN, created=now, modified=now).execute()
        db.release_connections()
        system.start("gateway")
        system.start("ldif")
        gateway, service = system.processes[-2:]
        runner = Runner(system.ports["gateway"], login_cookie(system.ports["gateway"], None))
        print(f"{backend_name(server_url)}; GET /api/ldif/domain/<d>?with_accounts=yes; "
              f"gunicorn gthread {system.workers}x{system.threads}")  # fmt: skip
        filled = 0
        for size in (int(s) for s in args.sizes.split(",")):
            load_mailboxes(DOMAIN, filled, size)
            filled = size
            cpu_before = group_cpu_seconds(service.pid)
            with PeakRss(gateway.pid, service.pid) as rss:
                started = time.perf_counter()
                response = runner.http.request(
                    "GET", f"{runner.base}/ldif/domain/{DOMAIN}?with_accounts=yes",
                    headers=runner.headers, preload_content=False,
                )  # fmt: skip
                size_bytes = sum(len(chunk) for chunk in response.stream(1 << 16))
                seconds = time.perf_counter() - started
            cpu = group_cpu_seconds(service.pid) - cpu_before
            print(f"{size:>9,} mailboxes: {size_bytes / 1e6:7.1f} MB in {seconds:6.2f} s "
                  f"({seconds / size * 1e6:5.1f} µs/entry; LDIF service CPU "
                  f"{cpu / size * 1e6:5.1f} µs/entry); peak RSS gateway {rss.peaks[0]:.0f} MiB, "
                  f"LDIF service {rss.peaks[1]:.0f} MiB")  # fmt: skip


if __name__ == "__main__":
    main()
