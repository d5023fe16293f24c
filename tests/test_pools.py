"""Pooled connections: what a connection going back to its pool costs and leaves behind."""

from __future__ import annotations

import pytest

from shared import db


def _status(name: str) -> int:
    return int(db.vmail_db.execute_sql(f"SHOW SESSION STATUS LIKE '{name}'").fetchone()[1])


@pytest.mark.mysql_only
def test_a_clean_mysql_connection_goes_back_without_a_rollback_and_a_dirty_one_is_rolled_back(
    config,
):
    db.vmail_db.connect(reuse_if_open=True)
    connection = db.vmail_db.connection()
    rollbacks = _status("Com_rollback")
    db.release_connections()
    db.vmail_db.connect()
    assert db.vmail_db.connection() is connection  # the same pooled connection
    assert _status("Com_rollback") == rollbacks  # not rolled back: nothing was open

    db.vmail_db.execute_sql("BEGIN")
    db.vmail_db.execute_sql("SELECT 1")
    db.release_connections()  # a transaction left open
    db.vmail_db.connect()
    assert db.vmail_db.connection() is connection
    assert _status("Com_rollback") == rollbacks + 1
    assert db.vmail_db.execute_sql("SELECT @@in_transaction").fetchone()[0] == 0
    db.release_connections()


@pytest.mark.pgsql_only
def test_prepared_queries_are_postgresqls_prepared_statements(config):
    """Prepared once per connection, with the query's constants as literals (a quote and a
    percent sign included) and one `$n` per marker name; the rows are the plain query's, on a
    new connection too."""
    from shared.models.vmail import Mailbox

    Mailbox.insert(username="a%'b@example.com", password="x", name="50% O'Neil",
                   maildir="m/", domain="example.com").execute()  # fmt: skip

    def build(address):
        return (
            Mailbox.select(Mailbox.username, Mailbox.name)
            .where(
                ((Mailbox.username == address) | (Mailbox.domain == address))
                & (Mailbox.name != "100% O'Neil")
            )
            .tuples()
        )

    query = db.PreparedQuery(build, "address")
    for _ in range(2):
        assert query.rows(db.vmail_db, address="a%'b@example.com") == [
            ("a%'b@example.com", "50% O'Neil")
        ]
        name = query._compile(db.vmail_db.obj)[-1].name
        statements = db.vmail_db.execute_sql(
            "SELECT statement FROM pg_prepared_statements WHERE name = %s", [name]
        ).fetchall()
        assert len(statements) == 1, statements
        text = statements[0][0]
        assert text.count("$1") == 2 and "$2" not in text and "'100% O''Neil'" in text
        db.release_connections()
        db.close_pools()  # the next round's connection is a new one: prepared again
    assert query.rows(db.vmail_db, address="nobody@example.com") == []
    db.release_connections()
