"""The `vmail` database: domains, mailboxes, aliases, forwardings, admins (DATA-MODEL.md §1)."""

from __future__ import annotations

import peewee

from shared.db import vmail_db
from shared.models.base import CheckedModel
from shared.models.fields import (
    NEVER,
    EpochIntField,
    UnsignedBigAutoField,
    ascii_varchar,
    bigint,
    char1,
    date,
    datetime,
    flag,
    integer,
    switch,
    text,
    timestamp_now,
    varchar,
)


class VmailModel(CheckedModel):
    class Meta:
        database = vmail_db
        legacy_table_names = False


class Domain(VmailModel):
    domain = varchar(primary_key=True)
    description = text(empty_default=True)
    disclaimer = text(empty_default=True)
    aliases = integer()
    mailboxes = integer()
    maillists = integer()
    maxquota = bigint()
    quota = bigint()
    transport = varchar(default="dovecot")
    backupmx = flag(0, index=True)
    settings = text(empty_default=True)
    created = datetime()
    modified = datetime()
    expired = datetime(NEVER, index=True)
    active = flag(index=True)

    class Meta:
        table_name = "domain"


class AliasDomain(VmailModel):
    alias_domain = varchar(primary_key=True, pg_default=False)
    target_domain = varchar(index=True, pg_default=False)
    created = datetime()
    modified = datetime()
    active = flag(index=True)

    class Meta:
        table_name = "alias_domain"


SERVICE_FLAGS = (
    "enablesmtp", "enablesmtpsecured", "enablepop3", "enablepop3secured", "enablepop3tls",
    "enableimap", "enableimapsecured", "enableimaptls", "enabledeliver", "enablelda",
    "enablemanagesieve", "enablemanagesievesecured", "enablesieve", "enablesievesecured",
    "enablesievetls", "enableinternal", "enabledoveadm", "enablelib-storage",
    "enablequota-status", "enableindexer-worker", "enablelmtp", "enabledsync", "enablesogo",
)  # fmt: skip


class Mailbox(VmailModel):
    username = varchar(primary_key=True, pg_default=False)
    password = varchar()
    name = varchar()
    language = varchar(5)
    first_name = varchar()
    last_name = varchar()
    mobile = varchar()
    telephone = varchar()
    recovery_email = varchar()
    birthday = date("0001-01-01")
    mailboxformat = varchar(50, default="maildir")
    mailboxfolder = varchar(50, default="Maildir")
    storagebasedirectory = varchar()
    storagenode = varchar()
    maildir = varchar()
    quota = bigint()
    domain = varchar(index=True)
    transport = varchar()
    department = varchar(index=True)
    rank = varchar(default="normal")
    employeeid = varchar(index=True)
    isadmin = flag(0, index=True)
    isglobaladmin = flag(0, index=True)
    enablesmtp = flag(index=True)
    enablesmtpsecured = flag(index=True)
    enablepop3 = flag(index=True)
    enablepop3secured = flag(index=True)
    enablepop3tls = flag(index=True)
    enableimap = flag(index=True)
    enableimapsecured = flag(index=True)
    enableimaptls = flag(index=True)
    enabledeliver = flag(index=True)
    enablelda = flag(index=True)
    enablemanagesieve = flag(index=True)
    enablemanagesievesecured = flag(index=True)
    enablesieve = flag(index=True)
    enablesievesecured = flag(index=True)
    enablesievetls = flag(index=True)
    enableinternal = flag(index=True)
    enabledoveadm = flag(index=True)
    enablelib_storage = flag(index=True, column_name="enablelib-storage")
    enablequota_status = flag(index=True, column_name="enablequota-status")
    enableindexer_worker = flag(index=True, column_name="enableindexer-worker")
    enablelmtp = flag(index=True)
    enabledsync = flag(index=True)
    enablesogo = flag(index=True)
    enablesogowebmail = switch()
    enablesogocalendar = switch()
    enablesogoactivesync = switch()
    allow_nets = text()
    disclaimer = text(empty_default=True)
    settings = text(empty_default=True)
    passwordlastchange = datetime(index=True)
    created = datetime()
    modified = datetime()
    expired = datetime(NEVER, index=True)
    active = flag(index=True)

    class Meta:
        table_name = "mailbox"


class Alias(VmailModel):
    address = varchar(primary_key=True)
    name = varchar()
    accesspolicy = varchar(30)
    domain = varchar()  # indexed below: SQLite's default name would clash with alias_domain
    created = datetime()
    modified = datetime()
    expired = datetime(NEVER, index=True)
    active = flag(index=True)

    class Meta:
        table_name = "alias"


Alias.add_index(Alias.domain, name="alias_domain_idx")


class Forwarding(VmailModel):
    id = UnsignedBigAutoField()
    address = varchar()
    forwarding = varchar(index=True)
    domain = varchar(index=True)
    dest_domain = varchar(index=True)
    is_maillist = flag(0, index=True)
    is_list = flag(0, index=True)
    is_forwarding = flag(0, index=True)
    is_alias = flag(0, index=True)
    active = flag(index=True)

    class Meta:
        table_name = "forwardings"
        indexes = ((("address", "forwarding"), True),)
        postgresql_indexes = {("active",): None, ("address",): False}


