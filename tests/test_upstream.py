"""The production transport against real sockets, and database outages."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gateway.upstream import BUFFER_LIMIT, HttpTransport
from shared.config import Config
from shared.errors import ApiError
from tests.conftest import login
from tests.helpers import failure

BIG = b"x" * (BUFFER_LIMIT * 3)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    seen: list[str] = []  # the request lines that reached the server
    clients: list[tuple] = []  # the connection each came on

    def do_GET(self):  # noqa: N802
        Handler.seen.append(self.requestline)
        Handler.clients.append(self.client_address)
        if self.path == "/chunked":
            return self._chunked()
        if self.path == "/cut":
            return self._chunked(cut=True)
        body = BIG if self.path == "/big" else b'{"_success":true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "keep-alive")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        self.do_GET()

    do_PUT = do_POST  # noqa: N815

    def _chunked(self, cut=False):
        """A streamed answer without a length, as gunicorn sends a streamed list; `cut`: the
        service stops after its first chunks (it died mid-list)."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for piece in (b'{"_success":true,', b'"_data":"' + BIG + b'"', b"}"):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            if cut:
                self.close_connection = True
                return
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, *args):
        pass


class ClosingHandler(Handler):
    """Says keep-alive, then closes the connection after the answer (a service restarting, or
    its keep-alive timeout passing, between two requests)."""

    def do_GET(self):  # noqa: N802
        super().do_GET()
        self.close_connection = True


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()


@pytest.fixture
def closing_server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), ClosingHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()


def test_a_connection_the_service_closed_is_not_reused(closing_server):
    """Every method, a POST too, goes out on a new connection when the kept one was closed."""
    upstream = transport(closing_server.server_address[1])
    for method in ("GET", "POST", "PUT", "POST"):
        answer = upstream.request("domain", method, "/small", {}, b"a=1")
        assert answer.body == b'{"_success":true}', method
        time.sleep(0.05)  # the server's close reaches the pooled socket


