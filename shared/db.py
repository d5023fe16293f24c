"""The four databases behind proxies, and how a URL becomes a pooled database."""

from __future__ import annotations

import contextlib
import functools
import itertools
import operator
import re
import time
from urllib.parse import urlparse

import MySQLdb
import MySQLdb.constants.FIELD_TYPE
import MySQLdb.converters
import MySQLdb.cursors
import peewee
import psycopg
import psycopg.types.string
from playhouse import db_url
from playhouse.pool import (
    PooledDatabase,
    PooledMySQLDatabase,
    PooledPostgresqlDatabase,
    PooledSqliteDatabase,
)

vmail_db = peewee.DatabaseProxy()
iredapd_db = peewee.DatabaseProxy()
iredadmin_db = peewee.DatabaseProxy()
amavisd_db = peewee.DatabaseProxy()

DATABASES = {
    "vmail": vmail_db,
    "iredapd": iredapd_db,
    "iredadmin": iredadmin_db,
    "amavisd": amavisd_db,
}

# Column types that differ between the backends (see shared/models/fields.py). "DIALECT" is
# not a type: it tells `PerBackend` column clauses which backend they are written for.
MYSQL_FIELD_TYPES = {
    "DIALECT": "mysql",
    "ASCII255": "VARCHAR(255) CHARACTER SET ascii",
    "BIGAUTO_UNSIGNED": "BIGINT UNSIGNED AUTO_INCREMENT",
    "EPOCH_INT": "INT",
    "SWITCH": "CHAR",
}
SQLITE_FIELD_TYPES = {
    "DIALECT": "sqlite",
    "ASCII255": "VARCHAR(255)",
    "BIGAUTO_UNSIGNED": "INTEGER",
    "EPOCH_INT": "INT",
    "SWITCH": "CHAR",
}
# iRedMail's PostgreSQL schemas: INT2 flags, INT8 counters, SERIAL ids, BIGINT for MySQL's
# unsigned types, TIMESTAMP WITHOUT TIME ZONE for DATETIME.
POSTGRESQL_FIELD_TYPES = {
    "DIALECT": "postgresql",
    "ASCII255": "VARCHAR(255)",
    "BIGAUTO_UNSIGNED": "SERIAL",
    "TINYINT(1)": "INT2",
    "INT(10)": "INT8",
    "TINYINT UNSIGNED": "BIGINT",
    "INT UNSIGNED": "BIGINT",
    "EPOCH_INT": "BIGINT",
    "SWITCH": "VARCHAR",
    "DATETIME": "TIMESTAMP WITHOUT TIME ZONE",
    "TIMESTAMP": "TIMESTAMP WITHOUT TIME ZONE",
}

SQLITE_BUSY_TIMEOUT_MS = 10_000


def backend(database) -> str:
    """'mysql', 'postgresql' or 'sqlite': the dialect of a database or a bound proxy."""
    db = database.obj if isinstance(database, peewee.DatabaseProxy) else database
    if isinstance(db, peewee.MySQLDatabase):
        return "mysql"
    if isinstance(db, peewee.PostgresqlDatabase):
        return "postgresql"
    return "sqlite"


def is_mysql(database) -> bool:
    return backend(database) == "mysql"


def is_postgresql(database) -> bool:
    return backend(database) == "postgresql"


POSTGRESQL_SCHEMES = ("postgres", "postgresql", "postgres+pool", "postgresql+pool")


class _MySQLClientDatabase(peewee.MySQLDatabase):
    """peewee's MySQL database, connecting with mysqlclient."""

    def _connect(self):
        params = dict(self.connect_params)
        if "passwd" in params:
            params["password"] = params.pop("passwd")
        return MySQLdb.connect(database=self.database, autocommit=True, **params)


