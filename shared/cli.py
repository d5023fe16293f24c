"""`mailapi`: the operator's one-off jobs."""

from __future__ import annotations

import argparse
import os
import secrets
import string
import sys
from pathlib import Path

from shared import db
from shared.config import Config
from shared.errors import ApiError
from shared.rules.admins import create_global_admin

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


def cmd_api_key(args, config) -> int:
    """create|list|revoke, as the owner's global admin would through the API."""
    from shared.identity import GLOBAL, Identity
    from shared.params import Params
    from shared.rules import api_keys

    pairs = [
        (name, value)
        for name, value in (
            ("owner", args.owner),
            ("domains", getattr(args, "domains", None)),
            ("access", getattr(args, "access", None)),
            ("networks", getattr(args, "networks", None)),
            ("expires", getattr(args, "expires", None)),
        )
        if value is not None
    ]
    operator = Identity(admin="(mailapi command line)", role=GLOBAL, client_ip="127.0.0.1")
    params = Params(pairs, [])
    db.bind_databases(config)
    try:
        if args.action == "create":
            created = api_keys.create_key(operator, args.name, params)
            print(f"API key {created['name']} of {created['owner']} ({created['access']}):")
            print(created["key"])
            print("Shown once: keep it now. Send it as `Authorization: Bearer <key>`.")
        elif args.action == "revoke":
            owner = api_keys.revoke_key(operator, args.name, params)
            print(f"revoked: {args.name} of {owner}")
        else:
            for key in api_keys.list_keys(operator, params):
                state = "revoked" if key["revoked"] else f"expires {key['expires'] or 'never'}"
                scope = ",".join(key["domains"]) or "(owner's domains)"
                print(f"{key['owner']}\t{key['name']}\t{key['access']}\t{scope}\t{state}")
    except ApiError as exc:
        detail = f" ({exc.detail})" if exc.detail else ""
        print(f"refused: {exc.code}{detail}", file=sys.stderr)
        return 1
    finally:
        db.release_connections()
    return 0


def cmd_export_ldif(args, config) -> int:
    """A whole server's (or --domain's) accounts as LDIF, streamed a batch at a time."""
    from shared.models.vmail import Domain, Mailbox
    from shared.rules import ldif

    db.bind_databases(config)
    tree = ldif.Tree(args.basedn or config.ldap_basedn,
                     args.domainadmin_dn or config.ldap_domainadmin_dn)  # fmt: skip
    export = ldif.Entries(tree, args.with_passwords, config.ldif_amavis_account)
    domains = [d.strip().lower() for d in args.domain.split(",")] if args.domain else None
    out = open(args.output, "w") if args.output else sys.stdout  # noqa: SIM115
    try:
        if domains is not None:
            known = {d for (d,) in Domain.select(Domain.domain).where(
                Domain.domain.in_(domains)).tuples()}  # fmt: skip
            if set(domains) - known:
                print(f"refused: NO_SUCH_DOMAIN ({', '.join(sorted(set(domains) - known))})",
                      file=sys.stderr)  # fmt: skip
                return 1
        counted = Mailbox.select()
        if domains is not None:
            counted = counted.where(Mailbox.domain.in_(domains))
        progress = _progress(counted.count(), "mailboxes")
        for batch in ldif.server_batches(export, domains, after=args.after or ""):
            out.write(ldif.ldif_text(batch))
            progress.update(sum(1 for dn, _ in batch if ",ou=Users," in dn and "=@" not in dn))
        progress.close()
    finally:
        if out is not sys.stdout:
            out.close()
        db.release_connections()
    for warning in export.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _progress(total: int, unit: str):
    """A progress bar on stderr when it is a terminal (tqdm), silent otherwise."""
    from tqdm import tqdm

    return tqdm(total=total, unit=f" {unit}", disable=not sys.stderr.isatty(), file=sys.stderr)


def cmd_serve(args, config) -> int:
    from shared.deploy import serve

    serve(args.name, Path(args.procfile).resolve())
    return 1  # not reached: serve() execs the process


