"""Keyset paging of list answers (CONTRACT.md §5): `limit`, opaque `cursor`, `search`, and
`_total` on request (`total=yes`), `_next`.

A page is `WHERE key > last ORDER BY key LIMIT n` on an indexed key, so it costs the same at
row 100 as at row 1,000,000. `search=<text>` matches the start of the key (the address or
domain name) or of the name, case-insensitively, each side an index range, so a search page
costs the same in a domain of 1,000 accounts as in one of 1,000,000 (docs/architecture.md,
"Search"). Counting is a scan of every match, so `_total` is answered only when asked for.
"""

from __future__ import annotations

import base64
import binascii
import functools
import operator
import sys

import peewee

from shared.db import backend, unindexed
from shared.errors import ApiError
from shared.params import Params

MAX_PAGE = 1000


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        key = None
    if key is None or "\x00" in key:  # a key this API gave holds no NUL (PostgreSQL refuses one)
        raise ApiError("INVALID_PARAM", "cursor is not one this API gave")
    return key


def wants_page(params: Params) -> bool:
    return "limit" in params or "cursor" in params


def search_text(params: Params, key_field) -> str:
    """The search, lower case; INVALID_PARAM when it could never fit the key's column (too wide,
    a NUL character)."""
    return (params.get_str("search", column=key_field) or "").lower()


