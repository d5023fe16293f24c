"""Databases made by iRedMail's own schema files (unmodified, from ../shared/upstream), as its
installer makes them: for tests that prove the API works on a server iRedMail installed."""

from __future__ import annotations

import contextlib
import subprocess
import uuid

import pytest

from tests import pgsql
from tests.upstream import upstream_dir

# backend -> database -> iRedMail's files for it, in the order its installer runs them
SCHEMA_FILES = {
    "pgsql": {
        "vmail": (
            "iredmail/samples/iredmail/iredmail.pgsql",
            "iredmail/samples/iredmail/used_quota_triggers_dovecot_2.3.pgsql",
        ),
        "iredapd": ("iredapd/SQL/iredapd.pgsql",),
        "iredadmin": ("iredadmin/SQL/iredadmin.pgsql",),
        "amavisd": (
            "iredmail/samples/amavisd/amavisd.pgsql",
            "iredmail/samples/amavisd/default_spam_policy.sql",
        ),
    },
    "mysql": {
        "vmail": ("iredmail/samples/iredmail/iredmail.mysql",),
        "iredapd": ("iredapd/SQL/iredapd.mysql",),
        "iredadmin": ("iredadmin/SQL/iredadmin.mysql",),
        "amavisd": (
            "iredmail/samples/amavisd/amavisd.mysql",
            "iredmail/samples/amavisd/default_spam_policy.sql",
        ),
    },
}


def schema_text(backend: str, name: str) -> list[str]:
    source = upstream_dir()
    if source is None:
        pytest.fail("iRedMail's schemas are missing: set MAILAPI_UPSTREAM to ../shared/upstream")
    return [(source / path).read_text() for path in SCHEMA_FILES[backend][name]]


def load_pgsql(dbname: str, name: str) -> None:
    for text in schema_text("pgsql", name):
        pgsql.run_sql_file(dbname, text)


def load_mysql(mysql_url: str, dbname: str, name: str) -> None:
    """Through the `mysql` client, as iRedMail's installer does (the files use DELIMITER)."""
    from playhouse import db_url

    params = db_url.parse(mysql_url + "/x")
    command = [
        "mysql", "--protocol=tcp", "-h", params.get("host", "127.0.0.1"),
        "-P", str(params.get("port", 3306)), "-u", params.get("user", "root"), dbname,
    ]  # fmt: skip
    if params.get("passwd") or params.get("password"):
        command.insert(1, f"-p{params.get('passwd') or params.get('password')}")
    for text in schema_text("mysql", name):
        subprocess.run(command, input=text, text=True, check=True, capture_output=True)


@contextlib.contextmanager
def iredmail_databases(backend: str, roles: dict[str, str] | None = None):
    """The four databases (vmail, iredapd, iredadmin, amavisd) made by iRedMail's files;
    yields their URLs.

    On PostgreSQL `roles` (the run's role names) get iRedMail's rights in them."""
    tag = uuid.uuid4().hex[:10]
    names = {name: f"mailapi_{tag}_iredmail_{name}" for name in SCHEMA_FILES[backend]}
    if backend == "pgsql":
        try:
            urls = {}
            for name, dbname in names.items():
                urls[name] = pgsql.create_database(dbname)
                load_pgsql(dbname, name)
            if roles:
                pgsql.grant_iredmail_rights(names, roles)
            yield urls
        finally:
            for dbname in names.values():
                pgsql.drop_database(dbname)
        return
    from tests.conftest import MYSQL_URL, mysql_connection

    connection = mysql_connection()
    try:
        with connection.cursor() as cursor:
            for name, dbname in names.items():
                cursor.execute(f"CREATE DATABASE `{dbname}` CHARACTER SET utf8mb4")
                load_mysql(MYSQL_URL, dbname, name)
        yield {name: f"{MYSQL_URL}/{dbname}" for name, dbname in names.items()}
    finally:
        with connection.cursor() as cursor:
            for dbname in names.values():
                cursor.execute(f"DROP DATABASE IF EXISTS `{dbname}`")
        connection.close()
