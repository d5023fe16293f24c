"""The real iRedAPD (`upstream/iredapd`, its throttle, amavisd_wblist and greylisting plugins)
reading the test's MariaDB or PostgreSQL databases, asked with Postfix policy requests on a
loopback port.

iRedAPD reads MySQL or PostgreSQL only, and refuses an empty database password, so on MariaDB
the fixture makes a user of its own for the run (dropped at the end); on PostgreSQL it logs in
as the run's `iredapd` role (conftest.pgsql_templates), through psycopg 3 as the API does. Its
settings.py is generated into a folder of the run and found through PYTHONPATH: nothing is
written into upstream/.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from playhouse import db_url

from tests.processes import free_port
from tests.upstream import TEST_DB, run_databases, server_backend, upstream_dir

PASSWORD = "iRedAPD-test-" + uuid.uuid4().hex[:12]


class IredapdError(AssertionError):
    """iRedAPD did not answer a policy request."""


class Iredapd:
    def __init__(self, port: int, log: Path):
        self.port = port
        self.log = log

    def policy(self, **attributes: str) -> str:
        """The action iRedAPD answers for one policy request (`DUNNO`, `REJECT …`)."""
        request = {"request": "smtpd_access_policy", "protocol_name": "ESMTP",
                   "client_address": "192.0.2.10", "client_name": "client.example.org",
                   "helo_name": "client.example.org", "instance": uuid.uuid4().hex[:12],
                   **attributes}  # fmt: skip
        text = "".join(f"{key}={value}\n" for key, value in request.items()) + "\n"
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(text.encode())
            answer = b""
            while not answer.endswith(b"\n\n"):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
        if not answer.startswith(b"action="):
            raise IredapdError(f"no action: {answer!r}\n{self.log.read_text()[-2000:]}")
        return answer.decode().strip()[len("action=") :]

    def rcpt(self, sender: str, recipient: str, client: str = "192.0.2.10", sasl: str = "") -> str:
        """What iRedAPD says at RCPT TO of `sender` to `recipient` from `client` (SMTP AUTH as
        `sasl` when given)."""
        return self.policy(
            protocol_state="RCPT", sender=sender, recipient=recipient, client_address=client,
            sasl_username=sasl, queue_id="", recipient_count="0", size="0",
        )  # fmt: skip

    def end_of_message(self, sender: str, size: int, recipients: int = 1) -> str:
        """What iRedAPD says at END-OF-DATA of a message sent by an authenticated `sender`."""
        return self.policy(
            protocol_state="END-OF-MESSAGE", sender=sender, sasl_username=sender, recipient="",
            recipient_count=str(recipients), size=str(size),
        )  # fmt: skip


# backend setting, SQLAlchemy driver, port: per server backend.
BACKENDS = {"mysql": ("mysql", "pymysql", 3306), "pgsql": ("pgsql", "psycopg", 5432)}


def _settings(port: int, folder: Path, urls: dict[str, str], login: tuple[str, str]) -> str:
    databases = {
        name: db_url.parse(urls[name])["database"] for name in ("vmail", "iredapd", "amavisd")
    }
    backend, driver, db_port = BACKENDS[server_backend(urls["vmail"])]
    lines = [
        "from libs.default_settings import *",
        "listen_address = '127.0.0.1'",
        f"listen_port = {port}",
        f"run_as_user = {pwd.getpwuid(os.getuid()).pw_name!r}",
        f"pid_file = {str(folder / 'iredapd.pid')!r}",
        "log_level = 'debug'",
        f"backend = {backend!r}",
        f"SQL_DB_DRIVER = {driver!r}",  # the driver the API uses too
        "plugins = ['throttle', 'amavisd_wblist', 'greylisting']",
        # Greylisting would otherwise look the sender's SPF up in DNS (there is none here).
        "GREYLISTING_BYPASS_SPF = False",
        "LOG_SMTP_SESSIONS = False",  # its smtp_sessions table is not the API's business
        "srs_secrets = []",
        "srs_domain = ''",
    ]
    for name in ("vmail", "amavisd", "iredapd"):
        database = databases[name]
        lines += [
            f"{name}_db_server = '127.0.0.1'",
            f"{name}_db_port = '{db_port}'",
            f"{name}_db_name = {database!r}",
            f"{name}_db_user = {login[0]!r}",
            f"{name}_db_password = {login[1]!r}",
        ]
    return "\n".join(lines) + "\n"


def _wait(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise IredapdError(f"iRedAPD exited: {log.read_text()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise IredapdError(f"iRedAPD does not listen: {log.read_text()[-3000:]}")


@contextlib.contextmanager
def mysql_user(urls: dict[str, str]):
    """A MariaDB user of its own with every right on the test's vmail, iredapd and amavisd
    databases."""
    from tests.conftest import mysql_connection

    user = "iredapd_" + uuid.uuid4().hex[:10]
    admin = mysql_connection()
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'")
        for name in ("vmail", "iredapd", "amavisd"):
            database = db_url.parse(urls[name])["database"]
            cursor.execute(f"GRANT ALL ON `{database}`.* TO '{user}'@'127.0.0.1'")
    try:
        yield user, PASSWORD
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP USER '{user}'@'127.0.0.1'")
        admin.close()


def require_iredapd() -> Path:
    """iRedAPD's source folder; a skip (a failure with REQUIRE_IREDAPD=1) when it cannot run."""
    missing = [m for m in ("sqlalchemy", "dns") if importlib.util.find_spec(m) is None]
    source = upstream_dir()
    if missing or source is None:
        reason = f"iRedAPD needs {missing} (make test installs them) and ../shared/upstream"
        if os.environ.get("REQUIRE_IREDAPD") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return source / "iredapd"


@contextlib.contextmanager
def running_iredapd(urls: dict[str, str], login: tuple[str, str] | None = None):
    """iRedAPD on a free loopback port reading `urls`' vmail and iredapd databases, as `login`
    (on MariaDB, by default, a user of its own made for it)."""
    source = require_iredapd()
    with contextlib.ExitStack() as stack:
        if login is None:
            login = stack.enter_context(mysql_user(urls))
        folder = Path(tempfile.mkdtemp(prefix="mailapi-iredapd-"))
        stack.callback(shutil.rmtree, folder, ignore_errors=True)
        port = free_port()
        (folder / "settings.py").write_text(_settings(port, folder, urls, login))
        log = folder / "iredapd.log"
        env = {**os.environ, "PYTHONPATH": str(folder), "PYTHONDONTWRITEBYTECODE": "1"}
        with open(log, "wb") as output:
            process = subprocess.Popen(
                [sys.executable, "iredapd.py", "--foreground"],
                cwd=source, env=env, stdout=output, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            _wait(port, process, log)
            yield Iredapd(port, log)
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(scope="session")  # the run's databases are emptied between tests
def iredapd_server(request):
    if TEST_DB not in ("mysql", "pgsql"):
        pytest.skip("iRedAPD reads MySQL or PostgreSQL (TEST_DB=mysql or pgsql)")
    require_iredapd()
    urls = run_databases(request)
    login = None if TEST_DB == "mysql" else request.getfixturevalue("database_roles")["iredapd"]
    with running_iredapd(urls, login) as server:
        yield server


@pytest.fixture
def iredapd(config, iredapd_server):
    """iRedAPD reading this test's databases."""
    return iredapd_server
