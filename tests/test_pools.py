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
