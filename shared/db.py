"""The three databases behind proxies, and how a URL becomes a pooled database."""

from __future__ import annotations

from urllib.parse import urlparse

import peewee
from playhouse import db_url
from playhouse.pool import PooledMySQLDatabase, PooledSqliteDatabase

vmail_db = peewee.DatabaseProxy()
iredapd_db = peewee.DatabaseProxy()
iredadmin_db = peewee.DatabaseProxy()

DATABASES = {"vmail": vmail_db, "iredapd": iredapd_db, "iredadmin": iredadmin_db}

# Column types that differ between the backends (see shared/models/fields.py).
MYSQL_FIELD_TYPES = {
    "ASCII255": "VARCHAR(255) CHARACTER SET ascii",
    "BIGAUTO_UNSIGNED": "BIGINT UNSIGNED AUTO_INCREMENT",
}
SQLITE_FIELD_TYPES = {"ASCII255": "VARCHAR(255)", "BIGAUTO_UNSIGNED": "INTEGER"}

SQLITE_BUSY_TIMEOUT_MS = 10_000


def is_mysql(database) -> bool:
    db = database.obj if isinstance(database, peewee.DatabaseProxy) else database
    return isinstance(db, peewee.MySQLDatabase)


def open_database(url: str, pool_size: int = 8, pool_timeout: int = 10) -> peewee.Database:
    """A pooled peewee database for a `sqlite:///path` or `mysql[+pool]://…` URL.

    Nothing connects here: connections are made on first use, after gunicorn forks.
    """
    scheme = urlparse(url).scheme
    params = db_url.parse(url, unquote_password=True, unquote_user=True)
    database = params.pop("database")
    pool = {
        "max_connections": params.pop("max_connections", pool_size),
        "timeout": params.pop("timeout", pool_timeout),
        "stale_timeout": params.pop("stale_timeout", 300),
    }
    if scheme in ("sqlite", "sqlite+pool"):
        return PooledSqliteDatabase(
            database,
            pragmas={
                "journal_mode": "wal",
                "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,
                "synchronous": "normal",
            },
            check_same_thread=False,
            field_types=SQLITE_FIELD_TYPES,
            # Writers take the write lock at BEGIN: a transaction that read (a limit, a free
            # address) can then never fail to upgrade, it waits for busy_timeout instead.
            lock_type="IMMEDIATE",
            **pool,
            **params,
        )
    if scheme in ("mysql", "mysql+pool"):
        if "password" in params:
            params["passwd"] = params.pop("password")
        params.setdefault("charset", "utf8mb4")
        params.setdefault("connect_timeout", 5)
        # DATETIME and TIMESTAMP values are written and read as UTC.
        params.setdefault("init_command", "SET time_zone = '+00:00'")
        return PooledMySQLDatabase(database, field_types=MYSQL_FIELD_TYPES, **pool, **params)
    raise ValueError(f"unsupported database URL scheme {scheme!r} (use sqlite:/// or mysql://)")


def bind_databases(config) -> None:
    """Point the three proxies at the configured databases (kept when already bound there)."""
    urls = {
        "vmail": config.vmail_db_url,
        "iredapd": config.iredapd_db_url,
        "iredadmin": config.iredadmin_db_url,
    }
    for name, proxy in DATABASES.items():
        if getattr(proxy.obj, "mailapi_url", None) == urls[name]:
            continue
        database = open_database(urls[name], config.db_pool_size, config.db_pool_timeout)
        database.mailapi_url = urls[name]
        proxy.initialize(database)


def release_connections() -> None:
    """Return this thread's connections to their pools (called after every request)."""
    for proxy in DATABASES.values():
        if proxy.obj is not None and not proxy.is_closed():
            proxy.close()


def sql_concat(*parts):
    """String concatenation in the bound backend's dialect (CONCAT() on MySQL, || on SQLite)."""
    if is_mysql(vmail_db):
        return peewee.fn.CONCAT(*parts)
    return peewee.NodeList(parts, glue=" || ", parens=True)


def lock_for_update(query):
    """`SELECT … FOR UPDATE` on MySQL; SQLite's write transaction already serialises writers."""
    return query.for_update() if is_mysql(query.model._meta.database) else query