class Moderator(VmailModel):
    id = UnsignedBigAutoField()
    address = varchar()
    moderator = varchar()
    domain = varchar(index=True)
    dest_domain = varchar(index=True)

    class Meta:
        table_name = "moderators"
        indexes = ((("address", "moderator"), True),)
        postgresql_indexes = {("address",): False, ("moderator",): False}


class DomainAdmin(VmailModel):
    username = ascii_varchar(index=True)
    domain = ascii_varchar(index=True)
    created = datetime()
    modified = datetime()
    expired = datetime(NEVER, index=True)
    active = flag(index=True)

    class Meta:
        table_name = "domain_admins"
        primary_key = peewee.CompositeKey("username", "domain")
        postgresql_indexes = {("expired",): None}


class Admin(VmailModel):
    username = varchar(primary_key=True)
    password = varchar()
    name = varchar()
    language = varchar(5)
    passwordlastchange = datetime(index=True)
    settings = text(empty_default=True)
    created = datetime()
    modified = datetime()
    expired = datetime(NEVER, index=True)
    active = flag(index=True)

    class Meta:
        table_name = "admin"


class _DomainBcc(VmailModel):
    domain = varchar(primary_key=True)
    bcc_address = varchar(index=True)
    created = datetime()
    modified = datetime()
    expired = datetime(NEVER, index=True)
    active = flag(index=True)


class SenderBccDomain(_DomainBcc):
    class Meta:
        table_name = "sender_bcc_domain"


class RecipientBccDomain(_DomainBcc):
    class Meta:
        table_name = "recipient_bcc_domain"


class _UserBcc(VmailModel):
    username = varchar(primary_key=True)
    bcc_address = varchar(index=True)
    domain = varchar(index=True)
    created = datetime()
    modified = datetime()
    expired = datetime(NEVER, index=True)
    active = flag(index=True)


class SenderBccUser(_UserBcc):
    class Meta:
        table_name = "sender_bcc_user"


class RecipientBccUser(_UserBcc):
    class Meta:
        table_name = "recipient_bcc_user"
        postgresql_indexes = {("domain",): None}


class SenderRelayhost(VmailModel):
    id = UnsignedBigAutoField()
    account = varchar(unique=True)
    relayhost = varchar()

    class Meta:
        table_name = "sender_relayhost"


class DeletedMailbox(VmailModel):
    id = UnsignedBigAutoField()
    timestamp = timestamp_now(index=True)
    username = varchar(index=True)
    domain = varchar(index=True)
    maildir = varchar()
    bytes = bigint()
    messages = bigint()
    admin = varchar(index=True)
    delete_date = peewee.DateField(null=True, index=True)

    class Meta:
        table_name = "deleted_mailboxes"


class UsedQuota(VmailModel):
    """Written by Dovecot; the API reads it and deletes rows of removed users."""

    username = varchar(primary_key=True, pg_default=False)
    bytes = bigint()
    messages = bigint()
    domain = varchar(index=True)

    class Meta:
        table_name = "used_quota"


class LastLogin(VmailModel):
    """Written by Dovecot's last_login plugin (epoch seconds per protocol)."""

    username = varchar(primary_key=True)
    domain = varchar(index=True)
    imap = EpochIntField(null=True, index=True)
    pop3 = EpochIntField(null=True, index=True)
    lda = EpochIntField(null=True, index=True)

    class Meta:
        table_name = "last_login"


class ShareFolder(VmailModel):
    from_user = ascii_varchar(index=True, pg_default=False)
    to_user = ascii_varchar(index=True, pg_default=False)
    dummy = char1(None, null=True)

    class Meta:
        table_name = "share_folder"
        primary_key = peewee.CompositeKey("from_user", "to_user")


class AnyoneShares(VmailModel):
    from_user = peewee.CharField(max_length=255, primary_key=True)
    dummy = char1("1", pg_default=False, null=True)

    class Meta:
        table_name = "anyone_shares"


class Maillist(VmailModel):
    """mlmmj mailing lists (their API comes later; the table exists for the cascades)."""

    id = UnsignedBigAutoField()
    address = varchar(unique=True)
    domain = varchar(index=True)
    transport = varchar()
    accesspolicy = varchar(30)
    maxmsgsize = bigint()
    name = varchar()
    description = text()
    mlid = varchar(36, unique=True)
    is_newsletter = flag(0, index=True)
    settings = text()
    created = datetime()
    modified = datetime()
    expired = datetime(NEVER)
    active = flag(index=True)

    class Meta:
        table_name = "maillists"


class MaillistOwner(VmailModel):
    id = UnsignedBigAutoField()
    address = varchar()
    owner = varchar(index=True)
    domain = varchar(index=True)
    dest_domain = varchar(index=True)

    class Meta:
        table_name = "maillist_owners"
        indexes = ((("address", "owner"), True),)


VMAIL_MODELS = (
    Domain, AliasDomain, Mailbox, Alias, Forwarding, Moderator, DomainAdmin, Admin,
    SenderBccDomain, RecipientBccDomain, SenderBccUser, RecipientBccUser, SenderRelayhost,
    DeletedMailbox, UsedQuota, LastLogin, ShareFolder, AnyoneShares, Maillist, MaillistOwner,
)  # fmt: skip
