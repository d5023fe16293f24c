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

import falcon
from gunicorn import util
from gunicorn.http import errors as http_errors
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


def error_response(code: str, mode: str, detail: str | None = None) -> bytes:
    """A complete HTTP/1.1 answer carrying the envelope; the connection is closed after it."""
    status = falcon.code_to_http_status(rest_status(code) if mode == "rest" else 200)
    body = failure_body(code, detail)
    head = (
        f"HTTP/1.1 {status}\r\nConnection: close\r\n"
        f"Content-Type: application/json; charset=utf-8\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class ApiWorker(ThreadWorker):
    def init_process(self):
        config = Config.from_env()
        self._error_mode = config.api_error_status
        BoundedRequest.max_line = config.api_max_body_bytes + PATH_ROOM
        # gunicorn builds every HTTP/1 request through this class attribute (its uwsgi parser
        # sets its own the same way); set here, after the fork, it is this worker's alone.
        RequestParser.mesg_class = BoundedRequest
        super().init_process()

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
