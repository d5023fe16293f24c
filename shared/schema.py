"""Creating the schema of the three databases, idempotently.

A table that already exists is left exactly as it is (no index added), so the command can be
pointed at an existing iRedMail server without touching it.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

import pymysql
from playhouse import db_url

from shared import db
from shared.models import MODELS_BY_DATABASE


def ensure_database_exists(url: str) -> None:
    """SQLite: the folder of the file; MySQL: the database itself (utf8mb4)."""
    scheme = urlparse(url).scheme
    params = db_url.parse(url, unquote_password=True, unquote_user=True)
    name = params["database"]
    if scheme.startswith("sqlite"):
        folder = os.path.dirname(name)
        if folder and name != ":memory:":
            os.makedirs(folder, exist_ok=True)
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


def create_tables(name: str) -> list[str]:
    """Create the missing tables of one database; answers the names of the created ones."""
    proxy = db.DATABASES[name]
    created = []
    with proxy.connection_context():
        existing = set(proxy.get_tables())
        for model in MODELS_BY_DATABASE[name]:
            if model._meta.table_name not in existing:
                model.create_table(safe=True)
                created.append(model._meta.table_name)
    return created


def init_databases(config) -> dict[str, list[str]]:
    urls = {
        "vmail": config.vmail_db_url,
        "iredapd": config.iredapd_db_url,
        "iredadmin": config.iredadmin_db_url,
    }
    for url in urls.values():
        ensure_database_exists(url)
    db.bind_databases(config)
    return {name: create_tables(name) for name in urls}
