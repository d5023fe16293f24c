"""The one exception type of the API, carrying a contract error code (CONTRACT.md §2)."""

from __future__ import annotations

# HTTP status of each code in API_ERROR_STATUS=rest (compat answers 200 for everything).
REST_STATUS = {
    "LOGIN_REQUIRED": 401, "SESSION_EXPIRED": 401, "INVALID_CREDENTIALS": 401,
    "NOT_AUTHORIZED": 403, "PERMISSION_DENIED": 403, "API_DISABLED": 403,
    "NOT_FOUND": 404, "METHOD_NOT_ALLOWED": 405, "ALREADY_EXISTS": 409,
    "REQUEST_TOO_LARGE": 413, "NOT_ALLOWED": 422, "TOO_MANY_REQUESTS": 429,
    "SERVICE_UNAVAILABLE": 503, "UPSTREAM_TIMEOUT": 504, "DATABASE_UNAVAILABLE": 503,
    "INTERNAL_ERROR": 500,
}  # fmt: skip


def rest_status(code: str) -> int:
    """The real HTTP status for a (possibly comma-joined) error code."""
    first = code.split(",", 1)[0]
    if first in REST_STATUS:
        return REST_STATUS[first]
    if first.startswith("NO_SUCH_"):
        return 404
    if first.startswith(("EXCEEDED_", "EXCEED_", "PW_")):
        return 422
    return 400


class ApiError(Exception):
    """A failure the client is told about: `{"_success": false, "_msg": code, "_detail": …}`."""

    def __init__(self, code: str, detail: str | None = None, headers: dict | None = None):
        super().__init__(code)
        self.code = code
        self.detail = detail
        self.headers = headers or {}