class MySQLPool(PooledMySQLDatabase, _MySQLClientDatabase):
    """peewee's MySQL pool on mysqlclient (libmariadb's C protocol and row parser) instead of
    PyMySQL: PyMySQL parsed each of a profile's ~70 column descriptors in Python, three
    quarters of a single-account read's CPU (1.34 ms of it in-process; see
    bench/profile_service.py).

    A connection goes back without a ROLLBACK round trip: peewee's close() refuses while a
    transaction it opened is open, so only a transaction begun by a raw statement can be left
    open, and such a connection is marked when the statement runs and rolled back on return.
    """

    def execute_sql(self, sql, params=None, *args, **kwargs):
        cursor = super().execute_sql(sql, params, *args, **kwargs)
        if _RAW_TRANSACTION.match(sql):
            self._state.conn.mailapi_raw_transaction = True
        return cursor

    def _is_closed(self, conn):
        try:
            conn.ping()  # mysqlclient never reconnects on its own
        except MySQLdb.Error:
            return True
        return False

    def _can_reuse(self, conn):
        if not conn.open:
            return False
        if getattr(conn, "mailapi_raw_transaction", False):
            try:
                conn.rollback()
            except MySQLdb.Error:
                return False
            conn.mailapi_raw_transaction = False
        return True


_RAW_TRANSACTION = re.compile(r"(BEGIN|START\s+TRANSACTION)\b", re.IGNORECASE)


def open_database(url: str, pool_size: int = 8, pool_timeout: int = 10) -> peewee.Database:
    """A pooled peewee database for a `sqlite:///path`, `mysql[+pool]://…` or
    `postgresql[+pool]://…` URL.

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
        return MySQLPool(database, field_types=MYSQL_FIELD_TYPES, **pool, **params)
    if scheme in POSTGRESQL_SCHEMES:
        params.setdefault("connect_timeout", 5)
        # NOW() and CURRENT_TIMESTAMP (iRedMail's column defaults) in UTC, as the API writes.
        params.setdefault("options", "-c TimeZone=UTC")
        # Parameters bound on the client, as PyMySQL and sqlite3 do: the same queries then work
        # on every backend (server-side binding cannot type a bare string in a SELECT list).
        params.setdefault("cursor_factory", psycopg.ClientCursor)
        return PooledPostgresqlDatabase(
            database,
            field_types=POSTGRESQL_FIELD_TYPES,
            prefer_psycopg3=True,
            **pool,
            **params,
        )
    raise ValueError(
        f"unsupported database URL scheme {scheme!r} (use sqlite:///, mysql:// or postgresql://)"
    )


def bind_databases(config) -> None:
    """Point the proxies at the configured databases (kept when already bound there with the
    same pool size)."""
    urls = config.database_urls()
    for name, proxy in DATABASES.items():
        binding = (urls[name], config.db_pool_size)
        if getattr(proxy.obj, "mailapi_binding", None) == binding:
            continue
        database = open_database(urls[name], config.db_pool_size, config.db_pool_timeout)
        database.mailapi_binding = binding
        if isinstance(proxy.obj, PooledDatabase):
            proxy.obj.close_all()  # a rebound proxy's old pool would keep its connections open
        proxy.initialize(database)


def close_pools() -> None:
    """Close every pooled connection of the databases (before a database is dropped or
    copied as a template, which PostgreSQL refuses while connections are open)."""
    for proxy in DATABASES.values():
        if isinstance(proxy.obj, PooledDatabase):
            proxy.obj.close_all()


def release_connections() -> None:
    """Return this thread's connections to their pools (called after every request)."""
    for proxy in DATABASES.values():
        if proxy.obj is not None and not proxy.is_closed():
            proxy.close()


def sql_concat(*parts):
    """String concatenation in the bound backend's dialect (CONCAT() on MySQL and PostgreSQL,
    || on SQLite)."""
    if backend(vmail_db) != "sqlite":
        return peewee.fn.CONCAT(*parts)
    return peewee.NodeList(parts, glue=" || ", parens=True)


def like(field, pattern: str):
    """`field LIKE pattern` as SQL itself spells it on every backend, binary columns included
    (peewee's LIKE is GLOB on SQLite, and its ILIKE cannot take PostgreSQL's bytea). The
    pattern goes through the field's `db_value`."""
    return peewee.Expression(field, "like", pattern)  # lower case: not in peewee's op map


