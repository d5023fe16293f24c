"""How the gateway reaches the services: one interface, two transports.

`HttpTransport` is the production one (keep-alive HTTP/1.1 written by hand and parsed by
httptools, pooled per service); `InProcessTransport` calls the service WSGI apps directly, for
tests. Both answer an `UpstreamResponse` or raise ApiError (`SERVICE_UNAVAILABLE`,
`UPSTREAM_TIMEOUT`).
"""

from __future__ import annotations

import collections
import dataclasses
import io
import logging
import re
import select
import socket
import struct
import sys
import threading
from collections.abc import Iterable, Iterator
from urllib.parse import unquote, urlsplit

import httptools

from shared.errors import ApiError

log = logging.getLogger("mailapi.gateway")

HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
    "trailer", "trailers", "transfer-encoding", "upgrade", "content-length",
})  # fmt: skip
# Bodies up to this size are read at once; larger ones are streamed through.
BUFFER_LIMIT = 64 * 1024
CHUNK = 64 * 1024
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# Attempts of one request: a failed connect, or a kept-alive connection the service dropped
# (idempotent methods only), is tried again on a new connection.
ATTEMPTS = 3


@dataclasses.dataclass
class UpstreamResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes | None  # set when the whole body was read
    stream: Iterable[bytes] | None = None  # otherwise, chunks to pass through


def end_to_end_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]


class _Unreachable(Exception):
    """No connection could be made: nothing was sent."""


class _Closed(ConnectionError):
    """The service closed the connection before its answer was complete."""


class _Connection:
    """One keep-alive HTTP/1.1 connection to a service: a request is written in one send, its
    answer parsed by httptools (llhttp, Node.js's C parser). http.client wrote each header in
    Python and parsed the answer's with the email package: 60 % of the gateway's own CPU."""

    def __init__(self, sock: socket.socket, host: str):
        self.sock = sock
        self._host = host

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def send(self, method: str, target: str, headers: dict[str, str], body: bytes | None) -> None:
        # A target or a header value cannot end its line early (an injected header).
        if _CONTROL.search(target + "".join(headers.values())):
            raise ApiError("INVALID_PARAM", "control characters in the request")
        lines = [f"{method} {target} HTTP/1.1\r\nHost: {self._host}\r\n"]
        for name, value in headers.items():
            lines.append(f"{name}: {value}\r\n")
        if body or method in WITH_BODY:
            lines.append(f"Content-Length: {len(body or b'')}\r\n")
        try:
            self.sock.sendall("".join(lines).encode("latin-1") + b"\r\n" + (body or b""))
        except BlockingIOError as exc:  # SO_SNDTIMEO ran out
            raise TimeoutError("the service took no more bytes in time") from exc

    def answer(self, method: str) -> _Answer:
        """The answer's status and headers (its body is read by `read_body` or `feed`)."""
        answer = _Answer()
        while not answer.headers_done:
            self.feed(answer)
        if method == "HEAD":  # no body follows, whatever Content-Length says
            answer.complete, answer.reusable = True, False
        return answer

    def feed(self, answer: _Answer) -> None:
        """The next bytes the service sent, to the answer's parser."""
        try:
            data = self.sock.recv(CHUNK)
        except BlockingIOError as exc:  # SO_RCVTIMEO ran out
            raise TimeoutError("the service sent nothing in time") from exc
        if not data:
            raise _Closed("the service closed the connection")
        answer.parser.feed_data(data)

    def read_body(self, answer: _Answer) -> bytes:
        while not answer.complete:
            self.feed(answer)
        return b"".join(answer.take())


# Methods whose request always states its body's length (an empty one included).
WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # all but the tab


class _Answer:
    """httptools' callbacks for one answer."""

    __slots__ = ("headers", "body", "headers_done", "complete", "reusable", "parser")

    def __init__(self):
        self.headers: list[tuple[str, str]] = []
        self.body: list[bytes] = []
        self.headers_done = self.complete = False
        self.reusable = False  # the answer's headers say (keep-alive, not HTTP/1.0 or close)
        self.parser = httptools.HttpResponseParser(self)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        self.headers_done = True
        # Asked now: once the answer is complete, llhttp has already reset for the next one.
        self.reusable = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True

    def take(self) -> list[bytes]:
        chunks, self.body = self.body, []
        return chunks


