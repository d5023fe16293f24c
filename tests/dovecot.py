"""A real Dovecot reading the test's `vmail` (MariaDB or PostgreSQL) with iRedMail's own SQL
passdb/userdb (`upstream/iredmail/samples/dovecot/dovecot-sql.conf`, placeholders filled in;
driver `mysql` or `pgsql`; on PostgreSQL as the run's read-only `vmail` role).

It has its own config and base dir and no listeners; tests ask it with `doveadm auth test` and
`doveadm user`. One server per run (the run's databases are emptied between tests):
Dovecot caches nothing (auth_cache_size is 0). A lookup that
Dovecot could not make (`code=temp_fail`, or an error in its log: the database unreachable, a
query it cannot run) raises DovecotError instead of reading as "wrong password" or "no user".
"""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from playhouse import db_url

from tests.upstream import (
    TEST_DB,
    fill_placeholders,
    run_databases,
    samples_for,
    server_backend,
)

# Dovecot's SQL driver and its Debian package, per backend.
DRIVERS = {"mysql": "dovecot-mysql", "pgsql": "dovecot-pgsql", "ldap": "dovecot-ldap"}
MODULES = {
    "mysql": "libdriver_mysql.so",
    "pgsql": "libdriver_pgsql.so",
    "ldap": "auth/libauthdb_ldap.so",
}
AUTH_FAILED, USER_UNKNOWN = 77, 67  # doveadm's exit codes for a refused login and no such user
VMAIL_UID = 2000  # iRedMail's vmail user owns every mailbox (dovecot.conf: mail_uid)


_attempts = itertools.count(1)


class DovecotError(AssertionError):
    """Dovecot could not answer (as opposed to refusing a login or not knowing a user)."""


class Dovecot:
    def __init__(self, folder: Path):
        self.config = folder / "dovecot.conf"
        self.log = folder / "dovecot.log"

    def _doveadm(self, *args: str) -> subprocess.CompletedProcess:
        logged = self.log.stat().st_size if self.log.exists() else 0
        result = subprocess.run(
            ["doveadm", "-c", str(self.config), *args], capture_output=True, text=True
        )
        new_log = self.log.read_text()[logged:] if self.log.exists() else ""
        problems = [line for line in new_log.splitlines()
                    if any(word in line for word in ("Error:", "Fatal:", "Panic:"))]  # fmt: skip
        if problems or "code=temp_fail" in result.stdout:
            raise DovecotError(f"doveadm {' '.join(args)}: {result.stdout}{result.stderr}{new_log}")
        return result

    def auth(self, user: str, password: str, service: str = "imap") -> bool:
        # A client address of its own per attempt: Dovecot's auth penalty delays every attempt
        # from an address that failed before, up to 15 s (a server lives for the whole run).
        n = next(_attempts)
        rip = f"127.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
        result = self._doveadm(
            "auth", "test", "-x", f"service={service}", "-x", f"rip={rip}", user, password
        )
        if result.returncode not in (0, AUTH_FAILED):
            raise DovecotError(f"doveadm auth test: exit {result.returncode}: {result.stderr}")
        return result.returncode == 0

    def user(self, user: str) -> dict[str, str] | None:
        result = self._doveadm("user", user)
        if result.returncode == USER_UNKNOWN:
            return None
        if result.returncode != 0:
            raise DovecotError(f"doveadm user: exit {result.returncode}: {result.stderr}")
        fields = {}
        for line in result.stdout.splitlines()[1:]:
            name, _, value = line.partition("\t")
            fields[name.strip()] = value.strip()
        return fields


