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


# Every code the API answers (the OpenAPI document lists them; a test checks the code raises
# no other).
ERROR_CODES = frozenset(REST_STATUS) | {
    "MISSING_PARAM", "INVALID_PARAM", "INVALID_NUMBER", "MALFORMED_BODY", "INVALID_MAIL",
    "INVALID_DOMAIN_NAME", "INVALID_TRANSPORT", "INVALID_SERVICE", "INVALID_PASSWORD_SCHEME",
    "INVALID_ACCESS_POLICY", "INVALID_LANGUAGE", "DOMAIN_NAME_MISMATCH", "CAN_NOT_BE_LOCAL_DOMAIN",
    "NO_SUCH_ACCOUNT", "NO_SUCH_DOMAIN", "NO_SUCH_ADMIN", "NO_SUCH_ALIAS", "NO_SUCH_API_KEY",
    "EXCEEDED_DOMAIN_ACCOUNT_LIMIT", "EXCEEDED_DOMAIN_ALIAS_LIMIT", "EXCEEDED_DOMAIN_LIST_LIMIT",
    "EXCEEDED_DOMAIN_QUOTA_SIZE", "EXCEEDED_MAX_USER_QUOTA", "EXCEED_LIMIT_DOMAIN",
    "EXCEED_LIMIT_QUOTA", "EXCEED_LIMIT_USERS", "EXCEED_LIMIT_ALIASES", "EXCEED_LIMIT_LISTS",
    "PW_EMPTY", "PW_GREATER_THAN_MAX_LENGTH", "PW_NON_ASCII", "PW_NO_DIGIT_NUMBER",
    "PW_NO_LETTER", "PW_NO_SPECIAL_CHAR", "PW_NO_UPPERCASE", "PW_SHORTER_THAN_MIN_LENGTH",
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
