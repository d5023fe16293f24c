"""The `amavisd` database: spam policies and white/blacklists (read by Amavisd and by iRedAPD's
`amavisd_wblist` plugin), and Amavisd's own log and quarantine tables, which the API never
writes but `mailapi init-db` makes as iRedMail's schema does (spec/amavisd.md §2.1).

No foreign keys anywhere: `users.policy_id` → `policy.id`, `wblist.rid` → `users.id`,
`wblist.sid` → `mailaddr.id`, and the other way round in `outbound_wblist`; the rules keep them
consistent (shared/rules/spam_policies.py, shared/rules/wblists.py).
"""

from __future__ import annotations

import peewee

from shared.db import amavisd_db, backend
from shared.models.base import CheckedModel
from shared.models.fields import BackendTypeField, PerBackend, UnsignedBigAutoField, default_sql


class AmavisdModel(CheckedModel):
    class Meta:
        database = amavisd_db
        legacy_table_names = False


class AddressField(BackendTypeField):
    """An address as Amavisd keeps it: VARBINARY (MySQL) or BYTEA (PostgreSQL), compared byte
    for byte, so the API stores lower-case UTF-8 and passes bytes; text in the embedded SQLite
    store (SQLite never equals a BLOB to a TEXT)."""

    def __init__(self, length: int = 255, **kwargs):
        super().__init__(f"VARBINARY({length})", "BYTEA", f"VARCHAR({length})", **kwargs)
        self.max_length = length

    def db_value(self, value):
        if isinstance(value, str) and backend(self.model._meta.database) != "sqlite":
            return value.encode("utf-8")
        return value

    def python_value(self, value):
        if isinstance(value, bytes | memoryview):
            return bytes(value).decode("utf-8", "replace")
        return value


def unsigned_int(name: str, **kwargs) -> BackendTypeField:
    """INT UNSIGNED on MySQL, INTEGER with a CHECK (≥ 0) on PostgreSQL."""
    check = PerBackend("", postgresql=f"CHECK ({name} >= 0)")
    constraints = kwargs.pop("constraints", []) + [check]
    return BackendTypeField("INT UNSIGNED", "INTEGER", "INTEGER", constraints=constraints, **kwargs)


class UnsignedAutoField(peewee.AutoField):
    """INT UNSIGNED AUTO_INCREMENT (MySQL), SERIAL (PostgreSQL)."""

    def ddl_datatype(self, ctx):
        return PerBackend("INTEGER", mysql="INT UNSIGNED AUTO_INCREMENT", postgresql="SERIAL")


def yes_no() -> peewee.FixedCharField:
    """CHAR(1) DEFAULT NULL: 'Y', 'N', or NULL (not set here: a less specific policy, then
    amavisd.conf, decides)."""
    return peewee.FixedCharField(1, null=True)


def short_text() -> peewee.CharField:
    return peewee.CharField(max_length=64, null=True)


class AmavisdUser(AmavisdModel):
    """A local account with a policy and/or white/blacklists: `user@domain`, `@domain`, `@.`."""

    id = UnsignedAutoField()
    priority = peewee.IntegerField(default=7, constraints=default_sql(7))
    # DEFAULT 1 would link a row to whatever policy has id 1: the API always writes it.
    policy_id = unsigned_int("policy_id", default=0, constraints=default_sql(1))
    email = AddressField(unique=True)
    fullname = peewee.CharField(max_length=255, null=True)

    class Meta:
        table_name = "users"


class MailAddr(AmavisdModel):
    """The other side of a white/blacklist entry: a sender (inbound) or recipient (outbound)."""

    id = UnsignedAutoField()
    priority = peewee.IntegerField(default=7, constraints=default_sql(7))
    email = AddressField(unique=True)

    class Meta:
        table_name = "mailaddr"


class Wblist(AmavisdModel):
    """Inbound: `rid` = users.id (the local recipient), `sid` = mailaddr.id (the sender)."""

    rid = unsigned_int("rid")
    sid = unsigned_int("sid")
    wb = peewee.CharField(max_length=10)

    class Meta:
        table_name = "wblist"
        primary_key = peewee.CompositeKey("rid", "sid")