DEADLOCK_ERRNOS = {1213}  # MySQL/MariaDB: ER_LOCK_DEADLOCK
DEADLOCK_SQLSTATES = {"40P01", "40001"}  # PostgreSQL: deadlock_detected, serialization_failure


def is_deadlock(exc: Exception) -> bool:
    """Whether a (peewee-wrapped) database error is a deadlock the server resolved by rolling
    this transaction back: the whole transaction can simply run again."""
    original = exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc
    if getattr(original, "sqlstate", None) in DEADLOCK_SQLSTATES:
        return True
    return bool(original.args) and original.args[0] in DEADLOCK_ERRNOS


def in_transaction_retried(database, work, attempts: int = 4):
    """`work()` in one transaction of `database`, run again (a few times, briefly apart) when
    the server chose it as a deadlock's victim; for set-based writes that lock rows other
    accounts' writes share (amavisd's `mailaddr`). Inside another transaction it runs once: a
    deadlock rolls the outer one back too, and only its caller can run that again."""
    if database.in_transaction():
        attempts = 1
    for attempt in range(attempts):
        try:
            with database.atomic():
                return work()
        except peewee.OperationalError as exc:
            if attempt + 1 == attempts or not is_deadlock(exc):
                raise
            time.sleep(0.01 * (attempt + 1))
    return None


def lock_for_update(query):
    """`SELECT … FOR UPDATE` on MySQL and PostgreSQL; SQLite's write transaction already
    serialises writers."""
    return query if backend(query.model._meta.database) == "sqlite" else query.for_update()


class PreparedQuery:
    """A peewee query compiled once per database, then run with fresh parameters.

    On the hot path (every request's session and admin lookups, single-account reads) building
    the SQL costs more than running it, so the query is built once with placeholder markers and
    later only its parameters change. `build(**markers)` must return the query. On PostgreSQL
    the query is also a server-side prepared statement of each connection (`_PgStatement`).
    """

    def __init__(self, build, *names: str):
        self._build = build
        self._names = names
        self._compiled: dict[object, tuple] = {}

    @staticmethod
    def _marker(name: str) -> str:
        return f"\x00{name}\x00"

    def _compile(self, database) -> tuple:
        compiled = self._compiled.get(database)
        if compiled is None:
            query = self._build(**{name: self._marker(name) for name in self._names})
            sql, template = query.sql()
            statement = None
            if isinstance(database, peewee.PostgresqlDatabase):
                markers = {self._marker(name): name for name in self._names}
                statement = _PgStatement(sql, template, markers)
            compiled = (sql, template, *result_columns(query), statement)
            self._compiled[database] = compiled
        return compiled

    def _fetch(self, proxy: peewee.DatabaseProxy, values: dict) -> tuple[list, tuple]:
        database = proxy.obj
        sql, template, names, converters, statement = self._compile(database)
        if statement is not None:
            return statement.fetch(database, values), (names, converters)
        markers = {self._marker(name): value for name, value in values.items()}
        params = [markers.get(p, p) if isinstance(p, str) else p for p in template]
        return database.execute_sql(sql, params).fetchall(), (names, converters)

    def rows(self, proxy: peewee.DatabaseProxy, **values) -> list[tuple]:
        """The raw rows, as the driver returns them."""
        return list(self._fetch(proxy, values)[0])

    def dicts(self, proxy: peewee.DatabaseProxy, **values) -> list[dict]:
        """The rows as dicts keyed by field name or alias, values converted as peewee would."""
        rows, (names, converters) = self._fetch(proxy, values)
        return [convert_row(names, converters, row) for row in rows]


_PLACEHOLDER = re.compile(r"%[s%]")


