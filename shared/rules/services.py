"""Mail service switches of a mailbox (CONTRACT.md §4.3 `services`)."""

from __future__ import annotations

from shared.errors import ApiError

# A plain name switches its `secured` and `tls` columns with it; a variant only its own column;
# smtptls and managesievetls are accepted and change nothing (the schema has no such column).
SERVICE_COLUMNS: dict[str, tuple[str, ...]] = {
    "smtp": ("enablesmtp", "enablesmtpsecured"),
    "smtpsecured": ("enablesmtpsecured",),
    "smtptls": (),
    "pop3": ("enablepop3", "enablepop3secured", "enablepop3tls"),
    "pop3secured": ("enablepop3secured",),
    "pop3tls": ("enablepop3tls",),
    "imap": ("enableimap", "enableimapsecured", "enableimaptls"),
    "imapsecured": ("enableimapsecured",),
    "imaptls": ("enableimaptls",),
    "managesieve": ("enablemanagesieve", "enablemanagesievesecured"),
    "managesievesecured": ("enablemanagesievesecured",),
    "managesievetls": (),
    "sieve": ("enablesieve", "enablesievesecured", "enablesievetls"),
    "sievesecured": ("enablesievesecured",),
    "sievetls": ("enablesievetls",),
    "deliver": ("enabledeliver",),
    "lda": ("enablelda",),
    "lmtp": ("enablelmtp",),
    "sogo": ("enablesogo",),
}
USER_FACING_COLUMNS = tuple(sorted({c for cols in SERVICE_COLUMNS.values() for c in cols}))


def columns_of(names) -> set[str]:
    columns: set[str] = set()
    for name in names:
        if name not in SERVICE_COLUMNS:
            raise ApiError("INVALID_SERVICE", name)
        columns.update(SERVICE_COLUMNS[name])
    return columns


def service_flags(replace=None, add=(), remove=()) -> dict[str, int]:
    """Column → 0/1 for a `services` replace-all list or an add/remove pair."""
    flags: dict[str, int] = {}
    if replace is not None:
        flags = dict.fromkeys(USER_FACING_COLUMNS, 0)
        flags.update(dict.fromkeys(columns_of(replace), 1))
        return flags
    flags.update(dict.fromkeys(columns_of(add), 1))
    flags.update(dict.fromkeys(columns_of(remove), 0))
    return flags


def model_field_names(flags: dict[str, int]) -> dict[str, int]:
    """Column names with '-' are peewee fields with '_'."""
    return {column.replace("-", "_"): value for column, value in flags.items()}
