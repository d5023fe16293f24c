"""Where one request's CPU goes: a service's WSGI app called in-process (no HTTP, no gunicorn)
a few thousand times with a signed identity, or with `--gateway` the gateway's app in-process
with a session cookie (the service then runs as its gunicorn process), under cProfile counting
CPU time. Prints the CPU per request and the functions that cost most; asserts nothing.

    .venv/bin/python bench/profile_service.py [--gateway] [--service user]
        [--path /user/u0@bench.example.com] [--requests 3000] [--accounts 10000] [--top 25]
        [--mysql|--pgsql URL]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ADMIN, PASSWORD, SECRET, System, add_backend_options, backend_name  # noqa: E402
from bench.gateway_bench import DOMAIN, fill  # noqa: E402
from gateway.sessions import Sessions  # noqa: E402
from gateway.upstream import InProcessTransport  # noqa: E402
from shared import db, identity  # noqa: E402


def call(app, path: str, headers: dict[str, str]) -> bytes:
    """GET `path` from the WSGI app, as the gateway's tests call a service in-process."""
    answer = InProcessTransport({"app": app}).request("app", "GET", path, headers, b"")
    if answer.status != 200:
        raise SystemExit(f"{path}: {answer.status} {answer.body[:300]!r}")
    return answer.body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--service", default="user")
    parser.add_argument("--path", default=f"/user/u0@{DOMAIN}")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--gateway", action="store_true", help="profile the gateway instead")
    add_backend_options(parser)
    args = parser.parse_args()
    server_url = args.mysql or args.pgsql

    with System(server_url=server_url) as system:
        fill(args.accounts)
        import importlib
        import os

        os.environ.update(system.env)
        if args.gateway:
            system.start(args.service)
            from gateway.app import create_app
            from shared.config import Config

            config = Config.from_env()
            app = create_app(config)
            token = Sessions(config).login(ADMIN, PASSWORD, "127.0.0.1")
            headers = {"Cookie": f"{config.session_cookie_name}={token}"}
            path = "/api" + args.path
        else:
            app = importlib.import_module(f"services.{args.service}.app").get_app()
            caller = identity.Identity(admin=ADMIN, role=identity.GLOBAL, client_ip="127.0.0.1")
            headers = identity.sign(caller, "GET", args.path, SECRET)
            path = args.path
        for _ in range(200):  # warm-up: pools, compiled queries
            call(app, path, headers)
            db.release_connections()
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(args.requests):
            call(app, path, headers)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(
            f"GET {path} {'through the gateway' if args.gateway else 'on the service'} in-process, "
            f"{backend_name(server_url)}: {cpu / args.requests * 1e6:.0f} µs CPU, "
            f"{wall / args.requests * 1e6:.0f} µs wall per request"
        )
        profile = cProfile.Profile(time.process_time)  # CPU time, not waiting
        profile.enable()
        for _ in range(args.requests):
            call(app, path, headers)
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(args.top)
        print(out.getvalue())


if __name__ == "__main__":
    main()