@pytest.fixture
def silent_port():
    """A socket that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield sock.getsockname()[1]
    sock.close()


def transport(port: int, read_timeout: float = 5.0) -> HttpTransport:
    config = dataclasses.replace(
        Config(),
        service_binds=(("domain", f"127.0.0.1:{port}"),),
        upstream_read_timeout=read_timeout,
        upstream_connect_timeout=0.5,
    )
    return HttpTransport(config)


def test_small_answers_are_buffered_and_hop_by_hop_headers_dropped(server):
    answer = transport(server).request("domain", "GET", "/small", {}, b"")
    assert answer.body == b'{"_success":true}'
    names = {name.lower() for name, _ in answer.headers}
    assert "content-type" in names and "connection" not in names
    assert "content-length" not in names


def test_large_answers_are_streamed(server):
    answer = transport(server).request("domain", "GET", "/big", {}, b"")
    assert answer.body is None
    assert b"".join(answer.stream) == BIG


def test_the_connection_of_a_streamed_answer_serves_the_next_request(server):
    """A large answer with a Content-Length, read to its end, leaves its kept-alive connection
    ready: a POST after it (which is never sent twice) goes through. (http.client's read1
    never marks such an answer finished: the next request on the connection failed with
    `Request-sent`, found by bench/antispam_bench.py.)"""
    upstream = transport(server)
    for method in ("GET", "POST", "GET", "PUT"):
        body = b"" if method == "GET" else b"a=1"
        answer = upstream.request("domain", method, "/big", {}, body)
        assert b"".join(answer.stream) == BIG, method
    assert upstream.request("domain", "POST", "/small", {}, b"a=1").body == b'{"_success":true}'


def test_one_kept_alive_connection_serves_request_after_request(server):
    upstream = transport(server)
    Handler.clients.clear()
    for method in ("GET", "POST", "GET", "PUT", "GET"):
        body = b"" if method == "GET" else b"a=1"
        assert upstream.request("domain", method, "/small", {}, body).body is not None
    assert len(Handler.clients) == 5 and len(set(Handler.clients)) == 1


def test_a_chunked_answer_is_streamed_whole_and_its_connection_kept(server):
    upstream = transport(server)
    for _ in range(2):
        answer = upstream.request("domain", "GET", "/chunked", {}, b"")
        assert answer.body is None
        assert b"".join(answer.stream) == b'{"_success":true,"_data":"' + BIG + b'"}'
    Handler.clients.clear()
    assert upstream.request("domain", "POST", "/small", {}, b"a=1").body == b'{"_success":true}'
    assert upstream.request("domain", "GET", "/chunked", {}, b"").stream is not None
    assert len(set(Handler.clients)) == 1


def test_a_stream_the_service_cut_fails_rather_than_ending_as_if_complete(server):
    """The gateway's client must see the answer cut too (gunicorn then ends its chunked answer
    without the last chunk), not a short list that looks whole."""
    answer = transport(server).request("domain", "GET", "/cut", {}, b"")
    with pytest.raises(ConnectionError):
        b"".join(answer.stream)


@pytest.mark.parametrize(
    ("target", "headers"),
    [
        ("/small", {"Content-Type": "text/plain\r\nX-Mailapi-Role: global"}),
        ("/small", {"Content-Type": "a\nb"}),
        ("/small", {"Content-Type": "a\x00b"}),
        ("/small HTTP/1.1\r\nX-Mailapi-Role: global\r\n\r\nGET /small", {}),
    ],
)
def test_control_characters_never_reach_the_service(server, target, headers):
    """Nothing a header value or the target holds can end its line and add a header (the
    gateway writes the request head itself)."""
    Handler.seen.clear()
    with pytest.raises(ApiError) as err:
        transport(server).request("domain", "GET", target, headers, b"")
    assert err.value.code == "INVALID_PARAM"
    assert Handler.seen == []


def test_upstream_timeout(silent_port):
    with pytest.raises(ApiError) as err:
        transport(silent_port, read_timeout=0.3).request("domain", "GET", "/x", {}, b"")
    assert err.value.code == "UPSTREAM_TIMEOUT"


def test_connection_refused():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(ApiError) as err:
        transport(port).request("domain", "POST", "/x", {}, b"a=1")
    assert err.value.code == "SERVICE_UNAVAILABLE"


def test_database_outage_answers_cleanly(make_api, global_admin, tmp_path):
    client = login(make_api())
    broken = make_api(vmail_db_url=f"sqlite:///{tmp_path}/missing/dir/vmail.db")
    broken.cookiejar = client.cookiejar
    answer = broken.get("/api/domain/example.com")
    assert failure(answer) == "DATABASE_UNAVAILABLE"
    assert "_detail" not in answer.json


@pytest.mark.parametrize(
    "url", ["mysql://root@127.0.0.1:1/vmail", "postgresql://postgres@127.0.0.1:1/vmail"]
)
def test_unreachable_server_database_answers_cleanly(make_api, global_admin, url):
    client = login(make_api())
    broken = make_api(vmail_db_url=url)
    broken.cookiejar = client.cookiejar
    assert failure(broken.get("/api/domain/example.com")) == "DATABASE_UNAVAILABLE"


@pytest.mark.pgsql_only
def test_postgresql_connections_killed_by_a_restart_heal_without_one(admin_api, config):
    """A pooled connection whose server process is gone is found dead on checkout (peewee's
    pool round-trips a `SELECT 1`) and replaced: no request fails after a database restart."""
    from tests import pgsql

    assert admin_api.post("/api/domain/example.com").json == {"_success": True}
    with pgsql.connection() as conn:
        killed = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            # The API's connections only (it logs in as the test superuser): the run's Dovecot
            # and iRedAPD, with roles of their own, keep theirs.
            " WHERE datname = ANY(%s) AND pid <> pg_backend_pid() AND usename = current_user",
            [[url.rsplit("/", 1)[1] for url in (config.vmail_db_url, config.iredadmin_db_url)]],
        ).fetchone()[0]
    assert killed >= 2  # the pools' idle connections to vmail and iredadmin
    for _ in range(3):
        assert admin_api.get("/api/domain/example.com").json["_success"] is True
