"""The client of mlmmjadmin, the HTTP API on the mail server that makes and changes mlmmj's
list files (CONTRACT §4.9, spec greylisting-mlmmj.md §2.3).

One pooled urllib3 client per process, with the connect and read time-outs of the services'
upstream calls and no retries: a create must never be sent twice (a repeated create silently
resets the list's owners). Forms go as `application/x-www-form-urlencoded`, a DELETE's in the
query string, as mlmmjadmin reads them. Its answers become the API's codes: a missing list
`NO_SUCH_ACCOUNT`, `INVALID_EMAIL` `INVALID_MAIL`, `INVALID_PARAM_TYPE` `INVALID_PARAM`, and
anything else it refuses with (a server-side fault: `SKEL_DIR_NOT_EXIST`,
`SUB_COMMAND_NOT_FOUND`, an auth-token error) or cannot be reached `SERVICE_UNAVAILABLE` with
the cause in `_detail`; a time-out is `UPSTREAM_TIMEOUT`.
"""

from __future__ import annotations

import contextvars
import json
import logging
import urllib.parse

import urllib3

from shared.errors import ApiError

log = logging.getLogger("mailapi.mlmmjadmin")

# mlmmjadmin's refusals that are the client's own mistake, as the API's codes.
CLIENT_CODES = {
    "NO_SUCH_ACCOUNT": "NO_SUCH_ACCOUNT",
    "INVALID_EMAIL": "INVALID_MAIL",
    "INVALID_PARAM_TYPE": "INVALID_PARAM",
}


class Mlmmjadmin:
    def __init__(self, config):
        self._base = config.mlmmjadmin_api_base_url.rstrip("/")
        self._headers = {config.mlmmjadmin_api_auth_header: config.mlmmjadmin_api_auth_token}
        self._pool = urllib3.PoolManager(
            num_pools=2,
            maxsize=config.upstream_pool_size,
            timeout=urllib3.Timeout(
                connect=config.upstream_connect_timeout, read=config.upstream_read_timeout
            ),
            retries=False,
            cert_reqs="CERT_REQUIRED" if config.mlmmjadmin_api_verify_ssl else "CERT_NONE",
        )

    def call(self, method: str, path: str, fields: dict[str, str] | None = None):
        """mlmmjadmin's `_data` for `method /api/<path>` (None when it answers none)."""
        url = f"{self._base}/{urllib.parse.quote(path, safe='@/+')}"
        fields = {k: v for k, v in (fields or {}).items() if v is not None}
        if method in ("GET", "DELETE"):
            kwargs = {"fields": fields}
        else:
            kwargs = {"body": urllib.parse.urlencode(fields), "headers": {
                **self._headers, "Content-Type": "application/x-www-form-urlencoded"}}  # fmt: skip
        kwargs.setdefault("headers", self._headers)
        try:
            response = self._pool.request(method, url, **kwargs)
        except urllib3.exceptions.NewConnectionError as exc:  # a kind of ConnectTimeoutError
            raise ApiError("SERVICE_UNAVAILABLE", f"mlmmjadmin unreachable: {exc}") from None
        except urllib3.exceptions.TimeoutError as exc:
            raise ApiError("UPSTREAM_TIMEOUT", f"mlmmjadmin: {exc}") from None
        except urllib3.exceptions.HTTPError as exc:
            raise ApiError("SERVICE_UNAVAILABLE", f"mlmmjadmin unreachable: {exc}") from None
        try:
            reply = json.loads(response.data)
            success = reply["_success"]
        except (ValueError, TypeError, KeyError):
            detail = f"mlmmjadmin answered HTTP {response.status}: {response.data[:200]!r}"
            raise ApiError("SERVICE_UNAVAILABLE", detail) from None
        if success is True:
            return reply.get("_data")
        code = str(reply.get("_msg", ""))
        if code in CLIENT_CODES:
            raise ApiError(CLIENT_CODES[code], f"mlmmjadmin: {code}")
        log.warning("mlmmjadmin refused %s %s: %s", method, path, code)
        raise ApiError("SERVICE_UNAVAILABLE", f"mlmmjadmin refused: {code[:200]}")


# The client of the app serving the current request (the tests run several apps, with different
# settings, in one process; a deployed process has one).
_current: contextvars.ContextVar[Mlmmjadmin | None] = contextvars.ContextVar("mlmmjadmin")


class ClientMiddleware:
    """A service's middleware: its mlmmjadmin client for the request's rules and cascades."""

    def __init__(self, config):
        self._client = Mlmmjadmin(config)

    def process_request(self, req, resp):
        _current.set(self._client)


def client() -> Mlmmjadmin:
    found = _current.get(None)
    if found is None:
        raise ApiError("SERVICE_UNAVAILABLE", "mlmmjadmin is not configured")
    return found
