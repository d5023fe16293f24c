"""A real Dovecot (SQL passdb/userdb with iRedMail's queries) against the run's MariaDB `vmail`.

It has its own config and base dir and no listeners; tests ask it with `doveadm auth test`
and `doveadm user`. One server per run: Dovecot caches nothing (auth_cache_size is 0).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from playhouse import db_url

MYSQL_DRIVER = "/usr/lib/dovecot/modules/libdriver_mysql.so"
PASSWORD_QUERY = (
    "SELECT mailbox.password AS password FROM mailbox,domain WHERE mailbox.username='%u'"
    " AND mailbox.enable%Ls%Lc=1 AND mailbox.active=1 AND domain.domain=mailbox.domain"
    " AND domain.backupmx=0 AND domain.active=1"
)
USER_QUERY = (
    "SELECT LOWER(CONCAT(mailbox.storagebasedirectory, '/', mailbox.storagenode, '/',"
    " mailbox.maildir)) AS home, CONCAT('*:bytes=', mailbox.quota*1048576) AS quota_rule,"
    " 2000 AS uid, 2000 AS gid FROM mailbox,domain WHERE mailbox.username='%u'"
    " AND mailbox.active=1 AND domain.domain=mailbox.domain AND domain.backupmx=0"
    " AND domain.active=1"
)


class Dovecot:
    def __init__(self, folder: Path):
        self.config = folder / "dovecot.conf"

    def auth(self, user: str, password: str, service: str = "imap") -> bool:
        result = subprocess.run(
            ["doveadm", "-c", str(self.config), "auth", "test", "-x", f"service={service}",
             user, password],
            capture_output=True, text=True,
        )  # fmt: skip
        assert result.returncode in (0, 77), result.stderr
        return result.returncode == 0

    def user(self, user: str) -> dict[str, str] | None:
        result = subprocess.run(
            ["doveadm", "-c", str(self.config), "user", user],
            capture_output=True, text=True,
        )  # fmt: skip
        if result.returncode == 67:  # user does not exist
            return None
        assert result.returncode == 0, result.stderr
        fields = {}
        for line in result.stdout.splitlines()[1:]:
            name, _, value = line.partition("\t")
            fields[name.strip()] = value.strip()
        return fields


def start_dovecot(vmail_url: str) -> tuple[Dovecot, Path]:
    params = db_url.parse(vmail_url)
    folder = Path(tempfile.mkdtemp(prefix="mailapi-dovecot-"))
    folder.chmod(0o755)  # Dovecot's unprivileged processes reach the base dir
    (folder / "sql.conf").write_text(
        "driver = mysql\n"
        f"connect = host={params.get('host', '127.0.0.1')} port={params.get('port', 3306)}"
        f" dbname={params['database']} user={params.get('user', 'root')}"
        f" password={params.get('passwd', '')}\n"
        "default_pass_scheme = CRYPT\n"
        f"password_query = {PASSWORD_QUERY}\n"
        f"user_query = {USER_QUERY}\n"
    )
    (folder / "dovecot.conf").write_text(
        f"base_dir = {folder}/run\nstate_dir = {folder}/state\nlog_path = {folder}/dovecot.log\n"
        "protocols = none\nssl = no\nauth_mechanisms = plain\nfirst_valid_uid = 1\n"
        f"passdb {{\n  driver = sql\n  args = {folder}/sql.conf\n}}\n"
        f"userdb {{\n  driver = sql\n  args = {folder}/sql.conf\n}}\n"
    )
    subprocess.run(["dovecot", "-c", str(folder / "dovecot.conf")], check=True)
    return Dovecot(folder), folder


@pytest.fixture(scope="session")
def dovecot_server(request):
    if os.environ.get("TEST_DB") != "mysql":
        pytest.skip("the Dovecot fixture reads the MariaDB database (TEST_DB=mysql)")
    if not shutil.which("dovecot") or not Path(MYSQL_DRIVER).exists():
        if os.environ.get("REQUIRE_DOVECOT") == "1":
            pytest.fail("REQUIRE_DOVECOT=1 but dovecot-core/dovecot-mysql are not installed")
        pytest.skip("dovecot-core and dovecot-mysql are not installed")
    urls = request.getfixturevalue("mysql_databases")
    server, folder = start_dovecot(urls["vmail"])
    yield server
    subprocess.run(["doveadm", "-c", str(server.config), "stop"], capture_output=True)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def dovecot(config, dovecot_server):
    """Dovecot reading this test's (emptied) MariaDB database."""
    return dovecot_server
