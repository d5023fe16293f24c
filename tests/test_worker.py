"""The gunicorn worker every process runs (`shared/worker.py`): a thread keeps serving a
connection whose next request comes at once, and gives it back to the poller when it does not;
an answer's head leaves with its body in one send."""

from __future__ import annotations

import http.client
import os
import socket
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config as GunicornConfig

from shared.worker import OneWriteResponse
from tests.processes import free_port, start, stop, wait_for_port
from tests.worker_app import BODY


@pytest.fixture
def one_thread_server():
    """This module's app under the project's gunicorn settings, one worker of one thread: a
    thread held by one connection is then visible to every other."""
    port = free_port()
    env = dict(os.environ, GUNICORN_WORKERS="1", GUNICORN_THREADS="1", DB_POOL_SIZE="1")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    process = start(
        f"exec gunicorn -c gunicorn.conf.py --bind 127.0.0.1:{port} 'tests.worker_app:app'", env
    )
    try:
        wait_for_port(port)
        yield port
    finally:
        stop(process)


def test_many_requests_on_one_kept_alive_connection(one_thread_server):
    conn = http.client.HTTPConnection("127.0.0.1", one_thread_server, timeout=5)
    for _ in range(50):
        conn.request("GET", "/x")
        answer = conn.getresponse()
        assert (answer.status, answer.read()) == (200, BODY)
        assert answer.getheader("Connection") == "keep-alive"
    conn.request("GET", "/stream")
    assert conn.getresponse().read() == b"one two three"
    conn.request("GET", "/empty")
    answer = conn.getresponse()
    assert (answer.status, answer.read()) == (204, b"")
    conn.request("HEAD", "/x")
    answer = conn.getresponse()
    assert (answer.status, answer.getheader("Content-Length"), answer.read()) == (200, "17", b"")
    conn.request("GET", "/x")  # the connection is still in step after each framing
    assert conn.getresponse().read() == BODY
    conn.close()


def test_an_idle_kept_alive_connection_does_not_keep_the_thread(one_thread_server):
    """The only thread answered A and waits on it for a moment; B is answered as soon as that
    moment ends, not when A's keep-alive (75 s) does."""
    idle = http.client.HTTPConnection("127.0.0.1", one_thread_server, timeout=5)
    idle.request("GET", "/x")
    assert idle.getresponse().read() == BODY
    other = http.client.HTTPConnection("127.0.0.1", one_thread_server, timeout=5)
    started = time.monotonic()
    other.request("GET", "/x")
    assert other.getresponse().read() == BODY
    assert time.monotonic() - started < 1
    idle.request("GET", "/x")  # and A is served again afterwards, from the poller
    assert idle.getresponse().read() == BODY
    idle.close()
    other.close()


def test_a_connection_waiting_for_the_thread_is_not_left_behind_a_busy_one(one_thread_server):
    """While A's request runs, B's arrives and waits for the one thread; A's next request,
    sent the moment A's answer came, must not keep the thread from B for longer than that."""
    first = socket.create_connection(("127.0.0.1", one_thread_server))
    second = socket.create_connection(("127.0.0.1", one_thread_server))
    first.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.1)  # A's request is running
    second.sendall(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
    first.settimeout(5)
    second.settimeout(5)
    assert BODY in _answer(first)
    first.sendall(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")  # at once: the thread could stay
    started = time.monotonic()
    assert BODY in _answer(second)
    assert time.monotonic() - started < 0.2  # B went first; A's second /slow would take 0.3 s
    assert BODY in _answer(first)
    first.close()
    second.close()


def test_pipelined_requests_are_both_answered(one_thread_server):
    """Two requests in one send: the second is already in gunicorn's buffer, not on the
    socket, when the first is answered."""
    with socket.create_connection(("127.0.0.1", one_thread_server)) as sock:
        sock.settimeout(5)
        sock.sendall(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\nGET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        seen = b""
        while b"three" not in seen:
            data = sock.recv(65536)
            assert data, seen
            seen += data
    assert seen.count(b"HTTP/1.1 200 OK") == 2 and BODY in seen


def _answer(sock: socket.socket) -> bytes:
    seen = b""
    while BODY not in seen:
        data = sock.recv(65536)
        assert data, seen
        seen += data
    return seen


class RecordingSocket:
    def __init__(self):
        self.sends: list[bytes] = []

    def sendall(self, data):
        self.sends.append(bytes(data))


def response(method: str = "GET") -> tuple[OneWriteResponse, RecordingSocket]:
    request = SimpleNamespace(version=(1, 1), method=method, should_close=lambda: False)
    sock = RecordingSocket()
    return OneWriteResponse(request, sock, GunicornConfig()), sock


def test_head_and_body_leave_in_one_send():
    answer, sock = response()
    answer.start_response("200 OK", [("Content-Length", "17")])
    answer.write(BODY)
    answer.close()
    assert len(sock.sends) == 1
    head, body = sock.sends[0].split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"Content-Length: 17" in head
    assert body == BODY


def test_an_answer_without_a_body_still_sends_its_head():
    for method, status in (("GET", "204 No Content"), ("HEAD", "200 OK")):
        answer, sock = response(method)
        answer.start_response(status, [("Content-Length", "0")] if method == "GET" else [])
        answer.write(b"")
        answer.close()
        assert len(sock.sends) == 1 and sock.sends[0].endswith(b"\r\n\r\n"), sock.sends
        assert sock.sends[0].startswith(b"HTTP/1.1 " + status.encode())


def test_a_chunked_answer_keeps_its_framing():
    answer, sock = response()
    answer.start_response("200 OK", [])
    for part in (b"one", b"two"):
        answer.write(part)
    answer.close()
    wire = b"".join(sock.sends)
    head, body = wire.split(b"\r\n\r\n", 1)
    assert b"Transfer-Encoding: chunked" in head
    assert body == b"3\r\none\r\n3\r\ntwo\r\n0\r\n\r\n"
