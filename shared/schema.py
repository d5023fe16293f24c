"""Creating the schema of the four databases, idempotently.

A table that already exists is left exactly as it is (no index added), so the command can be
pointed at an existing iRedMail server without touching it.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

import pymysql
from playhouse import db_url

from shared import db, schema_amavisd, schema_postgresql
from shared.models import MODELS_BY_DATABASE
from shared.models.amavisd import Maddr
from shared.models.vmail import UsedQuota


def ensure_database_exists(url: str) -> None:
    """SQLite: the folder of the file; MySQL: the database itself (utf8mb4); PostgreSQL: the
    database (UTF-8)."""
    scheme = urlparse(url).scheme
    params = db_url.parse(url, unquote_password=True, unquote_user=True)
    name = params["database"]
    if scheme.startswith("sqlite"):
        folder = os.path.dirname(name)
        if folder and name != ":memory:":
            os.makedirs(folder, exist_ok=True)
        return
    if scheme in db.POSTGRESQL_SCHEMES:
        schema_postgresql.ensure_database(params)
        return
    connection = pymysql.connect(
        host=params.get("host", "localhost"),
        port=params.get("port", 3306),
        user=params.get("user", "root"),
        password=params.get("password", params.get("passwd", "")),
        charset="utf8mb4",
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE DATABASE IF NOT EXISTS `{name}` "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
            )
    finally:
        connection.close()


def create_table(model, dialect: str) -> None:
    """The model's table and indexes. `Meta.postgresql_indexes` ({columns: unique, or None for
    none}) changes the index set where iRedMail's PostgreSQL schema indexes differently."""
    changes = getattr(model._meta, f"{dialect}_indexes", None)
    if changes is None:
        model.create_table(safe=True)
        return
    indexes = {
        tuple(field.name for field in index._expressions): index._unique
        for index in model._meta.fields_to_index()
    }
    indexes.update(changes)
    model._schema.create_table(safe=True)
    for columns, unique in indexes.items():
        if unique is not None:
            index = model.index(*(getattr(model, column) for column in columns), unique=unique)
            model._meta.database.execute(model._schema._create_index(index, safe=True))


# Indexes the API adds to the tables it makes (never to a table iRedMail made), for lists
# (shared/paging.py; docs/architecture.md, "Search"):
# - `<table>_list`: a domain's accounts in key order, so a page is an index range however big the
#   domain (MySQL's InnoDB already orders its `domain` index by the primary key);
# - `<table>_name_search`: the start of LOWER(name) (MySQL: the name, in its case-insensitive
#   collation) after the domain, for a search's name side.
LIST_INDEXES = {"mailbox": ("domain", "username"), "alias": ("domain", "address")}
SEARCH_INDEXES = {
    "domain": ((), "description"),
    "mailbox": (("domain",), "name"),
    "alias": (("domain",), "name"),
}


def api_index_sql(table: str, dialect: str) -> list[str]:
    """The CREATE INDEX statements of the API's own indexes of `table`."""
    left, right = ("`", "`") if dialect == "mysql" else ('"', '"')

    def index(suffix, columns):
        listed = ", ".join(columns)
        return f"CREATE INDEX {left}{table}_{suffix}{right} ON {left}{table}{right} ({listed})"

    statements = []
    if table in LIST_INDEXES and dialect != "mysql":
        statements.append(index("list", [f"{left}{c}{right}" for c in LIST_INDEXES[table]]))
    if table in SEARCH_INDEXES:
        equal, name = SEARCH_INDEXES[table]
        quoted = f"{left}{name}{right}"
        searched = quoted if dialect == "mysql" else f"LOWER({quoted})"
        statements.append(index("name_search", [f"{left}{c}{right}" for c in equal] + [searched]))
    return statements


def create_tables(name: str, dovecot_version: str = "2.3") -> list[str]:
    """Create the missing tables of one database; answers the names of the created ones.

    On PostgreSQL a `used_quota` table made here gets the trigger of `dovecot_version`.
    """
    proxy = db.DATABASES[name]
    created = []
    with proxy.connection_context():
        existing = set(proxy.get_tables())
        for model in MODELS_BY_DATABASE[name]:
            if model._meta.table_name not in existing:
                with proxy.atomic():
                    create_table(model, db.backend(proxy))
                    for statement in api_index_sql(model._meta.table_name, db.backend(proxy)):
                        proxy.execute_sql(statement)
                    if model is UsedQuota and db.is_postgresql(proxy):
                        schema_postgresql.create_used_quota_trigger(proxy, dovecot_version)
                    if model is Maddr:
                        schema_amavisd.create_maddr_trigger(proxy)
                created.append(model._meta.table_name)
    return created


def init_databases(config) -> dict[str, list[str]]:
    urls = config.database_urls()
    for url in urls.values():
        ensure_database_exists(url)
    db.bind_databases(config)
    created = {name: create_tables(name, config.dovecot_version) for name in urls}
    if "policy" in created["amavisd"]:  # a new amavisd database
        with db.amavisd_db.connection_context():
            schema_amavisd.seed_global_policy()
    return created