class _PgStatement:
    """A PreparedQuery as PostgreSQL's own prepared statement: `PREPARE` once per connection,
    then `EXECUTE name(values)`. Client-side binding (`open_database`) otherwise makes the
    server parse and plan the text again on every call: 0.27 ms of planning against 0.06 ms
    of execution for `GET /api/user/<mail>`'s six-table join (EXPLAIN ANALYZE in one session),
    none once prepared. The query's constant parameters are written into the statement as
    literals; its markers become `$1`, `$2`, … (one per name, where a name appears twice), whose
    types PostgreSQL infers from the columns they are compared with."""

    _numbers = itertools.count(1)

    def __init__(self, sql: str, template: list, markers: dict[str, str]):
        self.name = f"mailapi_{next(self._numbers)}"
        self._sql = sql
        self._template = template
        self._markers = markers  # marker -> name
        self._order: list[str] = []  # the names, in the order of their $n
        self._prepare: str | None = None  # built on the first connection (quoting needs one)

    def _prepare_sql(self, connection) -> str:
        if self._prepare is None:
            quote = psycopg.ClientCursor(connection).mogrify
            params = iter(self._template)
            order: list[str] = []

            def replace(match):
                if match.group() == "%%":  # the statement is run with () as its parameters,
                    return "%%"  # so a percent sign stays doubled, a literal's too
                param = next(params)
                name = self._markers.get(param) if isinstance(param, str) else None
                if name is None:
                    return quote("%s", [param]).replace("%", "%%")
                if name not in order:
                    order.append(name)
                return f"${order.index(name) + 1}"

            body = _PLACEHOLDER.sub(replace, self._sql)
            self._order = order
            self._prepare = f"PREPARE {self.name} AS {body}"
        return self._prepare

    def fetch(self, database, values: dict) -> list[tuple]:
        connection = database.connection()
        prepared = getattr(connection, "mailapi_prepared", None)
        if prepared is None:
            prepared = connection.mailapi_prepared = set()
        if self.name not in prepared:
            database.execute_sql(self._prepare_sql(connection))
            prepared.add(self.name)
        args = ", ".join(["%s"] * len(self._order))
        execute = f"EXECUTE {self.name}({args})" if self._order else f"EXECUTE {self.name}"
        return database.execute_sql(execute, [values[n] for n in self._order]).fetchall()


def result_columns(query) -> tuple[tuple, tuple]:
    """The names (field name or alias) and python_value converters of a SELECT's columns."""
    names, converters = [], []
    for node in getattr(query, "_returning", None) or ():
        field = node.unwrap() if isinstance(node, peewee.Alias) else node
        names.append(node._alias if isinstance(node, peewee.Alias) else getattr(node, "name", ""))
        converters.append(getattr(field, "python_value", None))
    return tuple(names), tuple(converters)


def convert_row(names, converters, row) -> dict:
    return {
        name: convert(value) if convert and value is not None else value
        for name, convert, value in zip(names, converters, row, strict=True)
    }


# python_value of the fields that only re-type what every driver already returns (str, int).
_PLAIN_CONVERTERS = frozenset(
    cls.python_value
    for cls in (peewee.CharField, peewee.TextField, peewee.IntegerField, peewee.AutoField)
)


def _as_text(value):
    return value.decode() if isinstance(value, bytes) else value


# Datetimes as the server's text, which is what the answer shows (not parsed into datetimes that
# the JSON encoder then formats back).
MYSQL_STREAM_CONVERSIONS = {
    **MySQLdb.converters.conversions,
    MySQLdb.constants.FIELD_TYPE.DATETIME: _as_text,
    MySQLdb.constants.FIELD_TYPE.TIMESTAMP: _as_text,
    MySQLdb.constants.FIELD_TYPE.DATE: _as_text,
}


def mysql_stream_connection(database):
    """A connection of its own for one streamed list, by mysqlclient (libmariadb's C row
    parser): 1.8 µs per mailbox row where PyMySQL's pure-Python one takes 31–43 µs. Made with
    the pool's settings (UTC session included), closed when the stream ends."""
    params = database.connect_params
    return MySQLdb.connect(
        host=params.get("host", "localhost"),
        port=int(params.get("port", 3306)),
        user=params.get("user", "root"),
        password=params.get("passwd", params.get("password", "")),
        database=database.database,
        charset=params.get("charset", "utf8mb4"),
        connect_timeout=int(params.get("connect_timeout", 5)),
        init_command=params.get("init_command", ""),
        conv=MYSQL_STREAM_CONVERSIONS,
    )


