"""`mailapi init-db` on PostgreSQL makes what iRedMail's own schema files make: every table the
API uses, column for column (type, length, NULL, default), the same indexes and the used_quota
trigger; the trigger behaves as iRedMail's does when Dovecot writes through it."""

from __future__ import annotations

import pytest

from shared.models import MODELS_BY_DATABASE
from tests import iredmail_schema, pgsql

pytestmark = pytest.mark.pgsql_only

API_TABLES = {"api_keys", "api_login_failures", "api_pending_cascades"}  # the API's own
# The one deliberate difference: iRedMail's MySQL schema keys last_login by username, its
# PostgreSQL one by (username, domain); the API keys it by username on both (one row per user;
# the domain follows from the address).
KNOWN_DIFFERENCES = {
    ("last_login", "indexes"): {(("username",), True), (("username", "domain"), True)},
    # The API's own list and name-search indexes of the tables it makes (shared.schema).
    ("alias", "indexes"): {
        (("domain", "lower(name::text)"), False),
        (("domain", "address"), False),
    },
    ("domain", "indexes"): {(("lower(description)",), False)},
    ("mailbox", "indexes"): {
        (("domain", "lower(name::text)"), False),
        (("domain", "username"), False),
    },
}


def dbname_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


@pytest.fixture
def iredmail_databases():
    """The databases made by iRedMail's own schema files (their names), dropped afterwards."""
    with iredmail_schema.iredmail_databases("pgsql") as urls:
        yield {name: dbname_of(url) for name, url in urls.items()}


@pytest.mark.parametrize("name", ["amavisd", "iredadmin", "iredapd", "vmail"])
def test_init_db_makes_iredmails_tables(config, iredmail_databases, name):
    ours = dbname_of(getattr(config, f"{name}_db_url"))
    theirs = iredmail_databases[name]
    tables = {model._meta.table_name for model in MODELS_BY_DATABASE[name]}
    modelled = tables - API_TABLES
    assert modelled <= pgsql.tables_of(theirs), "a table iRedMail's schema does not have"
    assert pgsql.tables_of(ours) == tables
    expected = pgsql.describe(theirs, sorted(modelled))
    made = pgsql.describe(ours, sorted(modelled))
    differences = {}
    for table in sorted(modelled):
        for part in ("columns", "indexes", "triggers"):
            mine, iredmails = made[table][part], expected[table][part]
            if part == "columns":  # {name: (type, length, nullable, default)}
                mine, iredmails = set(mine.items()), set(iredmails.items())
            if mine != iredmails:
                differences[(table, part)] = mine ^ iredmails
    known = {key: value for key, value in KNOWN_DIFFERENCES.items() if key[0] in modelled}
    assert differences == known


def quota_writes(dbname: str) -> list[tuple]:
    """What Dovecot 2.3's quota dict sends (an INSERT of an increment per key: `bytes` for
    priv/quota/storage, `messages` for priv/quota/messages), then the rows in used_quota."""
    with pgsql.connection(dbname) as conn:
        for username, column, value in [
            ("u@example.com", "bytes", 100), ("u@example.com", "messages", 1),
            ("u@example.com", "bytes", 50), ("u@example.com", "bytes", -30),
            ("v@example.org", "messages", 2),
            ("v@example.org", "bytes", 7), ("v@example.org", "bytes", 3),
        ]:  # fmt: skip
            conn.execute(
                f"INSERT INTO used_quota (username, {column}) VALUES (%s, %s)", [username, value]
            )
        return conn.execute(
            "SELECT username, bytes, messages, domain FROM used_quota ORDER BY username"
        ).fetchall()


def test_the_used_quota_trigger_folds_dovecots_increments_as_iredmails(config, iredmail_databases):
    rows = quota_writes(dbname_of(config.vmail_db_url))
    assert rows == quota_writes(iredmail_databases["vmail"])
    assert rows == [
        ("u@example.com", 120, 1, "example.com"),
        ("v@example.org", 10, 2, "example.org"),
    ]
