"""The gunicorn worker of every process (`gunicorn.conf.py`): gunicorn's threaded worker with two
changes, so that what gunicorn refuses before the app sees a request still speaks the API.

- Request lines as long as bodies (`API_MAX_BODY_BYTES`, plus room for the path): one known
  client sends every PUT parameter in the query string. gunicorn caps a request line at 8,190
  bytes unless the limit is 0, which means none at all; with 0 in `gunicorn.conf.py` the line
  is bounded here instead.
- The JSON envelope, not gunicorn's HTML page, for a request it cannot parse (`REQUEST_TOO_LARGE`
  for a request line or headers too long, `MALFORMED_BODY` for anything else malformed) and for
  a failure outside the app (`INTERNAL_ERROR`), with the status `API_ERROR_STATUS` asks for.
"""

from __future__ import annotations

import select

import falcon
from gunicorn import util
from gunicorn.http import errors as http_errors
from gunicorn.http import wsgi
from gunicorn.http.message import Request
from gunicorn.http.parser import RequestParser
from gunicorn.workers.gthread import ThreadWorker

from shared.config import Config
from shared.envelope import failure_body
from shared.errors import rest_status

PATH_ROOM = 8 * 1024  # the request line holds a path of up to 8 KiB beside the query string
TOO_LARGE = (http_errors.LimitRequestLine, http_errors.LimitRequestHeaders)
# Parse errors that are the server's fault, not the client's.
SERVER_FAULTS = (
    http_errors.InvalidResponseHeader,
    http_errors.InvalidResponseHeaderName,
    http_errors.ConfigurationProblem,
)


class BoundedRequest(Request):
    """gunicorn's request whose unlimited (0) request line is bounded at `max_line` bytes."""

    max_line = 1024 * 1024 + PATH_ROOM

    def read_line(self, unreader, buf, limit=0):
        return super().read_line(unreader, buf, limit or self.max_line)


class OneWriteResponse(wsgi.Response):
    """gunicorn's response whose head goes out with the first body bytes, in one send: gunicorn
    sends the head, then each body chunk, so every answer took two system calls, and a reader
    (the gateway) could wake for the head alone."""

    _head = b""

    def send_headers(self):
        if self.headers_sent:
            return
        head = self.default_headers()
        head.extend(f"{name}: {value}\r\n" for name, value in self.headers)
        self._head = ("".join(head) + "\r\n").encode("latin-1")
        self.headers_sent = True

    def _flush_head(self):
        head, self._head = self._head, b""
        if head:
            util.write(self.sock, head)

    def _emit_body(self, data):
        if self.chunked or not self._head:
            self._flush_head()
            return super()._emit_body(data)
        head, self._head = self._head, b""
        util.write(self.sock, head + data)

    def sendfile(self, respiter):  # the apps never answer a file: written as bytes instead
        return False

    def close(self):
        self.send_headers()
        self._flush_head()
        super().close()


def error_response(code: str, mode: str, detail: str | None = None) -> bytes:
    """A complete HTTP/1.1 answer carrying the envelope; the connection is closed after it."""
    status = falcon.code_to_http_status(rest_status(code) if mode == "rest" else 200)
    body = failure_body(code, detail)
    head = (
        f"HTTP/1.1 {status}\r\nConnection: close\r\n"
        f"Content-Type: application/json; charset=utf-8\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


# How long a thread that answered a kept-alive connection waits on it for the next request before
# handing it back to the worker's poller (see ApiWorker.handle).
HOLD_SECONDS = 0.005


class ApiWorker(ThreadWorker):
    def init_process(self):
        config = Config.from_env()
        self._error_mode = config.api_error_status
        BoundedRequest.max_line = config.api_max_body_bytes + PATH_ROOM
        # gunicorn builds every HTTP/1 request through this class attribute (its uwsgi parser
        # sets its own the same way); set here, after the fork, it is this worker's alone.
        RequestParser.mesg_class = BoundedRequest
        # gthread builds every answer through this module name (it passes no class of its own).
        wsgi.Response = OneWriteResponse
        super().init_process()

    def handle(self, conn):
        """gunicorn's handling of one request, then of the connection's next ones while they come
        quickly. gthread hands every kept-alive connection back to its main thread's poller after
        each answer, which submits the next request to a pool thread again: per request two thread
        wake-ups, a pipe write and four system calls more (in the gateway, about 0.2 ms of CPU and
        half of the kernel time measured). A client in a burst (the gateway's pooled connections,
        a script's loop) sends its next request at once; the thread that answered waits a few
        milliseconds for it, and only when no other connection waits for a thread."""
        keep = super().handle(conn)
        while keep is True and self.alive and self._next_request_comes(conn):
            keep = super().handle(conn)
        return keep

    def _next_request_comes(self, conn) -> bool:
        if conn.parser.unreader.buf.getvalue():  # read ahead with the last body
            return True
        if self.tpool._work_queue.qsize():  # another connection waits for a thread
            return False
        poller = select.poll()
        poller.register(conn.sock, select.POLLIN)
        return bool(poller.poll(HOLD_SECONDS * 1000))

    def handle_error(self, req, client, addr, exc):
        if isinstance(exc, SERVER_FAULTS):
            code, detail = "INTERNAL_ERROR", None
        elif isinstance(exc, TOO_LARGE):
            code, detail = "REQUEST_TOO_LARGE", "the request line or headers are too long"
        elif isinstance(exc, http_errors.ParseException):
            code, detail = "MALFORMED_BODY", "the HTTP request cannot be parsed"
        else:
            code, detail = "INTERNAL_ERROR", None
        if code == "INTERNAL_ERROR":
            self.log.error("Error handling request", exc_info=exc)
        else:
            self.log.warning("Invalid request from %s: %s", (addr or ("",))[0], exc)
        try:
            util.write_nonblock(client, error_response(code, self._error_mode, detail))
        except OSError:
            self.log.debug("Failed to send the error answer.")