def _datetime_text(field):
    """SQLite holds a datetime as the text the answer shows ('YYYY-MM-DD HH:MM:SS', perhaps
    with a fraction, which the answer drops), and MySQL and PostgreSQL send it so to
    `stream_rows` (PostgreSQL's timestamptz adds '+00': its sessions run in UTC): kept as text,
    not parsed and formatted again."""
    width = 10 if isinstance(field, peewee.DateField) else 19

    def convert(value):
        text = isinstance(value, str) and len(value) >= width and value[4] == "-"
        if text and (width == 10 or value[10] == " "):
            return value[:width]
        return field.python_value(value)

    return convert


def stream_converters(columns, dialect: str) -> list:
    """Per column of a streamed list: None where the driver's value is already what the answer
    shows, else a converter (peewee's python_value costs a call per value: most of a list)."""
    converters = []
    for column in columns:
        field = column.unwrap() if isinstance(column, peewee.Alias) else column
        if isinstance(field, peewee.DateTimeField | peewee.DateField) and dialect == "sqlite":
            converters.append(_datetime_text(field))  # whatever text a row was given
        elif isinstance(field, peewee.DateTimeField | peewee.DateField):
            # The server's own text, always 'YYYY-MM-DD[ HH:MM:SS[.ffffff][+00]]': cut by a C
            # callable, no Python call per value.
            width = 10 if isinstance(field, peewee.DateField) else 19
            converters.append(operator.itemgetter(slice(0, width)))
        elif type(field).python_value in _PLAIN_CONVERTERS:
            converters.append(None)
        else:
            converters.append(getattr(field, "python_value", None))
    return converters


def stream_rows(query, batch: int = 500):
    """Yield a query's rows as dicts, on a connection of its own, from a server-side cursor.

    Used for list answers that are streamed after the responder returned (and after the
    per-request connection went back to its pool): memory stays flat however many rows.
    """
    proxy = query.model._meta.database
    database = proxy.obj
    sql, params = query.sql()
    dialect = backend(database)
    converters = list(enumerate(stream_converters(query._returning, dialect)))
    with contextlib.ExitStack() as stack:
        if dialect == "mysql":  # its own conversions (datetimes as text), closed with the stream
            connection = stack.enter_context(contextlib.closing(mysql_stream_connection(database)))
            cursor = connection.cursor(MySQLdb.cursors.SSCursor)
            cursor.execute(sql, params)
        elif dialect == "postgresql":
            stack.enter_context(database.connection_context())
            # A named (server-side) cursor lives in a transaction.
            stack.enter_context(database.atomic())
            cursor = database.connection().cursor(name="stream_rows")
            for name in ("timestamp", "timestamptz", "date"):  # as text (`_datetime_text`)
                cursor.adapters.register_loader(name, psycopg.types.string.TextLoader)
            cursor.execute(sql, params)
        else:
            stack.enter_context(database.connection_context())
            cursor = database.execute_sql(sql, params)
        try:
            names = [description[0] for description in cursor.description]
            needed = [(names[i], convert) for i, convert in converters if convert is not None]
            while True:
                rows = cursor.fetchmany(batch)
                if not rows:
                    break
                for row in rows:
                    item = dict(zip(names, row, strict=True))
                    for name, convert in needed:
                        if item[name] is not None:
                            item[name] = convert(item[name])
                    yield item
        finally:
            cursor.close()


def unindexed(field):
    """`+column`: the column as an expression no index can serve.

    For a low-cardinality flag (`is_forwarding`, `active`) next to a selective indexed condition:
    SQLite without statistics would otherwise pick the flag's index and walk every account.
    """
    return peewee.NodeList((peewee.SQL("+"), field), glue="")