def _like_literal(text: str) -> str:
    """`text` as a MySQL LIKE pattern that matches only itself (backslash is LIKE's escape)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _successor(text: str) -> str | None:
    """The least string above every string that starts with `text`; None when there is none
    (`text` is only U+10FFFF characters)."""
    stem = text.rstrip(chr(sys.maxunicode))
    return stem[:-1] + chr(ord(stem[-1]) + 1) if stem else None


def starts_with(field, text: str, lowered: bool, indexed: bool = True):
    """`field` starts with `text` (lower case), as a range of an index on the column (`lowered`:
    an index on LOWER(column), for names, which keep their case). MySQL compares without case
    in its collation and serves `LIKE 'text%'` from the column's index. `indexed=False`: the
    same test where no index can serve it (SQLite, `_walked_matches`)."""
    if backend(field.model._meta.database) == "mysql":
        return field ** (_like_literal(text) + "%")
    column = peewee.fn.LOWER(field) if lowered else field
    if not indexed:
        column = unindexed(column)
    above = _successor(text)
    return (column >= text) & (column < above) if above is not None else column >= text


def in_domain(field, domain: str, params: Params):
    """`field = domain` for a list. For a page on MySQL, `LIKE` (no wildcard in a domain name):
    MySQL reads `=` on its `domain` index as a `ref` that walks the domain from its first row
    to the cursor (a page at the middle of a million accounts took 120 ms), `LIKE` is a range
    that seeks to the cursor through the index's hidden primary key. A whole list keeps `=`
    (an ordered walk; with `LIKE` MariaDB sorted a million rows before the first one)."""
    if wants_page(params) and backend(field.model._meta.database) == "mysql":
        return field ** _like_literal(domain)
    return field == domain


def search_conditions(fields, text: str) -> list:
    """One condition per searched field: the key (stored in lower case), then the name."""
    key, *names = fields
    return [starts_with(key, text, False)] + [starts_with(name, text, True) for name in names]


def _any(conditions: list):
    """The conditions joined by OR."""
    return functools.reduce(operator.or_, conditions)


def searched(query, fields, params: Params):
    """The whole filtered list (streamed answers): every row any search condition matches."""
    text = search_text(params, fields[0])
    if not text:
        return query
    return query.where(_any(search_conditions(fields, text)))


def page(query, fields, params: Params, to_json) -> tuple[list, dict]:
    """One page of `query` ordered by its key `fields[0]`, searched in `fields`, and the
    `_total` (with `total=yes`) and `_next` extras."""
    return merged_page([(query, fields)], params, to_json)


def merged_page(sides, params: Params, to_json) -> tuple[list, dict]:
    """One page of several `(query, fields)` lists whose keys share one order (admins:
    standalone rows and admin mailboxes), merged by key, with `_total` and `_next`."""
    limit = params.get_int("limit", 100, minimum=1, maximum=MAX_PAGE)
    cursor = params.get_str("cursor")
    after = decode_cursor(cursor) if cursor else None
    rows = keyset_rows(sides, search_text(params, sides[0][1][0]), after, limit)
    extra = {}
    if params.get_bool("total", False):
        extra["_total"] = sum(
            searched(query, fields, params).order_by().count() for query, fields in sides
        )
    if len(rows) == limit:
        extra["_next"] = encode_cursor(rows[-1][sides[0][1][0].name])
    return [to_json(row) for row in rows], extra


def keyset_rows(sides, text: str, after: str | None, limit: int) -> list[dict]:
    """The first `limit` rows after the key `after` of every side, searched for `text`.

    With a search, each condition is its own keyset query (an OR would defeat the indexes)
    and the page is the first `limit` keys of what they found."""
    rows = []
    for query, fields in sides:
        key = fields[0]
        if after is not None:
            query = query.where(key > after)
        if text:
            # Each side's first `limit` keys; then the first `limit` of them in the database's
            # own order (its collation decides what `key > cursor` means).
            found = set()
            walked = _walked_matches(query, fields, text, limit)
            conditions = search_conditions(fields, text)
            if walked is not None:
                found.update(walked)
                conditions = conditions[:1]  # the names are answered by the walk
            for condition in conditions:
                part = query.where(condition).order_by(key).limit(limit)
                found.update(row[0] for row in part.select(key).tuples())
            query = (
                query.where(key.in_(sorted(found))) if found else query.where(peewee.SQL("1 = 0"))
            )
        rows.extend(query.order_by(key).limit(limit).dicts())
    if len(sides) > 1:
        name = sides[0][1][0].name  # every side's key has this name
        rows.sort(key=lambda row: row[name])
    return rows[:limit]


# How many keys ahead of the cursor a SQLite name search first walks, per row of the page.
WALK_PER_ROW = 10


def _walked_matches(query, fields, text: str, limit: int) -> list | None:
    """SQLite only: the first `limit` keys whose name starts with `text`, found by walking the
    next `limit * WALK_PER_ROW` keys in key order; None when that walk found fewer and more
    keys follow (then the name index answers). SQLite has no statistics of a range's size, so it
    always reads the name index's range and sorts every match by key: a name start most of a
    big domain shares (`u`, every "User …") took 261 ms at 1,000,000 mailboxes against 4 ms at
    1,000. PostgreSQL and MariaDB choose the walk themselves."""
    key, *names = fields
    if not names or backend(key.model._meta.database) != "sqlite":
        return None
    walk = limit * WALK_PER_ROW
    ahead = query.order_by(key).limit(1).offset(walk - 1).select(key).tuples()
    last = next(iter(ahead), (None,))[0]  # the walk's last key (None: the rest is shorter)
    bounded = query.where(_any([starts_with(name, text, True, indexed=False) for name in names]))
    if last is not None:
        bounded = bounded.where(key <= last)
    keys = [row[0] for row in bounded.order_by(key).limit(limit).select(key).tuples()]
    return keys if len(keys) == limit or last is None else None


def merged_stream(sides, params: Params):
    """Every row of several lists in key order, read MAX_PAGE rows at a time (flat memory)."""
    text = search_text(params, sides[0][1][0])
    name = sides[0][1][0].name
    after = None
    while True:
        rows = keyset_rows(sides, text, after, MAX_PAGE)
        yield from rows
        if len(rows) < MAX_PAGE:
            return
        after = rows[-1][name]


def filter_list(query, params: Params, active_field):
    """The list filters every list GET shares: `disabled_only=yes`, `status=active|disabled`."""
    status = params.get_str("status")
    if params.get_bool("disabled_only", False) or status == "disabled":
        query = query.where(unindexed(active_field) == 0)
    elif status == "active":
        query = query.where(unindexed(active_field) == 1)
    elif status:
        raise ApiError("INVALID_PARAM", "status must be active or disabled")
    return query
