"""GET /api/docs rendered by a real headless Chromium (Debian's `chromium`): Swagger UI, from
the package's own files, draws every endpoint family of the document."""

from __future__ import annotations

import os
import shutil
import socketserver
import subprocess
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from gateway.app import create_app as create_gateway
from gateway.upstream import InProcessTransport
from shared.openapi import TAGS
from tests.processes import free_port

SCREENSHOT = os.environ.get("MAILAPI_DOCS_SCREENSHOT", "")


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("REQUIRE_CHROMIUM") == "1":
            pytest.fail("Debian's chromium is needed (apt-get install chromium)")
        pytest.skip("needs Debian's chromium")
    return found


@pytest.fixture
def docs_url(config):
    app = create_gateway(config, InProcessTransport({}))
    port = free_port()
    server = make_server("127.0.0.1", port, app, server_class=_Server, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}/api/docs"
    server.shutdown()


def _chromium(*args: str, tmp_path) -> str:
    run = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=20000", *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


def test_chromium_renders_every_endpoint_family(docs_url, tmp_path):
    dom = _chromium("--dump-dom", docs_url, tmp_path=tmp_path)
    assert "swagger-ui" in dom and "opblock" in dom, dom[:2000]  # rendered, not just the page
    for family in TAGS.values():
        assert f'data-tag="{family}"' in dom, family
    assert "/api/ml/{mail}" in dom and "/api/user/{mail}" in dom
    shot = tmp_path / "docs.png"
    _chromium(f"--screenshot={shot}", "--window-size=1280,2000", docs_url, tmp_path=tmp_path)
    assert shot.stat().st_size > 10_000
    if SCREENSHOT:
        shutil.copy(shot, SCREENSHOT)