def start_dovecot(vmail_url: str, samples: Path, login: tuple[str, str]) -> tuple[Dovecot, Path]:
    params = db_url.parse(vmail_url)
    driver = server_backend(vmail_url)
    sql_conf = fill_placeholders(
        (samples / "dovecot" / "dovecot-sql.conf").read_text(),
        {
            "PH_SQL_DRIVER": driver,
            "PH_SQL_SERVER_ADDRESS": params.get("host", "127.0.0.1"),
            "PH_SQL_SERVER_PORT": str(params.get("port", 3306 if driver == "mysql" else 5432)),
            "PH_VMAIL_DB_NAME": params["database"],
            "PH_VMAIL_DB_BIND_USER": login[0],
            "PH_VMAIL_DB_BIND_PASSWD": login[1],
        },
    )
    return _start("sql", sql_conf)


def start_ldap_dovecot(samples: Path, slapd) -> tuple[Dovecot, Path]:
    """Dovecot with iRedMail's LDAP passdb/userdb (`dovecot-ldap.conf`: auth_bind, so slapd
    checks the password) asking `slapd` (tests/slapd.py) on its unix socket."""
    from tests.slapd import BASE_DN, ROOT_DN, ROOT_PW

    text = (samples / "dovecot" / "dovecot-ldap.conf").read_text()
    text = re.sub(r"(?m)^hosts\s*=.*$", f"uris = {slapd.url}", text)
    ldap_conf = fill_placeholders(
        text,
        {"PH_LDAP_BIND_VERSION": "3", "PH_LDAP_BINDDN": ROOT_DN, "PH_LDAP_BINDPW": ROOT_PW,
         "PH_LDAP_BASEDN": BASE_DN},
    )  # fmt: skip
    return _start("ldap", ldap_conf)


def _start(driver: str, args_text: str) -> tuple[Dovecot, Path]:
    folder = Path(tempfile.mkdtemp(prefix="mailapi-dovecot-"))
    folder.chmod(0o755)  # Dovecot's unprivileged processes reach the base dir
    (folder / f"{driver}.conf").write_text(args_text)
    (folder / "dovecot.conf").write_text(
        f"base_dir = {folder}/run\nstate_dir = {folder}/state\nlog_path = {folder}/dovecot.log\n"
        "protocols = none\nssl = no\nauth_mechanisms = plain\nfirst_valid_uid = 1\n"
        # A refused login answers at once (Dovecot waits 2 s by default, against guessing).
        "auth_failure_delay = 0\n"
        f"mail_uid = {VMAIL_UID}\nmail_gid = {VMAIL_UID}\n"
        f"passdb {{\n  driver = {driver}\n  args = {folder}/{driver}.conf\n}}\n"
        f"userdb {{\n  driver = {driver}\n  args = {folder}/{driver}.conf\n}}\n"
    )
    subprocess.run(["dovecot", "-c", str(folder / "dovecot.conf")], check=True)
    return Dovecot(folder), folder


def stop_dovecot(server: Dovecot, folder: Path) -> None:
    subprocess.run(["doveadm", "-c", str(server.config), "stop"], capture_output=True)
    shutil.rmtree(folder, ignore_errors=True)


def dovecot_samples(driver: str = "mysql") -> Path:
    module = Path("/usr/lib/dovecot/modules") / MODULES[driver]
    installed = shutil.which("dovecot") and module.exists()
    return samples_for(bool(installed), f"dovecot-core and {DRIVERS[driver]}", "REQUIRE_DOVECOT")


@pytest.fixture(scope="session")  # the run's databases are emptied between tests
def dovecot_server(request):
    if TEST_DB not in ("mysql", "pgsql"):
        pytest.skip("the Dovecot fixture reads MariaDB or PostgreSQL (TEST_DB=mysql or pgsql)")
    urls = run_databases(request)
    samples = dovecot_samples(server_backend(urls["vmail"]))
    login = request.getfixturevalue("database_roles")["vmail"]
    server, folder = start_dovecot(urls["vmail"], samples, login)
    yield server
    stop_dovecot(server, folder)


@pytest.fixture
def dovecot(config, dovecot_server):
    """Dovecot reading this test's databases."""
    return dovecot_server
