"""`mailapi init-db` creates the schema; on MariaDB column for column as DATA-MODEL.md says."""

from __future__ import annotations

import pytest

from shared import db
from shared.models import MODELS_BY_DATABASE
from shared.schema import create_tables
from tests.conftest import mysql_connection, restore_pgsql_grants

V = "varchar(255) NO ''"
DT = "datetime NO '1970-01-01 01:01:01'"
EXP = "datetime NO '9999-12-31 00:00:00'"
ACTIVE = "tinyint(1) NO 1"
FLAG0 = "tinyint(1) NO 0"
COMMON = {"created": DT, "modified": DT, "expired": EXP, "active": ACTIVE}

# table -> {column: "type nullable default"}; transcribed from DATA-MODEL.md §1, §4, §5.
EXPECTED_COLUMNS = {
    "domain": {
        "domain": V, "description": "text YES NULL", "disclaimer": "text YES NULL",
        "aliases": "int(10) NO 0", "mailboxes": "int(10) NO 0", "maillists": "int(10) NO 0",
        "maxquota": "bigint(20) NO 0", "quota": "bigint(20) NO 0",
        "transport": "varchar(255) NO 'dovecot'", "backupmx": FLAG0,
        "settings": "text YES NULL", **COMMON,
    },
    "alias_domain": {
        "alias_domain": V, "target_domain": V, "created": DT, "modified": DT, "active": ACTIVE,
    },
    "mailbox": {
        "username": V, "password": V, "name": V, "language": "varchar(5) NO ''",
        "first_name": V, "last_name": V, "mobile": V, "telephone": V, "recovery_email": V,
        "birthday": "date NO '0001-01-01'", "mailboxformat": "varchar(50) NO 'maildir'",
        "mailboxfolder": "varchar(50) NO 'Maildir'", "storagebasedirectory": V,
        "storagenode": V, "maildir": V, "quota": "bigint(20) NO 0", "domain": V,
        "transport": V, "department": V, "rank": "varchar(255) NO 'normal'", "employeeid": V,
        "isadmin": FLAG0, "isglobaladmin": FLAG0,
        **{name: ACTIVE for name in (
            "enablesmtp", "enablesmtpsecured", "enablepop3", "enablepop3secured",
            "enablepop3tls", "enableimap", "enableimapsecured", "enableimaptls",
            "enabledeliver", "enablelda", "enablemanagesieve", "enablemanagesievesecured",
            "enablesieve", "enablesievesecured", "enablesievetls", "enableinternal",
            "enabledoveadm", "enablelib-storage", "enablequota-status",
            "enableindexer-worker", "enablelmtp", "enabledsync", "enablesogo",
        )},
        "enablesogowebmail": "char(1) NO 'y'", "enablesogocalendar": "char(1) NO 'y'",
        "enablesogoactivesync": "char(1) NO 'y'", "allow_nets": "text YES NULL",
        "disclaimer": "text YES NULL", "settings": "text YES NULL", "passwordlastchange": DT,
        **COMMON,
    },
    "alias": {
        "address": V, "name": V, "accesspolicy": "varchar(30) NO ''", "domain": V, **COMMON,
    },
    "forwardings": {
        "id": "bigint(20) unsigned NO None", "address": V, "forwarding": V, "domain": V,
        "dest_domain": V, "is_maillist": FLAG0, "is_list": FLAG0, "is_forwarding": FLAG0,
        "is_alias": FLAG0, "active": ACTIVE,
    },
    "moderators": {
        "id": "bigint(20) unsigned NO None", "address": V, "moderator": V, "domain": V,
        "dest_domain": V,
    },
    "domain_admins": {"username": V, "domain": V, **COMMON},
    "admin": {
        "username": V, "password": V, "name": V, "language": "varchar(5) NO ''",
        "passwordlastchange": DT, "settings": "text YES NULL", **COMMON,
    },
    **{
        table: {"domain": V, "bcc_address": V, **COMMON}
        for table in ("sender_bcc_domain", "recipient_bcc_domain")
    },
    **{
        table: {"username": V, "bcc_address": V, "domain": V, **COMMON}
        for table in ("sender_bcc_user", "recipient_bcc_user")
    },
    "sender_relayhost": {"id": "bigint(20) unsigned NO None", "account": V, "relayhost": V},
    "deleted_mailboxes": {
        "id": "bigint(20) unsigned NO None", "timestamp": "timestamp NO current_timestamp()",
        "username": V, "domain": V, "maildir": V, "bytes": "bigint(20) NO 0",
        "messages": "bigint(20) NO 0", "admin": V, "delete_date": "date YES NULL",
    },
    "used_quota": {
        "username": V, "bytes": "bigint(20) NO 0", "messages": "bigint(20) NO 0", "domain": V,
    },
    "last_login": {
        "username": V, "domain": V, "imap": "int(11) YES NULL", "pop3": "int(11) YES NULL",
        "lda": "int(11) YES NULL",
    },
    "throttle": {
        "id": "bigint(20) unsigned NO None", "account": "varchar(255) NO None",
        "kind": "varchar(10) NO 'outbound'", "priority": "tinyint(3) unsigned NO 0",
        "period": "int(10) unsigned NO 0", "msg_size": "bigint(20) NO -1",
        "max_msgs": "bigint(20) NO -1", "max_quota": "bigint(20) NO -1",
        "max_rcpts": "bigint(20) NO -1",
    },
    "sessions": {
        "session_id": "char(128) NO None", "atime": "timestamp NO current_timestamp()",
        "data": "text YES NULL",
    },
    "log": {
        "id": "bigint(20) unsigned NO None", "timestamp": "timestamp NO current_timestamp()",
        "admin": V, "ip": "varchar(40) NO ''", "domain": V, "username": V,
        "event": "varchar(20) NO ''", "loglevel": "varchar(10) NO 'info'",
        "msg": "text YES NULL",
    },
    "settings": {
        "id": "bigint(20) unsigned NO None", "account": "varchar(255) NO 'global'", "k": V,
        "v": "text YES NULL",
    },
}  # fmt: skip

