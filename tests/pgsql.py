"""Throw-away PostgreSQL databases for the tests (TEST_DB=pgsql): one template per run holds
the schema, and every test gets its own databases copied from it, dropped afterwards."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import psycopg
from psycopg import sql

PGSQL_URL = os.environ.get("TEST_PGSQL_URL", "postgresql://postgres@127.0.0.1:5432")


def connection(dbname: str = "postgres"):
    """An autocommit connection as the test superuser."""
    url = urlparse(PGSQL_URL)
    return psycopg.connect(
        host=url.hostname or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        dbname=dbname,
        autocommit=True,
        connect_timeout=5,
    )


def reachable() -> bool:
    try:
        connection().close()
        return True
    except psycopg.OperationalError:
        return False


def create_database(name: str, template: str = "template0") -> str:
    with connection() as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} ENCODING 'UTF8'").format(
                sql.Identifier(name), sql.Identifier(template)
            )
        )
    return f"{PGSQL_URL}/{name}"


def drop_database(name: str) -> None:
    """Dropped even while a test's server process still holds connections to it."""
    with connection() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


READER_PASSWORD = "Reader-Passw0rd"


def create_role(name: str) -> None:
    with connection() as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(name), sql.Literal(READER_PASSWORD)
            )
        )


def drop_role(name: str) -> None:
    with connection() as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def grant(dbname: str, role: str, *statements: str) -> None:
    """GRANT statements (`{role}` filled in) in one database: made in a template, the grants
    are copied with it into every test's database."""
    with connection(dbname) as conn:
        for statement in statements:
            conn.execute(sql.SQL(statement).format(role=sql.Identifier(role)))


def grant_iredmail_rights(databases: dict[str, str], roles: dict[str, str]) -> None:
    """iRedMail's rights (its grant_permissions.sql) for the run's roles in `databases` (names):
    the `vmail` reader reads every vmail table and writes `used_quota` (Dovecot's quota dict);
    the `iredapd` role reads vmail and owns iredapd and amavisd (iRedAPD's `amavisd_wblist`
    plugin reads amavisd; Amavisd itself would have a role of its own)."""
    read_all = "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"
    grant(databases["vmail"], roles["vmail"], read_all, "GRANT ALL ON used_quota TO {role}")
    grant(databases["vmail"], roles["iredapd"], read_all)
    for name in ("iredapd", "amavisd"):
        grant(
            databases[name], roles["iredapd"],
            "GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}",
            "GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}",
        )  # fmt: skip


def run_sql_file(dbname: str, text: str) -> None:
    """A schema file as psql would run it (its statements in one simple-protocol batch)."""
    with connection(dbname) as conn:
        conn.execute(text.encode())


class Dropper:
    """Drops finished tests' databases in the background, so the next test need not wait."""

    def __init__(self):
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending = []

    def drop(self, name: str) -> None:
        self._pending.append(self._pool.submit(drop_database, name))

    def wait(self) -> None:
        for future in self._pending:
            future.result()
        self._pool.shutdown()


def describe(dbname: str, tables) -> dict[str, dict]:
    """Per table: columns (type, length, nullable, default), indexes as (columns, unique),
    and triggers as (name, timing, event): what a schema comparison needs, names aside."""
    found: dict[str, dict] = {}
    with connection(dbname) as conn:
        for table in tables:
            columns = {
                name: (kind, length, nullable, _default(default))
                for name, kind, length, nullable, default in conn.execute(
                    "SELECT column_name, data_type, character_maximum_length, is_nullable,"
                    " column_default FROM information_schema.columns"
                    " WHERE table_schema = 'public' AND table_name = %s",
                    [table],
                )
            }
            indexes = {
                (tuple(columns_of), unique)
                for columns_of, unique in conn.execute(
                    # a column's name, or an expression's text (LOWER(name) of a search index)
                    "SELECT ARRAY(SELECT pg_get_indexdef(i.indexrelid, k.o, true)"
                    " FROM generate_series(1, i.indnatts) k(o) ORDER BY k.o), i.indisunique"
                    " FROM pg_index i WHERE i.indrelid = %s::regclass",
                    [table],
                )
            }
            triggers = set(
                conn.execute(
                    "SELECT trigger_name, action_timing, event_manipulation"
                    " FROM information_schema.triggers WHERE event_object_table = %s",
                    [table],
                )
            )
            found[table] = {"columns": columns, "indexes": indexes, "triggers": triggers}
    return found


def _default(default: str | None) -> str | None:
    """`now()` however it is spelled; a sequence by its column, not its generated name; an
    explicit `DEFAULT NULL` as none."""
    if default is None or default.startswith("NULL::"):
        return None
    if default.startswith("nextval("):
        return "serial"
    default = default.replace("::timestamp without time zone", "")
    return default.replace("CURRENT_TIMESTAMP", "now()").replace("(now())", "now()")


def tables_of(dbname: str) -> set[str]:
    with connection(dbname) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        )
        return {name for (name,) in rows}
