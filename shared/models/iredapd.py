"""The `iredapd` database: throttle settings and their trackers (DATA-MODEL.md §4)."""

from __future__ import annotations

import peewee

from shared.db import iredapd_db
from shared.models.base import CheckedModel
from shared.models.fields import (
    PerBackend,
    UnsignedBigAutoField,
    UnsignedTinyIntField,
    bigint,
    default_sql,
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


IREDAPD_MODELS = (Throttle, ThrottleTracking)