class _ConnectionPool:
    """Idle keep-alive connections to one service, the most recently used first.

    urllib3 cost 2.4 times http.client's CPU per request here, and http.client twice this
    (`_Connection`); this keeps only what the gateway needs: reuse, a check that an idle
    connection is still open, timeouts."""

    def __init__(self, host: str, port: int, size: int, connect_timeout: float, read_timeout):
        self._address = (host, port)
        self._host = f"{host}:{port}"
        self._size = size
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._idle: collections.deque = collections.deque()
        self._lock = threading.Lock()

    def get(self) -> tuple[_Connection, bool]:
        """A connection, and whether it was kept alive from an earlier request."""
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self._connect(), False
            if not _dropped(conn):
                return conn, True
            conn.close()

    def _connect(self) -> _Connection:
        try:
            sock = socket.create_connection(self._address, timeout=self._connect_timeout)
        except OSError as exc:
            raise _Unreachable(exc) from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # The read timeout is the kernel's (SO_RCVTIMEO, SO_SNDTIMEO) on a blocking socket: a
        # Python socket timeout polls before every send and receive, two system calls more.
        sock.settimeout(None)
        seconds = int(self._read_timeout)
        timeval = struct.pack("ll", seconds, int((self._read_timeout - seconds) * 1_000_000))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
        return _Connection(sock, self._host)

    def put(self, conn: _Connection) -> None:
        with self._lock:
            if len(self._idle) < self._size:
                self._idle.append(conn)
                return
        conn.close()


def _dropped(conn: _Connection) -> bool:
    """An idle connection that is readable was closed by the service (or holds stray bytes)."""
    if conn.sock is None:
        return True
    poller = select.poll()
    poller.register(conn.sock, select.POLLIN)
    return bool(poller.poll(0))


# What a failed exchange raises: the socket's errors (a timeout is one), the parser's.
EXCHANGE_ERRORS = (OSError, httptools.HttpParserError)


class HttpTransport:
    """Pooled keep-alive HTTP to the services; no retry of a POST that may have been sent."""

    def __init__(self, config):
        self._pools = {}
        for service, bind in config.service_binds:
            parts = urlsplit("http://" + bind)
            self._pools[service] = _ConnectionPool(
                parts.hostname, parts.port, config.upstream_pool_size,
                config.upstream_connect_timeout, config.upstream_read_timeout,
            )  # fmt: skip

    def request(self, service, method, target, headers, body) -> UpstreamResponse:
        pool = self._pools[service]
        for attempt in range(1, ATTEMPTS + 1):
            try:
                conn, reused = pool.get()
            except _Unreachable as exc:
                if attempt < ATTEMPTS:
                    continue
                log.warning("%s service unreachable: %s", service, exc)
                raise ApiError("SERVICE_UNAVAILABLE", f"the {service} service is unavailable")
            try:
                conn.send(method, target, headers, body)
                answer = conn.answer(method)
            except TimeoutError:
                conn.close()
                raise ApiError("UPSTREAM_TIMEOUT", f"the {service} service did not answer in time")
            except EXCHANGE_ERRORS as exc:
                conn.close()
                if reused and method in IDEMPOTENT and attempt < ATTEMPTS:
                    continue  # a kept-alive connection the service closed meanwhile
                log.warning("%s service failed: %s", service, exc)
                raise ApiError("SERVICE_UNAVAILABLE", f"the {service} service is unavailable")
            except ApiError:
                conn.close()
                raise
            return self._wrap(service, pool, conn, answer)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _wrap(service, pool, conn, answer) -> UpstreamResponse:
        status = answer.parser.get_status_code()
        length = next((v for k, v in answer.headers if k.lower() == "content-length"), None)
        headers = end_to_end_headers(answer.headers)
        if length is not None and length.isdigit() and int(length) <= BUFFER_LIMIT:
            try:
                body = conn.read_body(answer)
            except EXCHANGE_ERRORS:
                conn.close()
                raise ApiError("UPSTREAM_TIMEOUT", f"the {service} service stopped answering")
            _release(pool, conn, answer)
            return UpstreamResponse(status, headers, body)
        return UpstreamResponse(status, headers, None, _passthrough(pool, conn, answer))


def _release(pool, conn, answer) -> None:
    if answer.complete and answer.reusable:
        pool.put(conn)
    else:
        conn.close()


def _passthrough(pool, conn, answer) -> Iterator[bytes]:
    finished = False
    try:
        while True:
            chunks = answer.take()
            if chunks:
                yield b"".join(chunks)
            if answer.complete:
                break
            conn.feed(answer)
        finished = True
    finally:
        if finished:
            _release(pool, conn, answer)
        else:  # the client went away, or the service stopped mid-answer
            conn.close()


class InProcessTransport:
    """Calls the services' WSGI apps in this process: the same code path, no sockets (tests)."""

    def __init__(self, apps: dict[str, object]):
        self._apps = apps

    def request(self, service, method, target, headers, body) -> UpstreamResponse:
        app = self._apps.get(service)
        if app is None:
            raise ApiError("SERVICE_UNAVAILABLE", f"the {service} service is unavailable")
        path, _, query = target.partition("?")

        environ = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path).encode().decode("latin-1"),
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_LENGTH": str(len(body or b"")),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body or b""),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in headers.items():
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = value
            else:
                environ["HTTP_" + key] = value
        started = {}

        def start_response(status, response_headers, exc_info=None):
            started["status"] = int(status.split(" ", 1)[0])
            started["headers"] = response_headers

        chunks = app(environ, start_response)
        try:
            data = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        return UpstreamResponse(started["status"], end_to_end_headers(started["headers"]), data)