class OutboundWblist(AmavisdModel):
    """Outbound (read by iRedAPD only): `rid` = mailaddr.id (the external recipient), `sid` =
    users.id (the local sender)."""

    rid = unsigned_int("rid")
    sid = unsigned_int("sid")
    wb = peewee.CharField(max_length=10)

    class Meta:
        table_name = "outbound_wblist"
        primary_key = peewee.CompositeKey("rid", "sid")


class Policy(AmavisdModel):
    id = UnsignedAutoField()
    # iRedMail widens it (VARCHAR(255) NOT NULL DEFAULT '' on MySQL, nullable on PostgreSQL)
    # and makes it unique: the API names each policy after its account.
    policy_name = peewee.CharField(
        max_length=255, null=True, unique=True,
        constraints=[PerBackend("NOT NULL DEFAULT ''", postgresql="")],
    )  # fmt: skip
    virus_lover = yes_no()
    spam_lover = yes_no()
    unchecked_lover = yes_no()
    banned_files_lover = yes_no()
    bad_header_lover = yes_no()
    bypass_virus_checks = yes_no()
    bypass_spam_checks = yes_no()
    bypass_banned_checks = yes_no()
    bypass_header_checks = yes_no()
    virus_quarantine_to = short_text()
    spam_quarantine_to = short_text()
    banned_quarantine_to = short_text()
    unchecked_quarantine_to = short_text()
    bad_header_quarantine_to = short_text()
    clean_quarantine_to = short_text()
    archive_quarantine_to = short_text()
    spam_tag_level = peewee.FloatField(null=True)
    spam_tag2_level = peewee.FloatField(null=True)
    spam_tag3_level = peewee.FloatField(null=True)
    spam_kill_level = peewee.FloatField(null=True)
    spam_dsn_cutoff_level = peewee.FloatField(null=True)
    spam_quarantine_cutoff_level = peewee.FloatField(null=True)
    addr_extension_virus = short_text()
    addr_extension_spam = short_text()
    addr_extension_banned = short_text()
    addr_extension_bad_header = short_text()
    warnvirusrecip = yes_no()
    warnbannedrecip = yes_no()
    warnbadhrecip = yes_no()
    newvirus_admin = short_text()
    virus_admin = short_text()
    banned_admin = short_text()
    bad_header_admin = short_text()
    spam_admin = short_text()
    spam_subject_tag = short_text()
    spam_subject_tag2 = short_text()
    spam_subject_tag3 = short_text()
    message_size_limit = peewee.IntegerField(null=True)
    banned_rulenames = short_text()
    disclaimer_options = short_text()
    forward_method = short_text()
    sa_userconf = short_text()
    sa_username = short_text()

    class Meta:
        table_name = "policy"


# -- Amavisd's log and quarantine (its @storage_sql_dsn): made, never written by the API ------
def partition_tag():
    return peewee.IntegerField(null=True, default=0, constraints=default_sql(0))


def binary(mysql: str, null: bool = False, default: str | None = None) -> BackendTypeField:
    constraints = default_sql(default) if default is not None else []
    return BackendTypeField(mysql, "BYTEA", "BLOB", null=null, constraints=constraints)


def char1(default: str | None = None, null: bool = True) -> peewee.FixedCharField:
    constraints = default_sql(default) if default is not None else []
    return peewee.FixedCharField(1, null=null, constraints=constraints)


def optional_varchar() -> peewee.CharField:
    return peewee.CharField(max_length=255, null=True, constraints=default_sql(""))


