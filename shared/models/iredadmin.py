"""The `iredadmin` database: sessions, audit log, settings, and the API's own tables (§5)."""

from __future__ import annotations

import peewee

from shared.db import iredadmin_db
from shared.models.base import CheckedModel
from shared.models.fields import (
    UnsignedBigAutoField,
    flag,
    text,
    timestamp_now,
    varchar,
)


class IredadminModel(CheckedModel):
    class Meta:
        database = iredadmin_db
        legacy_table_names = False


class Session(IredadminModel):
    """iRedAdmin's session table. The API stores only a SHA-512 hex digest of the session id."""

    session_id = peewee.FixedCharField(128, unique=True)
    atime = timestamp_now()
    data = text()

    class Meta:
        table_name = "sessions"
        primary_key = False


class Log(IredadminModel):
    id = UnsignedBigAutoField()
    timestamp = timestamp_now(index=True)
    admin = varchar(index=True, pg_default=False)
    ip = varchar(40, index=True, pg_default=False)
    domain = varchar(index=True)
    username = varchar(index=True)
    event = varchar(20, index=True)
    loglevel = varchar(10, default="info", index=True)
    msg = text()

    class Meta:
        table_name = "log"
        postgresql_indexes = {("admin",): None}


class Setting(IredadminModel):
    id = UnsignedBigAutoField()
    account = varchar(default="global")
    k = varchar(pg_default=False)
    v = text()

    class Meta:
        table_name = "settings"
        indexes = ((("account", "k"), True),)


class ApiKey(IredadminModel):
    """API keys (beyond): only the SHA-256 of the secret is stored."""

    id = UnsignedBigAutoField()
    key_hash = peewee.FixedCharField(64, unique=True)
    name = varchar()
    owner = varchar()
    domains = text()  # NULL: every domain the owner manages; else comma-separated
    read_only = flag(0)
    allowed_networks = text()
    expires = peewee.DateTimeField(null=True)
    created = peewee.DateTimeField()
    last_used = peewee.DateTimeField(null=True)
    revoked = flag(0)

    class Meta:
        table_name = "api_keys"
        indexes = ((("owner", "name"), True),)  # a name is unique per owner


class LoginFailure(IredadminModel):
    """One row per failed login; counted per client address and per username in a window."""

    id = UnsignedBigAutoField()
    ip = varchar(64)
    username = varchar()
    failed_at = peewee.DateTimeField()

    class Meta:
        table_name = "api_login_failures"
        indexes = (
            (("ip", "failed_at"), False),
            (("username", "failed_at"), False),
        )


class PendingCascade(IredadminModel):
    """A write across databases under way (shared/rules/cascade.py): recorded before its first
    step and removed after its last, so that one interrupted in between is finished later."""

    id = UnsignedBigAutoField()
    operation = varchar(20)  # delete_domain, delete_user, rename_user
    account = varchar(index=True)  # the domain or the address
    new_account = varchar(index=True)  # a rename's new address ('' otherwise)
    created = peewee.DateTimeField(index=True)

    class Meta:
        table_name = "api_pending_cascades"


IREDADMIN_MODELS = (Session, Log, Setting, ApiKey, LoginFailure, PendingCascade)
