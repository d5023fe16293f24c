"""mailapi side by side with Modoboa (the strongest open-source peer with a REST API: Django REST
framework) on the same MariaDB, driven by the same client with the same counts: get, create,
update quota, delete, search, first page and the full list in a domain of --accounts mailboxes.
Both run under gunicorn gthread 2x8. Prints requests/s, p50 and the server CPU per request (the
API's processes, and the database server's) of each, and their ratio; asserts none.

Modoboa goes into a virtualenv of its own, never into the project's (it pins Django and a
mysqlclient of its own; rrdtool-bindings needs librrd-dev):

    apt-get install librrd-dev libmagic1
    python3 -m venv /tmp/modoboa-venv
    /tmp/modoboa-venv/bin/pip install 'modoboa[mysql]==2.12.0' gunicorn
    .venv/bin/python bench/peer_bench.py --peer-venv /tmp/modoboa-venv \
        --mysql mysql://root@127.0.0.1:3306 [--accounts 10000] [--ops 100]

Modoboa's own CSV import (`manage.py modo import`) writes one account, which the bench then
copies in SQL to --accounts (the import costs ~90 ms an account); mailapi's accounts come from
bench/bulk.py. Each side's default password scheme is used first (Modoboa: SHA512-CRYPT with
70,000 rounds; mailapi: SSHA512), then the create is run again with Modoboa on SSHA, its only
cheap salted scheme. Modoboa's throttle rates (5 writes/s) are raised out of the way; their
checks still run.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bulk import PASSWORD, load_mailboxes  # noqa: E402
from bench.common import (  # noqa: E402
    Client,
    Side,
    System,
    free_port,
    login_cookie,
    wait_for_port,
)
from shared import db  # noqa: E402
from shared.models.vmail import Domain  # noqa: E402
from shared.timeutil import utcnow  # noqa: E402

DOMAIN = "bench.example.com"
TEMPLATE = "user000000"  # Modoboa's imported account, copied to user000001… in SQL
SETTINGS = """
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
    scope: "1000000/s" for scope in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
}
"""
# Rows Modoboa's import writes for one account: (table, which rows, id columns moved by n).
# Every other id column is left out (AUTO_INCREMENT); text columns get the n-th address.
ACCOUNT_ROWS = (
    ("core_user", "id = {user}", ("id",)),
    ("core_user_groups", "user_id = {user}", ("id", "user_id")),
    ("admin_mailbox", "user_id = {user}", ("id", "user_id")),
    ("admin_alias", "address = '{address}'", ("id",)),
    ("modoboa_admin_aliasrecipient", "r_mailbox_id = {mailbox}",
     ("id", "alias_id", "r_mailbox_id")),
    ("admin_quota", "username = '{address}'", ()),
    ("core_objectaccess", "(content_type_id, object_id) IN (({user_type}, {user}), "
     "({mailbox_type}, {mailbox}))", ("object_id",)),
    ("limits_userobjectlimit", "user_id = {user}", ("user_id",)),
    ("modoboa_contacts_addressbook", "user_id = {user}", ("id", "user_id")),
)  # fmt: skip


def sql(database: str, statement: str) -> list[list[str]]:
    output = subprocess.run(
        ["mysql", "-h127.0.0.1", "-uroot", "-N", "-B", *([database] if database else []), "-e",
         statement],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return [line.split("\t") for line in output.splitlines()]


def copy_account(database: str, accounts: int) -> None:
    """The template account's rows again for user000001 … user<accounts-1>, in SQL."""
    ids = dict(
        zip(
            ("user", "mailbox", "user_type", "mailbox_type"),
            sql(database, f"SELECT u.id, m.id, (SELECT id FROM django_content_type WHERE "
                f"app_label='core' AND model='user'), (SELECT id FROM django_content_type WHERE "
                f"app_label='admin' AND model='mailbox') FROM core_user u JOIN admin_mailbox m "
                f"ON m.user_id = u.id WHERE u.username = '{TEMPLATE}@{DOMAIN}'")[0],
            strict=True,
        )
    )  # fmt: skip
    ids["address"] = f"{TEMPLATE}@{DOMAIN}"
    numbered = "CONCAT('user', LPAD(s.seq, 6, '0'))"
    statements = ["SET foreign_key_checks = 0"]
    for table, rows, moved in ACCOUNT_ROWS:
        columns = sql(database, f"SELECT column_name, data_type FROM information_schema.columns "
                      f"WHERE table_schema = '{database}' AND table_name = '{table}' "
                      f"ORDER BY ordinal_position")  # fmt: skip
        names, values = [], []
        for name, kind in columns:
            if name == "id" and "id" not in moved:
                continue
            names.append(f"`{name}`")
            if name in moved:
                values.append(f"t.`{name}` + s.seq")
            elif name == "last_name":
                values.append("CAST(s.seq AS CHAR)")
            elif kind in ("varchar", "char", "longtext", "text"):
                values.append(f"REPLACE(t.`{name}`, '{TEMPLATE}', {numbered})")
            else:
                values.append(f"t.`{name}`")
        statements.append(
            f"INSERT INTO `{table}` ({', '.join(names)}) SELECT {', '.join(values)} "
            f"FROM `{table}` t JOIN seq_1_to_{accounts - 1} s WHERE {rows.format(**ids)}"
        )
    tables = ", ".join(f"`{table}`" for table, _, _ in ACCOUNT_ROWS)
    statements.append(f"ANALYZE TABLE {tables}")
    sql(database, ";\n".join(statements))


