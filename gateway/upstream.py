"""How the gateway reaches the services: one interface, two transports.

`HttpTransport` is the production one (pooled keep-alive urllib3); `InProcessTransport` calls the
service WSGI apps directly, for tests. Both answer an `UpstreamResponse` or raise ApiError
(`SERVICE_UNAVAILABLE`, `UPSTREAM_TIMEOUT`).
"""

from __future__ import annotations

import dataclasses
import io
import logging
import sys
from collections.abc import Iterable, Iterator
from urllib.parse import unquote, urlsplit

import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import MaxRetryError, ReadTimeoutError

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


@dataclasses.dataclass
class UpstreamResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes | None  # set when the whole body was read
    stream: Iterable[bytes] | None = None  # otherwise, chunks to pass through


def end_to_end_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]


class HttpTransport:
    """Pooled keep-alive HTTP to the services; no retry of a POST that may have been sent."""

    def __init__(self, config):
        timeout = urllib3.Timeout(
            connect=config.upstream_connect_timeout, read=config.upstream_read_timeout
        )
        self._pools = {}
        for service, bind in config.service_binds:
            parts = urlsplit("http://" + bind)
            self._pools[service] = urllib3.HTTPConnectionPool(
                parts.hostname,
                parts.port,
                maxsize=config.upstream_pool_size,
                block=False,
                timeout=timeout,
            )
        # Connection failures are retried for every method (nothing was sent); a dropped
        # keep-alive connection only for idempotent methods.
        self._retries = urllib3.Retry(
            total=2, connect=2, read=1, status=0, other=0, redirect=0,
            allowed_methods=IDEMPOTENT, raise_on_status=False,
        )  # fmt: skip

    def request(self, service, method, target, headers, body) -> UpstreamResponse:
        pool = self._pools[service]
        try:
            response = pool.urlopen(
                method,
                target,
                body=body or None,
                headers=headers,
                retries=self._retries,
                redirect=False,
                preload_content=False,
                assert_same_host=False,
            )
        except ReadTimeoutError:
            raise ApiError("UPSTREAM_TIMEOUT", f"the {service} service did not answer in time")
        except MaxRetryError as exc:
            if isinstance(exc.reason, ReadTimeoutError):
                raise ApiError("UPSTREAM_TIMEOUT", f"the {service} service did not answer in time")
            log.warning("%s service unreachable: %s", service, exc.reason)
            raise ApiError("SERVICE_UNAVAILABLE", f"the {service} service is unavailable")
        except Urllib3Error as exc:
            log.warning("%s service failed: %s", service, exc)
            raise ApiError("SERVICE_UNAVAILABLE", f"the {service} service is unavailable")
        return self._wrap(service, response)

    @staticmethod
    def _wrap(service, response) -> UpstreamResponse:
        headers = end_to_end_headers(response.headers.items())
        length = response.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) <= BUFFER_LIMIT:
            try:
                body = response.read()
            except Urllib3Error:
                raise ApiError("UPSTREAM_TIMEOUT", f"the {service} service stopped answering")
            finally:
                response.release_conn()
            return UpstreamResponse(response.status, headers, body)
        return UpstreamResponse(response.status, headers, None, _passthrough(response))


def _passthrough(response) -> Iterator[bytes]:
    try:
        yield from response.stream(CHUNK)
    finally:
        response.release_conn()


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