def insert_rows(model, fields: tuple, rows, ignore_duplicates: bool = False) -> None:
    """Insert many rows with the driver's executemany, the statement written once.

    peewee's insert_many builds SQL value by value (80 ms per 500 rows); mysqlclient folds an
    executemany INSERT into multi-row statements, SQLite runs it natively. Values go through
    the fields' `db_value` (an amavisd address becomes bytes). `ignore_duplicates`: a row
    whose unique key exists is skipped (INSERT IGNORE / ON CONFLICT DO NOTHING).
    """
    from shared.models.base import check_values

    rows = [tuple(row) for row in rows]
    if not rows:
        return
    for row in rows:
        check_values(model, dict(zip(fields, row, strict=True)))
    columns = [getattr(model, f) for f in fields]
    rows = [tuple(c.db_value(v) for c, v in zip(columns, row, strict=True)) for row in rows]
    database = model._meta.database.obj
    left, right = database.quote
    names = ", ".join(left + column.column_name + right for column in columns)
    table = left + model._meta.table_name + right
    marks = ", ".join([database.param] * len(fields))
    verb, tail = "INSERT INTO", ""
    if ignore_duplicates:
        verb, tail = {
            "mysql": ("INSERT IGNORE INTO", ""),
            "postgresql": ("INSERT INTO", " ON CONFLICT DO NOTHING"),
            "sqlite": ("INSERT OR IGNORE INTO", ""),
        }[backend(database)]
    cursor = database.cursor()
    try:  # the driver's errors as peewee's (IntegrityError, OperationalError), as elsewhere
        with peewee.__exception_wrapper__:
            cursor.executemany(f"{verb} {table} ({names}) VALUES ({marks}){tail}", rows)
    finally:
        cursor.close()


def select_in(field, values, *columns) -> list[tuple]:
    """`SELECT columns … WHERE field IN (…)` over an indexed column, written directly, 500
    values a statement (peewee would build each IN list value by value); values pass through
    the field's `db_value`, answers through each column's `python_value`."""
    values = sorted(set(values))
    columns = columns or (field,)
    model = field.model
    database = model._meta.database.obj
    left, right = database.quote
    selected = ", ".join(left + column.column_name + right for column in columns)
    column = left + field.column_name + right
    table = left + model._meta.table_name + right
    found = []
    for start in range(0, len(values), 500):
        part = [field.db_value(value) for value in values[start : start + 500]]
        marks = ", ".join([database.param] * len(part))
        sql = f"SELECT {selected} FROM {table} WHERE {column} IN ({marks})"
        for row in database.execute_sql(sql, part).fetchall():
            found.append(tuple(c.python_value(v) for c, v in zip(columns, row, strict=True)))
    return found


def values_present(field, values) -> set:
    """Which of `values` occur in the indexed column `field`."""
    return {row[0] for row in select_in(field, values)}


def lock_key(database, *parts: str) -> None:
    """On PostgreSQL, a lock on a key (not a row) until the transaction ends: writers of the
    same key queue, a row that does not exist yet included. MySQL and SQLite writes rely on
    the unique index (or SQLite's single writer) instead."""
    if is_postgresql(database):
        database.execute_sql(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", ["\n".join(parts)]
        )


def upsert(model, key: dict, row: dict, update: dict) -> None:
    """Insert `row`, or apply `update` to the row whose columns equal `key`.

    MySQL and SQLite: INSERT … ON DUPLICATE KEY / ON CONFLICT on the key's unique index.
    iRedMail's PostgreSQL schemas may have no such index (iredapd's `throttle`, which may
    then even hold duplicates): there the key is locked, the rows updated, else one inserted.
    """
    database = model._meta.database
    if is_postgresql(database):
        with database.atomic():
            lock_key(database, model._meta.table_name, *key.values())
            where = functools.reduce(
                operator.and_, (getattr(model, name) == value for name, value in key.items())
            )
            if not model.update(update).where(where).execute():
                model.insert(**row).execute()
        return
    query = model.insert(**row)
    if is_mysql(database):
        query = query.on_conflict(update=update)
    else:
        query = query.on_conflict(
            conflict_target=[getattr(model, name) for name in key], update=update
        )
    query.execute()