# table -> (primary key, unique keys, indexed columns), as DATA-MODEL.md names them.
EXPECTED_KEYS = {
    "domain": (("domain",), set(), {"backupmx", "expired", "active"}),
    "alias_domain": (("alias_domain",), set(), {"target_domain", "active"}),
    "alias": (("address",), set(), {"domain"}),
    "forwardings": (
        ("id",),
        {("address", "forwarding")},
        {
            "forwarding",
            "domain",
            "dest_domain",
            "is_maillist",
            "is_list",
            "is_forwarding",
            "is_alias",
        },
    ),  # fmt: skip
    "moderators": (("id",), {("address", "moderator")}, set()),
    "domain_admins": (("username", "domain"), set(), set()),
    "sender_relayhost": (("id",), {("account",)}, set()),
    "throttle": (("id",), {("account", "kind")}, set()),
    "throttle_tracking": (("id",), {("tid", "account")}, set()),
    "sessions": ((), {("session_id",)}, set()),
    "settings": (("id",), {("account", "k")}, set()),
    "log": (("id",), set(), {"admin", "ip", "domain", "username", "event", "loglevel"}),
    "mailbox": (
        ("username",),
        set(),
        {
            "domain",
            "isadmin",
            "isglobaladmin",
            "enablesmtp",
            "enableimap",
            "enabledeliver",
            "enablelib-storage",
            "active",
        },
    ),  # fmt: skip
}


def _columns(cursor, schema: str, table: str) -> dict[str, str]:
    cursor.execute(
        "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT"
        " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
        (schema, table),
    )
    return {name: f"{ctype} {nullable} {default}" for name, ctype, nullable, default in cursor}


def _keys(cursor, schema: str, table: str):
    cursor.execute(
        "SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME FROM information_schema.STATISTICS"
        " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY INDEX_NAME, SEQ_IN_INDEX",
        (schema, table),
    )
    indexes: dict[str, tuple[int, list[str]]] = {}
    for name, non_unique, column in cursor:
        indexes.setdefault(name, (non_unique, []))[1].append(column)
    primary = tuple(indexes.pop("PRIMARY", (0, []))[1])
    unique = {tuple(cols) for non_unique, cols in indexes.values() if not non_unique}
    leading = {cols[0] for _, cols in indexes.values()}
    return primary, unique, leading


