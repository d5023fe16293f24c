"""Users at scale: one domain bulk-loaded to each size (default 1,000 then 1,000,000 mailboxes,
not through the API), then through the gateway: create/get/update/delete p50, pages at every
offset, searches, and the full lists streamed (time, the user service's CPU per row, the peak
memory of the gateway and of the user service). Prints figures; asserts none. Minutes long.

    .venv/bin/python bench/million_bench.py [--sizes 1000,1000000] [--ops 200] [--mysql|--pgsql URL]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bulk import address, load_mailboxes  # noqa: E402
from bench.common import (  # noqa: E402
    System,
    add_backend_options,
    backend_name,
    group_cpu_seconds,
    login_cookie,
)
from bench.domains_bench import group_rss_mib  # noqa: E402
from bench.users_bench import Runner, operations  # noqa: E402
from shared import db  # noqa: E402
from shared.models.vmail import Domain  # noqa: E402
from shared.paging import encode_cursor  # noqa: E402
from shared.timeutil import utcnow  # noqa: E402

DOMAIN = "bench.example.com"


class PeakRss:
    """The highest resident memory of some process groups while the block runs (20 ms polls)."""

    def __init__(self, *pids: int):
        self.pids = pids
        self.peaks = [0.0] * len(pids)

    def _poll(self):
        while not self._done.is_set():
            for i, pid in enumerate(self.pids):
                self.peaks[i] = max(self.peaks[i], group_rss_mib(pid))
            self._done.wait(0.02)

    def __enter__(self):
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()


def p50_ms(runner: Runner, calls) -> float:
    return statistics.median(runner.call(*call) for call in calls) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,1000000")
    parser.add_argument("--ops", type=int, default=200, help="requests per operation")
    parser.add_argument("--repeat", type=int, default=20, help="requests per page/search case")
    add_backend_options(parser)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    server_url = args.mysql or args.pgsql

    with System(server_url=server_url) as system:
        now = utcnow()
        Domain.insert(domain=DOMAIN, created=now, modified=now).execute()
        db.release_connections()
        system.start("gateway")
        system.start("user")
        gateway, user_service = system.processes[-2:]
        runner = Runner(system.ports["gateway"], login_cookie(system.ports["gateway"], None))
        print(f"{backend_name(server_url)}; one domain; gunicorn gthread "
              f"{system.workers}x{system.threads}; p50 of {args.ops} sequential requests, "
              f"{args.repeat} per page or search case")  # fmt: skip
        filled = 0
        for size in sizes:
            started = time.perf_counter()
            load_mailboxes(DOMAIN, filled, size)
            loaded = time.perf_counter() - started
            print(f"\n== {size:,} mailboxes (bulk-loaded {size - filled:,} in {loaded:.1f} s, "
                  f"{(size - filled) / loaded:,.0f} rows/s)")  # fmt: skip
            filled = size
            base = f"/users/{DOMAIN}"
            for name, calls in operations(DOMAIN, size, args.ops, f"m{size}x"):
                print(f"  {name:<34}{p50_ms(runner, calls):>9.2f} ms p50")
            for percent in (0, 25, 50, 75, 99):
                position = size * percent // 100
                cursor = (
                    "" if not position else f"&cursor={encode_cursor(address(DOMAIN, position))}"
                )
                for label, flag in (("addresses", "&email_only=yes"), ("profiles", "")):
                    calls = [("GET", f"{base}?limit=50{flag}{cursor}", None)] * args.repeat
                    print(f"  page of 50 {label} at {percent:>2}%{'':<9}"
                          f"{p50_ms(runner, calls):>9.2f} ms p50")  # fmt: skip
            middle = size // 2
            for label, text in (("address", f"u{middle}@"), ("address start", f"u{middle}"),
                                ("name", f"User {middle}"), ("broad", "u")):  # fmt: skip
                calls = [("GET", f"{base}?limit=50&search={text}", None)] * args.repeat
                print(
                    f"  search {label + ' ' + repr(text):<27}{p50_ms(runner, calls):>9.2f} ms p50"
                )
            for label, flag in (("addresses", "?email_only=yes"), ("profiles", "")):
                cpu_before = group_cpu_seconds(user_service.pid)
                with PeakRss(gateway.pid, user_service.pid) as rss:
                    started = time.perf_counter()
                    response = runner.http.request(
                        "GET", f"{runner.base}{base}{flag}", headers=runner.headers,
                        preload_content=False,
                    )  # fmt: skip
                    size_bytes = sum(len(chunk) for chunk in response.stream(1 << 16))
                    seconds = time.perf_counter() - started
                cpu = group_cpu_seconds(user_service.pid) - cpu_before
                count = filled  # every mailbox (the bench's creates were deleted)
                print(f"  full list of {label}: {count:,} rows, {size_bytes / 1e6:.1f} MB in "
                      f"{seconds:.2f} s ({seconds / count * 1e6:.1f} µs/row through the gateway;"
                      f" user service CPU {cpu / count * 1e6:.1f} µs/row); peak RSS gateway "
                      f"{rss.peaks[0]:.0f} MiB, user service {rss.peaks[1]:.0f} MiB")  # fmt: skip


if __name__ == "__main__":
    main()