@dataclasses.dataclass
class Modoboa:
    """A Modoboa instance on its own MariaDB database, run by its own gunicorn."""

    venv: Path
    accounts: int
    workers: int = 2
    threads: int = 8

    def __enter__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="modoboa-bench-"))
        self.database = f"mailapi_bench_{os.urandom(4).hex()}_modoboa"
        sql("", f"CREATE DATABASE `{self.database}`")
        self.process = None
        started = time.perf_counter()
        self.manage_py("deploy")
        self.setup_seconds = time.perf_counter() - started
        started = time.perf_counter()
        csv = self.folder / "account.csv"
        address = f"{TEMPLATE}@{DOMAIN}"
        stored = subprocess.run(
            [str(self.venv / "bin/python"), "-c", "import crypt, sys; "
             "print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_SHA512, rounds=70000)))",
             PASSWORD], capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        csv.write_text(
            f"domain; {DOMAIN}; 0; 0; True\n"
            f"account; {address}; {{SHA512-CRYPT}}{stored}; User; 0; True; SimpleUsers; "
            f"{address}; 0\n"
        )
        self.manage_py("modo", "import", str(csv))
        if self.accounts > 1:
            copy_account(self.database, self.accounts)
        self.load_seconds = time.perf_counter() - started
        self.token = self.manage_py("drf_create_token", "admin").split()[2]
        self.ids = dict(
            (row[1], row[0]) for row in sql(self.database, "SELECT id, username FROM core_user")
        )
        self.port = free_port()
        self.process = subprocess.Popen(
            [str(self.venv / "bin/gunicorn"), "--workers", str(self.workers), "--worker-class",
             "gthread", "--threads", str(self.threads), "--bind", f"127.0.0.1:{self.port}",
             "--log-level", "warning", "instance.wsgi:application"],
            cwd=self.folder / "instance", start_new_session=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port)
        return self

    def manage_py(self, *arguments: str) -> str:
        if arguments == ("deploy",):
            command = [str(self.venv / "bin/modoboa-admin.py"), "deploy", "instance",
                       "--dburl", f"default:mysql://root:@127.0.0.1:3306/{self.database}",
                       "--domain", "localhost", "--dont-install-extensions",
                       "--redisurl", "redis://127.0.0.1:6379/15"]  # fmt: skip
            subprocess.run(command, cwd=self.folder, check=True, capture_output=True)
            with (self.folder / "instance/instance/settings.py").open("a") as settings:
                settings.write(SETTINGS)
            return ""
        command = [str(self.venv / "bin/python"), "manage.py", *arguments]
        done = subprocess.run(
            command, cwd=self.folder / "instance", check=True, capture_output=True, text=True
        )
        return done.stdout

    def password_scheme(self, scheme: str) -> None:
        self.manage_py("shell", "-c", "from modoboa.core.models import LocalConfig; "
                       "c = LocalConfig.objects.first(); "
                       f"c.parameters.set_value('password_scheme', '{scheme}', app='core'); "
                       "c.save()")  # fmt: skip

    def __exit__(self, *exc):
        if self.process:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        sql("", f"DROP DATABASE IF EXISTS `{self.database}`")
        shutil.rmtree(self.folder, ignore_errors=True)


def mailapi_calls(accounts: int, ops: int, tag: str) -> dict[str, list]:
    step = max(1, accounts // ops)
    existing = [f"u{n}@{DOMAIN}" for n in range(0, accounts, step)][:ops]
    new = [f"{tag}{n}@{DOMAIN}" for n in range(ops)]
    middle = accounts // 2
    return {
        "get account": [("GET", f"/user/{a}") for a in existing],
        "create account": [("POST", f"/user/{a}", {"password": PASSWORD}) for a in new],
        "update quota": [("PUT", f"/user/{a}", {"quota": 2048}) for a in existing],
        "delete account": [("DELETE", f"/user/{a}") for a in new],
        "search by address, page of 50": [
            ("GET", f"/users/{DOMAIN}?limit=50&search=u{middle + n}") for n in range(ops // 4)
        ],
        "first page of 50": [("GET", f"/users/{DOMAIN}?limit=50")] * (ops // 4),
        "full list": [("GET", f"/users/{DOMAIN}")],
    }


def modoboa_calls(peer: Modoboa, accounts: int, ops: int, tag: str) -> dict[str, list]:
    step = max(1, accounts // ops)
    existing = [peer.ids[f"user{n:06d}@{DOMAIN}"] for n in range(0, accounts, step)][:ops]
    new = [f"{tag}{n}@{DOMAIN}" for n in range(ops)]
    middle = accounts // 2
    account = {"role": "SimpleUsers", "password": PASSWORD, "is_active": True,
               "mailbox": {"use_domain_quota": True}}  # fmt: skip
    return {
        "get account": [("GET", f"/accounts/{i}/") for i in existing],
        "create account": [("POST", "/accounts/", {"username": a, **account}) for a in new],
        "update quota": [
            ("PATCH", f"/accounts/{i}/", {"mailbox": {"quota": "2048", "use_domain_quota": False}})
            for i in existing
        ],
        "delete account": "after create",  # ids are known once the accounts exist
        "search by address, page of 50": [
            ("GET", f"/accounts/?page_size=50&search=user{middle + n:06d}") for n in range(ops // 4)
        ],
        "first page of 50": [("GET", "/accounts/?page_size=50")] * (ops // 4),
        "full list": [("GET", f"/accounts/?page_size={accounts + ops}")],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer-venv", type=Path, required=True, help="a virtualenv with modoboa")
    parser.add_argument("--mysql", metavar="URL", required=True,
                        help="e.g. mysql://root@127.0.0.1:3306 (root, no password)")  # fmt: skip
    parser.add_argument("--accounts", type=int, default=10_000, help="mailboxes in the domain")
    parser.add_argument("--ops", type=int, default=100, help="requests per single-account case")
    args = parser.parse_args()

    with System(server_url=args.mysql) as system, Modoboa(args.peer_venv, args.accounts) as peer:
        now = utcnow()
        Domain.insert(domain=DOMAIN, created=now, modified=now).execute()
        started = time.perf_counter()
        load_mailboxes(DOMAIN, 0, args.accounts)
        loaded = time.perf_counter() - started
        system.start("gateway")
        system.start("user")
        cookie = login_cookie(system.ports["gateway"], None)
        ours = Side(
            "mailapi",
            Client(f"http://127.0.0.1:{system.ports['gateway']}/api",
                   {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
                   lambda r: r.status == 200 and json.loads(r.data).get("_success")),
            tuple(p.pid for p in system.processes),
        )  # fmt: skip
        theirs = Side(
            "Modoboa",
            Client(f"http://127.0.0.1:{peer.port}/api/v2",
                   {"Authorization": f"Token {peer.token}", "Content-Type": "application/json",
                    "Host": "localhost"}, lambda r: 200 <= r.status < 300),
            (peer.process.pid,),
        )  # fmt: skip
        print(f"MariaDB; {args.accounts:,} mailboxes in one domain on each side (mailapi's bulk "
              f"loader {loaded:.1f} s; Modoboa deployed in {peer.setup_seconds:.0f} s, its "
              f"accounts in {peer.load_seconds:.1f} s); gunicorn gthread 2x8 on both; one "
              f"client, sequential; {args.ops} requests per single-account case")  # fmt: skip
        print(
            f"{'operation':<38}{'Modoboa req/s':>14}{'mailapi req/s':>14}{'ratio':>8}"
            f"   p50 ms (M / m)   server CPU ms/req (M / m)   DB CPU ms/req (M / m)"
        )
        ours_calls = mailapi_calls(args.accounts, args.ops, "n")
        theirs_calls = modoboa_calls(peer, args.accounts, args.ops, "n")
        for side, calls in ((ours, ours_calls), (theirs, theirs_calls)):
            side.settle([c for case in ("get account", "update quota", "search by address, "
                                        "page of 50", "first page of 50")
                         for c in calls[case][:10]])  # fmt: skip
        rounds = [("", ours_calls, theirs_calls)]
        for label, mine, peers in rounds:
            for case in mine:
                if peers[case] == "after create":
                    ids = dict(sql(peer.database, "SELECT username, id FROM core_user"))
                    peers[case] = [
                        ("POST", f"/accounts/{ids[c[2]['username']]}/delete/", {"keepdir": False})
                        for c in peers["create account"]
                    ]  # fmt: skip
                b = ours.run(mine[case])
                a = theirs.run(peers[case])
                print(
                    f"{case + label:<38}{a['rate']:>14.1f}{b['rate']:>14.1f}"
                    f"{b['rate'] / a['rate']:>7.1f}x   {a['p50']:>7.1f} / {b['p50']:<7.2f}"
                    f"  {a['cpu']:>9.1f} / {b['cpu']:<9.2f}       {a['db']:>7.2f} / "
                    f"{b['db']:.2f}"
                )
                if case == "delete account" and not label:
                    peer.password_scheme("ssha")
                    rounds.append(
                        (", Modoboa SSHA",
                         {k: v for k, v in mailapi_calls(args.accounts, args.ops, "s").items()
                          if k in ("create account", "delete account")},
                         {k: v for k, v in modoboa_calls(peer, args.accounts, args.ops,
                                                         "s").items()
                          if k in ("create account", "delete account")})
                    )  # fmt: skip
        db.release_connections()


if __name__ == "__main__":
    main()
