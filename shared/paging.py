"""Keyset paging of list answers (CONTRACT.md §5): `limit`, opaque `cursor`, `_total`, `_next`.

A page is `WHERE key > last ORDER BY key LIMIT n` on an indexed key, so it costs the same at
row 100 as at row 1,000,000.
"""

from __future__ import annotations

import base64
import binascii

from shared.db import unindexed
from shared.errors import ApiError
from shared.params import Params

MAX_PAGE = 1000


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ApiError("INVALID_PARAM", "cursor is not one this API gave") from None


def wants_page(params: Params) -> bool:
    return "limit" in params or "cursor" in params


def page(query, key_field, params: Params, to_json) -> tuple[list, dict]:
    """One page of `query` ordered by `key_field`, and the `_total`/`_next` extras."""
    limit = params.get_int("limit", 100, minimum=1, maximum=MAX_PAGE)
    total = query.order_by().count()
    cursor = params.get_str("cursor")
    if cursor:
        query = query.where(key_field > decode_cursor(cursor))
    rows = list(query.order_by(key_field).limit(limit).dicts())
    extra = {"_total": total}
    if len(rows) == limit:
        extra["_next"] = encode_cursor(rows[-1][key_field.name])
    return [to_json(row) for row in rows], extra


def filter_list(query, params: Params, active_field, search_fields):
    """The list filters every list GET shares: `disabled_only=yes`, `status=active|disabled`, and
    `search` (a substring of any of `search_fields`, case-insensitive)."""
    status = params.get_str("status")
    if params.get_bool("disabled_only", False) or status == "disabled":
        query = query.where(unindexed(active_field) == 0)
    elif status == "active":
        query = query.where(unindexed(active_field) == 1)
    elif status:
        raise ApiError("INVALID_PARAM", "status must be active or disabled")
    search = params.get_str("search")
    if search:
        pattern = "%" + search.lower().replace("\\", "").replace("%", "").replace("_", "") + "%"
        matches = [field**pattern for field in search_fields]
        condition = matches[0]
        for match in matches[1:]:
            condition = condition | match
        query = query.where(condition)
    return query
