"""`mailapi`: the operator's one-off jobs."""

from __future__ import annotations

import argparse
import secrets
import string
import sys

from shared import db
from shared.admins import create_global_admin
from shared.config import Config
from shared.errors import ApiError

SAFE_SPECIALS = "-_.@"  # special characters that need no quoting in a shell, URL or form


def random_password(length: int = 20) -> str:
    """A password that meets every rule of the default policy."""
    pools = [string.ascii_lowercase, string.ascii_uppercase, string.digits, SAFE_SPECIALS]
    chars = [secrets.choice(pool) for pool in pools]
    alphabet = string.ascii_letters + string.digits + SAFE_SPECIALS
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def cmd_init_db(args, config) -> int:
    from shared.schema import init_databases

    for name, created in init_databases(config).items():
        print(f"{name}: " + (f"created {', '.join(created)}" if created else "up to date"))
    return 0


def cmd_create_admin(args, config) -> int:
    password = args.password or (random_password() if args.random_password else None)
    if not password:
        print("give --password PW or --random-password", file=sys.stderr)
        return 2
    db.bind_databases(config)
    try:
        create_global_admin(args.email, password, config, replace=args.reset)
    except ApiError as exc:
        detail = f" ({exc.detail})" if exc.detail else ""
        print(f"refused: {exc.code}{detail}", file=sys.stderr)
        return 1
    finally:
        db.release_connections()
    print(f"global admin: {args.email.lower()}")
    if not args.password:
        print(f"password:     {password}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailapi", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    init_db = commands.add_parser("init-db", help="create the tables of the three databases")
    init_db.set_defaults(run=cmd_init_db)
    admin = commands.add_parser("create-admin", help="create a global admin")
    admin.add_argument("email")
    admin.add_argument("--password", help="the password (checked against the policy)")
    admin.add_argument("--random-password", action="store_true", help="generate and print one")
    admin.add_argument("--reset", action="store_true", help="reset the password if it exists")
    admin.set_defaults(run=cmd_create_admin)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = Config.from_env()
    except ValueError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    return args.run(args, config)


if __name__ == "__main__":
    sys.exit(main())
