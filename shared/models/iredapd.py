"""The `iredapd` database: throttle settings and their trackers (DATA-MODEL.md §4)."""

from __future__ import annotations

import peewee

from shared.db import iredapd_db
from shared.models.base import CheckedModel
from shared.models.fields import (
    BackendTypeField,
    BackendVarcharField,
    PerBackend,
    UnsignedBigAutoField,
    UnsignedTinyIntField,
    bigint,
    default_sql,
    flag,
    varchar,
)


class IredapdModel(CheckedModel):
    class Meta:
        database = iredapd_db
        legacy_table_names = False


class UnsignedIntField(peewee.IntegerField):
    field_type = "INT UNSIGNED"


class Throttle(IredapdModel):
    id = UnsignedBigAutoField()
    account = peewee.CharField(max_length=255)
    kind = varchar(10, default="outbound")
    priority = UnsignedTinyIntField(default=0, constraints=default_sql(0))
    period = UnsignedIntField(default=0, constraints=default_sql(0))
    msg_size = bigint(-1)
    max_msgs = bigint(-1)
    max_quota = bigint(-1)
    max_rcpts = bigint(-1)

    class Meta:
        table_name = "throttle"
        indexes = ((("account", "kind"), True),)
        # iRedAPD's PostgreSQL schema: no unique key (db.upsert locks instead).
        postgresql_indexes = {("account", "kind"): None, ("account",): False}


class ThrottleTracking(IredapdModel):
    """Counters iRedAPD keeps per throttle; `tid` points at throttle.id without cascade."""

    id = UnsignedBigAutoField()
    # NOT NULL DEFAULT 0 on MySQL; nullable (a REFERENCES throttle(id) there) on PostgreSQL.
    tid = peewee.BigIntegerField(
        null=True, default=0, constraints=[PerBackend("NOT NULL DEFAULT 0", postgresql="")]
    )
    account = varchar()
    period = UnsignedIntField(default=0, constraints=default_sql(0))
    cur_msgs = UnsignedIntField(default=0, constraints=default_sql(0))
    cur_quota = UnsignedIntField(default=0, constraints=default_sql(0))
    init_time = UnsignedIntField(default=0, constraints=default_sql(0))
    last_time = UnsignedIntField(default=0, constraints=default_sql(0))
    last_notify_time = UnsignedIntField(default=0, constraints=default_sql(0))

    class Meta:
        table_name = "throttle_tracking"
        indexes = ((("tid", "account"), True),)
        postgresql_indexes = {("tid", "account"): False}


# -- greylisting (iRedAPD's `greylisting` plugin; spec/greylisting-mlmmj.md §2.1) -------------
def policy_text() -> BackendVarcharField:
    """`account` / `sender`: VARCHAR(100) on MySQL, VARCHAR(255) on PostgreSQL."""
    return BackendVarcharField(100, 255, default="", constraints=default_sql(""))


def small_int(default: int = 0) -> BackendTypeField:
    """TINYINT(2) on MySQL, SMALLINT on PostgreSQL."""
    return BackendTypeField(
        "TINYINT(2)", "SMALLINT", "INTEGER", default=default, constraints=default_sql(default)
    )


def epoch(default: int = 0) -> BackendTypeField:
    """INT(10) UNSIGNED on MySQL, BIGINT on PostgreSQL (epoch seconds)."""
    return BackendTypeField(
        "INT(10) UNSIGNED", "BIGINT", "INTEGER", default=default, constraints=default_sql(default)
    )


class Greylisting(IredapdModel):
    """A greylisting setting: `active` 1 greylists mail to `account` from `sender`."""

    id = UnsignedBigAutoField()
    account = policy_text()
    priority = small_int()
    sender = policy_text()
    sender_priority = small_int()
    comment = varchar()
    active = flag(1)

    class Meta:
        table_name = "greylisting"
        indexes = ((("account", "sender"), True), (("comment",), False))


class GreylistingWhitelist(IredapdModel):
    id = UnsignedBigAutoField()
    account = policy_text()
    sender = policy_text()
    comment = varchar()

    class Meta:
        table_name = "greylisting_whitelists"
        indexes = ((("account", "sender"), True), (("comment",), False))


class GreylistingWhitelistDomain(IredapdModel):
    """Sender domains whose SPF networks iRedAPD's hourly tool whitelists."""

    id = UnsignedBigAutoField()
    domain = varchar(unique=True)

    class Meta:
        table_name = "greylisting_whitelist_domains"


class GreylistingWhitelistDomainSpf(IredapdModel):
    """Written by iRedAPD's SPF tool only (`comment` = `AUTO-UPDATE: <domain>`)."""

    id = UnsignedBigAutoField()
    account = policy_text()
    sender = policy_text()
    comment = varchar()

    class Meta:
        table_name = "greylisting_whitelist_domain_spf"
        indexes = ((("account", "sender"), True), (("comment",), False))


class GreylistingTracking(IredapdModel):
    """The triplets iRedAPD has seen (written by the plugin)."""

    id = UnsignedBigAutoField()
    sender = peewee.CharField(max_length=255)
    recipient = peewee.CharField(max_length=255)
    client_address = peewee.CharField(max_length=40)
    sender_domain = varchar()
    rcpt_domain = varchar()
    init_time = epoch()
    block_expired = epoch()
    record_expired = epoch()
    blocked_count = bigint(0)
    passed = flag(0)

    class Meta:
        table_name = "greylisting_tracking"
        indexes = (
            (("sender", "recipient", "client_address"), True),
            (("sender_domain",), False),
            (("rcpt_domain",), False),
            (("client_address", "passed"), False),
        )


IREDAPD_MODELS = (
    Throttle, ThrottleTracking, Greylisting, GreylistingWhitelist, GreylistingWhitelistDomain,
    GreylistingWhitelistDomainSpf, GreylistingTracking,
)  # fmt: skip