class Maddr(AmavisdModel):
    partition_tag = partition_tag()
    id = UnsignedBigAutoField()
    email = binary("VARBINARY(255)")
    # Filled in by a trigger (shared/schema_amavisd.py): the address without its +extension.
    email_raw = BackendTypeField(
        "VARBINARY(255)", "VARCHAR(255)", "VARCHAR(255)", constraints=default_sql("")
    )
    domain = BackendTypeField("VARCHAR(255)", "BYTEA", "VARCHAR(255)")

    class Meta:
        table_name = "maddr"
        indexes = (
            (("partition_tag", "email"), True),
            (("email",), False),
            (("email_raw",), False),
            (("domain",), False),
        )


class Msgs(AmavisdModel):
    partition_tag = partition_tag()
    mail_id = binary("VARBINARY(16)")
    secret_id = binary("VARBINARY(16)", null=True, default="")
    am_id = peewee.CharField(max_length=20)
    time_num = unsigned_int("time_num")
    time_iso = BackendTypeField("CHAR(16)", "TIMESTAMP WITH TIME ZONE", "CHAR(16)")
    sid = BackendTypeField(
        "BIGINT UNSIGNED", "INTEGER", "INTEGER",
        constraints=[PerBackend("", postgresql="CHECK (sid >= 0)")],
    )  # fmt: skip
    policy = optional_varchar()
    client_addr = optional_varchar()
    size = unsigned_int("size")
    originating = char1(" ", null=False)
    content = char1()
    quar_type = char1()
    quar_loc = BackendTypeField(
        "VARBINARY(255)", "VARCHAR(255)", "VARCHAR(255)", null=True, constraints=default_sql("")
    )
    dsn_sent = char1()
    spam_level = peewee.FloatField(null=True)
    message_id = optional_varchar()
    from_addr = BackendTypeField(
        "VARBINARY(255)", "BYTEA", "BLOB", null=True,
        constraints=[PerBackend("NOT NULL DEFAULT ''", postgresql="DEFAULT ''")],
    )  # fmt: skip
    subject = BackendTypeField(
        "VARBINARY(1024)", "BYTEA", "BLOB", null=True,
        constraints=[PerBackend("NOT NULL DEFAULT ''", postgresql="DEFAULT ''")],
    )  # fmt: skip
    host = peewee.CharField(max_length=255)

    class Meta:
        table_name = "msgs"
        primary_key = peewee.CompositeKey("partition_tag", "mail_id")
        indexes = tuple(
            ((column,), False)
            for column in ("sid", "message_id", "time_num", "mail_id", "content", "quar_type",
                           "spam_level", "time_iso")
        ) + ((("content", "time_num"), False),)  # fmt: skip
        postgresql_indexes = {("content", "time_num"): None}


class Msgrcpt(AmavisdModel):
    partition_tag = partition_tag()
    mail_id = binary("VARBINARY(16)")
    rseqnum = peewee.IntegerField(default=0, constraints=default_sql(0))
    rid = BackendTypeField("BIGINT UNSIGNED", "INTEGER", "INTEGER")
    is_local = char1(" ", null=False)
    content = char1(" ", null=False)
    ds = peewee.FixedCharField(1)
    rs = peewee.FixedCharField(1)
    bl = char1(" ")
    wl = char1(" ")
    bspam_level = peewee.FloatField(null=True)
    smtp_resp = optional_varchar()

    class Meta:
        table_name = "msgrcpt"
        primary_key = peewee.CompositeKey("partition_tag", "mail_id", "rseqnum")
        indexes = ((("mail_id",), False), (("rid",), False))


class Quarantine(AmavisdModel):
    partition_tag = partition_tag()
    mail_id = binary("VARBINARY(16)")
    chunk_ind = unsigned_int("chunk_ind")
    mail_text = binary("BLOB")

    class Meta:
        table_name = "quarantine"
        primary_key = peewee.CompositeKey("partition_tag", "mail_id", "chunk_ind")
        indexes = ((("mail_id",), False),)
        postgresql_indexes = {("mail_id",): None}


AMAVISD_MODELS = (
    AmavisdUser, MailAddr, Wblist, OutboundWblist, Policy, Maddr, Msgs, Msgrcpt, Quarantine,
)  # fmt: skip