@pytest.mark.mysql_only
def test_mariadb_schema_matches_the_data_model(config):
    schemas = {name: db.DATABASES[name].obj.database for name in MODELS_BY_DATABASE}
    table_schema = {
        model._meta.table_name: schemas[name]
        for name, models in MODELS_BY_DATABASE.items()
        for model in models
    }
    connection = mysql_connection()
    with connection.cursor() as cursor:
        for table, expected in EXPECTED_COLUMNS.items():
            assert _columns(cursor, table_schema[table], table) == expected, table
        for table, (primary, unique, indexed) in EXPECTED_KEYS.items():
            got_primary, got_unique, got_leading = _keys(cursor, table_schema[table], table)
            assert got_primary == primary, table
            assert unique <= got_unique, table
            assert indexed <= got_leading, table
        cursor.execute(
            "SELECT CHARACTER_SET_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s"
            " AND TABLE_NAME = 'domain_admins' AND COLUMN_NAME = 'username'",
            (table_schema["domain_admins"],),
        )
        assert cursor.fetchone()[0] == "ascii"
        cursor.execute(
            "SELECT TABLE_NAME, ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA IN %s",
            (tuple(set(schemas.values())),),
        )
        assert {engine for _, engine in cursor} == {"InnoDB"}
    connection.close()


def test_every_table_is_created_and_init_is_idempotent(config):
    for name, models in MODELS_BY_DATABASE.items():
        proxy = db.DATABASES[name]
        with proxy.connection_context():
            tables = set(proxy.get_tables())
        assert {model._meta.table_name for model in models} <= tables
        assert create_tables(name) == []
    db.release_connections()


def test_an_existing_table_is_left_untouched(config, request):
    proxy = db.DATABASES["vmail"]
    with proxy.connection_context():
        proxy.execute_sql("DROP TABLE alias_domain")
        proxy.execute_sql(
            "CREATE TABLE alias_domain (alias_domain VARCHAR(255) NOT NULL PRIMARY KEY,"
            " target_domain VARCHAR(255) NOT NULL, marker INT)"
        )
        proxy.execute_sql("DROP TABLE used_quota")
    try:
        assert create_tables("vmail") == ["used_quota"]
        with proxy.connection_context():
            columns = {column.name for column in proxy.get_columns("alias_domain")}
        assert "marker" in columns
    finally:  # the run's databases live for the whole run: put the real table back
        with proxy.connection_context():
            proxy.execute_sql("DROP TABLE alias_domain")
        create_tables("vmail")
        db.release_connections()
        restore_pgsql_grants(request)


@pytest.mark.mysql_only
@pytest.mark.parametrize(
    ("name", "tables"),
    [("amavisd", [m._meta.table_name for m in MODELS_BY_DATABASE["amavisd"]]),
     ("iredapd", ["greylisting", "greylisting_whitelists", "greylisting_whitelist_domains",
                  "greylisting_whitelist_domain_spf", "greylisting_tracking"])],
)  # fmt: skip
def test_mariadb_tables_are_iredmails(config, name, tables):
    """The amavisd and greylisting tables init-db makes on MariaDB, compared with those
    iRedMail's amavisd.mysql and iRedAPD's iredapd.mysql make: columns (type, NULL, default),
    keys and triggers (amavisd's maddr)."""
    from tests.iredmail_schema import iredmail_databases

    ours = db.DATABASES[name].obj.database
    with iredmail_databases("mysql") as urls:
        theirs = urls[name].rsplit("/", 1)[1]
        connection = mysql_connection()
        with connection.cursor() as cursor:

            def describe(schema):
                cursor.execute(
                    "SELECT TRIGGER_NAME, EVENT_MANIPULATION, ACTION_TIMING"
                    " FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s",
                    (schema,),
                )
                triggers = set(cursor.fetchall())
                return triggers, {
                    table: (_columns(cursor, schema, table), _keys(cursor, schema, table))
                    for table in tables
                }

            assert describe(ours) == describe(theirs)
        connection.close()
