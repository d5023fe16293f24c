"""The real mlmmjadmin (`upstream/mlmmjadmin`) on a loopback port, making Debian's mlmmj lists
in a scratch spool, as on an iRedMail server (`backend_api = "bk_none"`: the API writes the
SQL rows itself).

It is served by the standard library's threading WSGI server (no uWSGI, no cheroot), with its
settings.py generated into a folder of the run and found through PYTHONPATH; its syslog goes to
an unused loopback UDP port. The tests read the lists' files with mlmmj's own `mlmmj-list`.
"""

from __future__ import annotations

import contextlib
import grp
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

from tests.processes import free_port
from tests.upstream import upstream_dir

SKEL = Path("/usr/share/mlmmj/text.skel")
SERVE = """
import socketserver, sys
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
sys.path.insert(0, sys.argv[1])
import mlmmjadmin

class Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True

class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass

make_server("127.0.0.1", int(sys.argv[2]), mlmmjadmin.application, server_class=Server,
            handler_class=Quiet).serve_forever()
"""


class MlmmjadminError(AssertionError):
    """mlmmjadmin did not start."""


class Mlmmjadmin:
    def __init__(self, port: int, folder: Path, token: str, process: subprocess.Popen):
        self.port = port
        self.spool = folder / "spool"
        self.archive = folder / "archive"
        self.token = token
        self.process = process
        self.log = folder / "mlmmjadmin.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def overrides(self, **more) -> dict:
        """The API's settings for this mlmmjadmin (for make_api / make_config)."""
        return {"mlmmjadmin_api_base_url": self.url, "mlmmjadmin_api_auth_token": self.token,
                **more}  # fmt: skip

    def empty(self) -> None:
        for folder in (self.spool, self.archive):
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()

    # -- what mlmmj's files say --------------------------------------------------------
    def list_dir(self, address: str) -> Path:
        local, domain = address.split("@")
        return self.spool / domain / local

    def exists(self, address: str) -> bool:
        return self.list_dir(address).is_dir()

    def _mlmmj_list(self, address: str, flag: str) -> set[str]:
        run = subprocess.run(["mlmmj-list", "-L", str(self.list_dir(address)), flag],
                             capture_output=True, text=True, timeout=10)  # fmt: skip
        if run.returncode != 0:
            raise AssertionError(f"mlmmj-list {flag} failed: {run.stderr}")
        return {line.strip() for line in run.stdout.splitlines() if line.strip()}

    def subscribers(self, address: str, kind: str = "normal") -> set[str]:
        return self._mlmmj_list(address, {"normal": "-s", "digest": "-d", "nomail": "-n"}[kind])

    def owners(self, address: str) -> set[str]:
        return self._mlmmj_list(address, "-o")

    def moderators(self, address: str) -> set[str]:
        return self._mlmmj_list(address, "-m")

    def control(self, address: str, name: str) -> str | None:
        """A control file's text (None when absent: a boolean tunable is off)."""
        path = self.list_dir(address) / "control" / name
        return path.read_text() if path.exists() else None

    def pending(self, address: str) -> list[str]:
        """Subscriptions waiting for the subscriber's confirmation (mlmmj's subconf/)."""
        return sorted(p.read_text().strip() for p in (self.list_dir(address) / "subconf").iterdir())

    def archived(self, domain: str) -> list[str]:
        folder = self.archive / domain
        return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _settings(port: int, folder: Path, token: str) -> str:
    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    return "\n".join([
        "from libs.default_settings import *",
        f"listen_port = {port}",
        f"run_as_user = {user!r}",
        f"run_as_group = {group!r}",
        f"pid_file = {str(folder / 'mlmmjadmin.pid')!r}",
        "log_level = 'debug'",
        "backend_api = 'bk_none'",  # as iRedMail sets it: the API writes the SQL rows
        "backend_cli = 'bk_none'",
        f"api_auth_tokens = [{token!r}]",
        "SYSLOG_SERVER = '127.0.0.1'",
        f"SYSLOG_PORT = {free_port()}",
        f"MLMMJ_SPOOL_DIR = {str(folder / 'spool')!r}",
        f"MLMMJ_ARCHIVE_DIR = {str(folder / 'archive')!r}",
        f"MLMMJ_SKEL_DIR = {str(SKEL)!r}",
    ]) + "\n"  # fmt: skip


def require_mlmmjadmin() -> Path:
    """mlmmjadmin's source folder; a skip (a failure with REQUIRE_MLMMJ=1) when it cannot run."""
    source = upstream_dir()
    missing = [] if shutil.which("mlmmj-list") and SKEL.is_dir() else ["Debian's mlmmj"]
    if source is None or not (source / "mlmmjadmin").is_dir():
        missing.append("../shared/upstream/mlmmjadmin")
    if missing:
        reason = f"mlmmjadmin needs {', '.join(missing)}"
        if os.environ.get("REQUIRE_MLMMJ") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return source / "mlmmjadmin"


def _wait(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise MlmmjadminError(f"mlmmjadmin exited: {log.read_text()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise MlmmjadminError(f"mlmmjadmin does not listen: {log.read_text()[-3000:]}")


@contextlib.contextmanager
def running_mlmmjadmin():
    source = require_mlmmjadmin()
    folder = Path(tempfile.mkdtemp(prefix="mailapi-mlmmjadmin-"))
    try:
        port = free_port()
        token = "mlmmjadmin-test-" + uuid.uuid4().hex
        (folder / "settings.py").write_text(_settings(port, folder, token))
        (folder / "serve.py").write_text(SERVE)
        for name in ("spool", "archive"):
            (folder / name).mkdir()
        env = {**os.environ, "PYTHONPATH": str(folder), "PYTHONDONTWRITEBYTECODE": "1"}
        with open(folder / "mlmmjadmin.log", "wb") as output:
            process = subprocess.Popen(
                [sys.executable, str(folder / "serve.py"), str(source), str(port)],
                cwd=source, env=env, stdout=output, stderr=subprocess.STDOUT,
            )  # fmt: skip
        server = Mlmmjadmin(port, folder, token, process)
        try:
            _wait(port, process, server.log)
            yield server
        finally:
            process.terminate()
            process.wait(timeout=10)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def mlmmjadmin_server():
    with running_mlmmjadmin() as server:
        yield server


@pytest.fixture
def mlmmjadmin(mlmmjadmin_server):
    """mlmmjadmin with an empty spool and archive for this test."""
    mlmmjadmin_server.empty()
    return mlmmjadmin_server
