"""The real Amavisd (Debian's amavisd-new) reading its policies from the run's amavisd database
(MariaDB or PostgreSQL) and storing its quarantine there, on a free loopback port; mail it
passes goes to a small SMTP sink of the test's. No virus scanner and no SpamAssassin: the
banned-file check is what the tests drive (a `.exe` attachment), which needs neither.

Its settings are a few lines of the test's, with iRedMail's values where they matter (the
banned destiny D_DISCARD, `sql:` quarantine, `$sql_allow_8bit_address` for the binary
address columns). It runs as Debian's `amavis` user in a scratch home.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import smtplib
import socketserver
import subprocess
import tempfile
import threading
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from playhouse import db_url

from tests.iredapd import mysql_user
from tests.processes import free_port
from tests.upstream import TEST_DB, run_databases, server_backend

AMAVISD = "/usr/sbin/amavisd"


class Sink(socketserver.ThreadingTCPServer):
    """An SMTP server that accepts everything and keeps each message's bytes."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.messages: list[bytes] = []
        super().__init__(("127.0.0.1", 0), _SinkHandler)


class _SinkHandler(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"220 sink ESMTP\r\n")
        while line := self.rfile.readline():
            command = line.strip().upper()
            if command.startswith(b"EHLO"):
                self.wfile.write(b"250-sink\r\n250 8BITMIME\r\n")
            elif command.startswith(b"DATA"):
                self.wfile.write(b"354 go on\r\n")
                data = b""
                while (part := self.rfile.readline()) not in (b".\r\n", b""):
                    data += part
                self.server.messages.append(data)
                self.wfile.write(b"250 queued\r\n")
            elif command.startswith(b"QUIT"):
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


class Amavisd:
    def __init__(self, port: int, sink: Sink, log: Path):
        self.port = port
        self.sink = sink
        self.log = log

    def send_banned(self, recipient: str) -> tuple[bool, str]:
        """Send `recipient` a message with a banned attachment (`x.exe`); answers whether it
        came out at the sink, and Amavisd's log line about it."""
        before = len(self.sink.messages)
        logged = len(self.log.read_text().splitlines())
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@ext.test", recipient, "file"
        message["Date"] = "Wed, 02 Dec 2026 10:00:00 +0000"
        message["Message-ID"] = f"<{time.time_ns()}@ext.test>"
        message.set_content("see attached")
        message.add_attachment(b"MZ" + bytes(200), maintype="application",
                               subtype="octet-stream", filename="x.exe")  # fmt: skip
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as client:
            client.send_message(message, "a@ext.test", [recipient])
        new = self.log.read_text().splitlines()[logged:]
        verdicts = [line for line in new if " Blocked " in line or " Passed " in line]
        return len(self.sink.messages) > before, (verdicts[0] if verdicts else "")


def _settings(home: Path, port: int, sink_port: int, urls: dict[str, str], login) -> str:
    name = db_url.parse(urls["amavisd"])["database"]
    if server_backend(urls["amavisd"]) == "mysql":
        dsn = f"DBI:mysql:database={name};host=127.0.0.1;port=3306"
        extra = "$timestamp_fmt_mysql = 1;"
    else:
        dsn = f"DBI:Pg:dbname={name};host=127.0.0.1;port=5432"
        extra = ""
    return f"""use strict;
$MYHOME = '{home}';
$TEMPBASE = "$MYHOME/tmp";
$db_home = "$MYHOME/db";
$helpers_home = "$MYHOME/var";
$pid_file = "$MYHOME/amavisd.pid";
$lock_file = "$MYHOME/amavisd.lock";
$daemon_user = 'amavis';
$daemon_group = 'amavis';
$mydomain = 'example.com';
$myhostname = 'mx.example.com';
$max_servers = 1;
$inet_socket_bind = '127.0.0.1';
$inet_socket_port = {port};
@inet_acl = qw(127.0.0.1);
$forward_method = 'smtp:[127.0.0.1]:{sink_port}';
$notify_method = $forward_method;
@local_domains_maps = (1);
@lookup_sql_dsn = (['{dsn}', '{login[0]}', '{login[1]}']);
@storage_sql_dsn = @lookup_sql_dsn;
$sql_allow_8bit_address = 1;
{extra}
@bypass_virus_checks_maps = (1);
@bypass_spam_checks_maps = (1);
@av_scanners = ();
@av_scanners_backup = ();
$final_banned_destiny = D_DISCARD;
$banned_files_quarantine_method = 'sql:';
$banned_quarantine_to = 'banned-quarantine';
$banned_filename_re = new_RE(qr'\\.exe$'i);
$log_level = 2;
$do_syslog = 0;
$LOGFILE = "$MYHOME/amavisd.log";
$enable_dkim_verification = 0;
$enable_dkim_signing = 0;
1;
"""


def require_amavisd() -> None:
    missing = not os.path.exists(AMAVISD)
    try:
        pwd.getpwnam("amavis")
    except KeyError:
        missing = True
    if missing or os.geteuid() != 0:
        reason = "Amavisd needs Debian's amavisd-new (and root, to run as amavis)"
        if os.environ.get("REQUIRE_AMAVISD") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


def _wait(port: int, process: subprocess.Popen, log: Path) -> None:
    import socket

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = log.read_text() if log.exists() else ""
            raise AssertionError(f"Amavisd exited: {text[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("Amavisd does not listen")


@contextlib.contextmanager
def running_amavisd(urls: dict[str, str], login: tuple[str, str] | None = None):
    require_amavisd()
    with contextlib.ExitStack() as stack:
        if login is None:
            login = stack.enter_context(mysql_user(urls))
        # Amavisd refuses a config file in a folder it could write: the file in a root-owned
        # folder, its home (work files, log) beside it, the amavis user's.
        top = Path(tempfile.mkdtemp(prefix="mailapi-amavisd-"))
        stack.callback(shutil.rmtree, top, ignore_errors=True)
        top.chmod(0o755)
        home = top / "home"
        amavis = pwd.getpwnam("amavis")
        for path in (home, home / "tmp", home / "db", home / "var"):
            path.mkdir()
            os.chown(path, amavis.pw_uid, amavis.pw_gid)
        sink = Sink()
        threading.Thread(target=sink.serve_forever, daemon=True).start()
        stack.callback(sink.shutdown)
        port = free_port()
        config = top / "amavisd.conf"
        config.write_text(_settings(home, port, sink.server_address[1], urls, login))
        process = subprocess.Popen(
            [AMAVISD, "-c", str(config), "foreground"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log = home / "amavisd.log"
        try:
            _wait(port, process, log)
            yield Amavisd(port, sink, log)
        finally:
            process.terminate()
            process.wait(timeout=20)


@pytest.fixture(scope="session")
def amavisd_server(request):
    if TEST_DB not in ("mysql", "pgsql"):
        pytest.skip("Amavisd here reads MariaDB or PostgreSQL (TEST_DB=mysql or pgsql)")
    require_amavisd()
    urls = run_databases(request)
    login = None if TEST_DB == "mysql" else request.getfixturevalue("database_roles")["iredapd"]
    with running_amavisd(urls, login) as server:
        yield server


@pytest.fixture
def amavisd(config, amavisd_server):
    """Amavisd reading this test's amavisd database."""
    return amavisd_server