class PreparedQuery:
    """A peewee query compiled once per database, then run with fresh parameters.

    On the hot path (every request's session and admin lookups) building the SQL costs more
    than running it, so the query is built once with placeholder markers and later only its
    parameters change. `build(**markers)` must return the query.
    """

    def __init__(self, build, *names: str):
        self._build = build
        self._names = names
        self._compiled: dict[object, tuple[str, list]] = {}

    @staticmethod
    def _marker(name: str) -> str:
        return f"\x00{name}\x00"

    def _compile(self, database) -> tuple[str, list]:
        compiled = self._compiled.get(database)
        if compiled is None:
            query = self._build(**{name: self._marker(name) for name in self._names})
            compiled = self._compiled[database] = query.sql()
        return compiled

    def rows(self, proxy: peewee.DatabaseProxy, **values) -> list[tuple]:
        database = proxy.obj
        sql, template = self._compile(database)
        markers = {self._marker(name): value for name, value in values.items()}
        params = [markers.get(p, p) if isinstance(p, str) else p for p in template]
        return list(database.execute_sql(sql, params).fetchall())


def stream_rows(query, batch: int = 500):
    """Yield a query's rows as dicts, on a connection of its own, from a server-side cursor.

    Used for list answers that are streamed after the responder returned (and after the
    per-request connection went back to its pool): memory stays flat however many rows.
    """
    proxy = query.model._meta.database
    database = proxy.obj
    sql, params = query.sql()
    converters = [getattr(column, "python_value", None) for column in query._returning]
    with database.connection_context():
        if is_mysql(database):
            import pymysql.cursors

            cursor = database.connection().cursor(pymysql.cursors.SSCursor)
            cursor.execute(sql, params)
        else:
            cursor = database.execute_sql(sql, params)
        try:
            names = [description[0] for description in cursor.description]
            while True:
                rows = cursor.fetchmany(batch)
                if not rows:
                    break
                for row in rows:
                    yield {
                        name: convert(value) if convert and value is not None else value
                        for name, convert, value in zip(names, converters, row, strict=True)
                    }
        finally:
            cursor.close()


def unindexed(field):
    """`+column`: the column as an expression no index can serve.

    For a low-cardinality flag (`is_forwarding`, `active`) next to a selective indexed condition:
    SQLite without statistics would otherwise pick the flag's index and walk every account.
    """
    return peewee.NodeList((peewee.SQL("+"), field), glue="")


def insert_rows(model, fields: tuple, rows) -> None:
    """Insert many rows with the driver's executemany, the statement written once.

    peewee's insert_many builds SQL value by value (80 ms per 500 rows); PyMySQL folds an
    executemany INSERT into multi-row statements, SQLite runs it natively.
    """
    from shared.models.base import check_values

    rows = [tuple(row) for row in rows]
    if not rows:
        return
    for row in rows:
        check_values(model, dict(zip(fields, row, strict=True)))
    database = model._meta.database.obj
    left, right = database.quote
    columns = ", ".join(left + getattr(model, f).column_name + right for f in fields)
    table = left + model._meta.table_name + right
    marks = ", ".join([database.param] * len(fields))
    cursor = database.cursor()
    try:
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
    finally:
        cursor.close()


def values_present(field, values) -> set:
    """Which of `values` occur in the indexed column `field`: `SELECT col … WHERE col IN (…)`,
    written directly, 500 values a statement (peewee would build each IN list value by value)."""
    values = sorted(set(values))
    model = field.model
    database = model._meta.database.obj
    left, right = database.quote
    column = left + field.column_name + right
    table = left + model._meta.table_name + right
    found: set = set()
    for start in range(0, len(values), 500):
        part = values[start : start + 500]
        marks = ", ".join([database.param] * len(part))
        sql = f"SELECT {column} FROM {table} WHERE {column} IN ({marks})"
        found.update(row[0] for row in database.execute_sql(sql, part).fetchall())
    return found


def upsert(query, conflict_target, update):
    """INSERT … ON CONFLICT (target) DO UPDATE on SQLite; ON DUPLICATE KEY UPDATE on MySQL."""
    if is_mysql(query.model._meta.database):
        return query.on_conflict(update=update)
    return query.on_conflict(conflict_target=conflict_target, update=update)
