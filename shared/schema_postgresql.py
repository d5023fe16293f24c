"""What iRedMail's PostgreSQL schema has beyond tables: the database itself (UTF-8, from
template0) and the `used_quota` trigger that the Dovecot version in use needs."""

from __future__ import annotations

import psycopg
from psycopg import sql

# Dovecot 2.3's quota dict INSERTs increments into used_quota (no upsert): the trigger folds
# each one into the user's row. The advisory lock queues two first inserts of one user, so the
# second finds the row the first made instead of failing on the primary key.
DOVECOT_23_TRIGGER = """
CREATE OR REPLACE FUNCTION merge_quota() RETURNS TRIGGER AS $body$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('used_quota' || NEW.username, 0));
    UPDATE used_quota
       SET bytes = bytes + NEW.bytes,
           messages = messages + COALESCE(NEW.messages, 0),
           domain = split_part(NEW.username, '@', 2)
     WHERE username = NEW.username;
    IF FOUND THEN
        RETURN NULL;
    END IF;
    NEW.messages := COALESCE(NEW.messages, 0);
    NEW.domain := split_part(NEW.username, '@', 2);
    RETURN NEW;
END;
$body$ LANGUAGE plpgsql;
CREATE OR REPLACE TRIGGER mergequota BEFORE INSERT ON used_quota
    FOR EACH ROW EXECUTE PROCEDURE merge_quota();
"""

# Dovecot 2.4's quota_clone writes whole rows itself; the trigger only fills in the domain.
DOVECOT_24_TRIGGER = """
CREATE OR REPLACE FUNCTION set_used_quota_domain() RETURNS TRIGGER AS $body$
BEGIN
    NEW.domain := split_part(LOWER(NEW.username), '@', 2);
    RETURN NEW;
END;
$body$ LANGUAGE plpgsql;
CREATE OR REPLACE TRIGGER used_quota_before_insert BEFORE INSERT ON used_quota
    FOR EACH ROW EXECUTE PROCEDURE set_used_quota_domain();
"""

USED_QUOTA_TRIGGERS = {"2.3": DOVECOT_23_TRIGGER, "2.4": DOVECOT_24_TRIGGER}


def _connect(params: dict, dbname: str):
    return psycopg.connect(
        dbname=dbname,
        host=params.get("host", "localhost"),
        port=params.get("port", 5432),
        user=params.get("user"),
        password=params.get("password"),
        connect_timeout=5,
        autocommit=True,
    )


def ensure_database(params: dict) -> None:
    """Create the database as iRedMail does (TEMPLATE template0, UTF-8) unless it exists; an
    existing one is found by connecting to it, so the API's own role needs no CREATEDB then."""
    name = params["database"]
    try:
        _connect(params, name).close()
        return
    except psycopg.OperationalError as error:
        if "does not exist" not in str(error):
            raise
    with _connect(params, "postgres") as connection:
        connection.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
                sql.Identifier(name)
            )
        )


def create_used_quota_trigger(database, dovecot_version: str) -> None:
    """The trigger of `dovecot_version` on a `used_quota` table init-db just created."""
    database.execute_sql(USED_QUOTA_TRIGGERS[dovecot_version])