def cmd_deploy_config(args, config) -> int:
    from shared.deploy import Layout, deploy_files

    layout = Layout(args.prefix, args.settings_file, args.user or None, args.bin_dir)
    out = Path(args.out)
    for relative, content in deploy_files(Path(args.procfile), layout).items():
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        print(f"wrote {target}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailapi", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--env-file", help="load these settings first (the .env format, as honcho reads it)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, **kwargs):
        return commands.add_parser(name, parents=[common], **kwargs)

    init_db = command("init-db", help="create the tables of the three databases")
    init_db.set_defaults(run=cmd_init_db)
    admin = command("create-admin", help="create a global admin")
    admin.add_argument("email")
    admin.add_argument("--password", help="the password (checked against the policy)")
    admin.add_argument("--random-password", action="store_true", help="generate and print one")
    admin.add_argument("--reset", action="store_true", help="reset the password if it exists")
    admin.set_defaults(run=cmd_create_admin)
    keys = command("api-key", help="create, list or revoke API keys (CONTRACT §4.7)")
    key_actions = keys.add_subparsers(dest="action", required=True)
    create = key_actions.add_parser("create", help="make a key; the secret is printed once")
    create.add_argument("name", help="1-64 of A-Z a-z 0-9 . _ -, unique per owner")
    create.add_argument("--owner", required=True, help="the admin the key acts as")
    create.add_argument("--domains", help="comma-separated; default: the owner's domains")
    create.add_argument("--access", choices=("ro", "rw"), default="ro")
    create.add_argument("--networks", help="comma-separated IP addresses or CIDR networks")
    create.add_argument("--expires", help="YYYY-MM-DD (through that day, UTC) or seconds")
    listing = key_actions.add_parser("list", help="every key (never a secret)")
    listing.add_argument("--owner", help="only this admin's keys")
    revoke = key_actions.add_parser("revoke", help="revoke a key")
    revoke.add_argument("name")
    revoke.add_argument("--owner", required=True)
    for parser_ in (create, listing, revoke):
        parser_.set_defaults(run=cmd_api_key)
    export = command("export-ldif", help="the accounts as iRedMail's OpenLDAP entries (LDIF)")
    export.add_argument("--domain", help="only these domains (comma-separated)")
    export.add_argument("--output", "-o", help="write to this file (default: stdout)")
    export.add_argument("--with-passwords", action="store_true", help="include userPassword")
    export.add_argument("--after", help="resume: start after this domain (the output's order)")
    export.add_argument("--basedn", help="default LDAP_BASEDN")
    export.add_argument("--domainadmin-dn", help="default LDAP_DOMAINADMIN_DN")
    export.set_defaults(run=cmd_export_ldif)
    serve = command("serve", help="run one Procfile process (systemd, supervisord)")
    serve.add_argument("name", help="the Procfile line: gateway, domain, user, …")
    serve.add_argument("--procfile", default="Procfile")
    serve.set_defaults(run=cmd_serve, needs_config=False)
    deploy = command("deploy-config", help="write systemd units and a supervisord program file")
    deploy.add_argument("--procfile", default="Procfile")
    deploy.add_argument("--out", default="deploy", help="folder to write into (default deploy)")
    deploy.add_argument("--prefix", default="/opt/mailapi", help="where the checkout lives")
    deploy.add_argument(
        "--settings-file", default="/etc/mailapi/mailapi.env", help="what the processes load"
    )
    deploy.add_argument("--user", default="mailapi", help="system user ('' for none)")
    deploy.add_argument("--bin-dir", help="the virtualenv's bin (default PREFIX/.venv/bin)")
    deploy.set_defaults(run=cmd_deploy_config, needs_config=False)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.env_file:
        from honcho.environ import parse as parse_env

        os.environ.update(parse_env(Path(args.env_file).read_text()))
    if not getattr(args, "needs_config", True):
        return args.run(args, None)
    try:
        config = Config.from_env()
    except ValueError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    return args.run(args, config)


if __name__ == "__main__":
    sys.exit(main())
