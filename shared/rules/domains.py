"""Domains: create, read and delete with the full cascade (DATA-MODEL.md §1–3)."""

from __future__ import annotations

import datetime
import re

import peewee

from shared import settings_text
from shared.db import iredapd_db, lock_for_update, sql_concat, vmail_db
from shared.errors import ApiError
from shared.models.iredapd import Throttle, ThrottleTracking
from shared.models.vmail import (
    Alias,
    AliasDomain,
    DeletedMailbox,
    Domain,
    DomainAdmin,
    Forwarding,
    LastLogin,
    Mailbox,
    Moderator,
    RecipientBccDomain,
    RecipientBccUser,
    SenderBccDomain,
    SenderBccUser,
    SenderRelayhost,
    UsedQuota,
)
from shared.params import Params
from shared.timeutil import utcnow, utctoday

LANGUAGE = re.compile(r"^[a-z]{2}(?:_[A-Z]{2})?$")
TRANSPORT = re.compile(r"^[A-Za-z0-9._:\[\]@/-]{1,255}$")


def language_param(params: Params, name: str = "language") -> str | None:
    value = params.get_str(name)
    if value and not LANGUAGE.match(value):
        raise ApiError("INVALID_LANGUAGE", value[:20])
    return value


def transport_param(params: Params, name: str = "transport") -> str | None:
    value = params.get_str(name)
    if value is not None and not TRANSPORT.match(value):
        raise ApiError("INVALID_TRANSPORT", value[:300])
    return value


def domain_exists(domain: str) -> bool:
    """Whether the name is taken as a domain or as an alias domain."""
    taken = Domain.select(Domain.domain).where(Domain.domain == domain) | AliasDomain.select(
        AliasDomain.alias_domain
    ).where(AliasDomain.alias_domain == domain)
    return taken.exists()


def create_domain(domain: str, params: Params, config) -> dict:
    """Insert the domain row (and its BCC rows) in one transaction; ALREADY_EXISTS on a clash."""
    name = params.get_str("name", "")
    quota = params.get_int("quota", 0, minimum=0)
    language = language_param(params)
    transport = transport_param(params) or config.default_transport
    default_quota = params.get_int("defaultQuota", 0, minimum=0)
    max_user_quota = params.get_int("maxUserQuota", 0, minimum=0)
    limits = {
        column: params.get_int(param, 0, minimum=-1, maximum=2**31 - 1)
        for param, column in (
            ("numberOfUsers", "mailboxes"),
            ("numberOfAliases", "aliases"),
            ("numberOfLists", "maillists"),
        )
    }
    sender_bcc = params.get_address("senderBcc", "")
    recipient_bcc = params.get_address("recipientBcc", "")
    settings = settings_text.update(
        "",
        default_user_quota=default_quota or None,
        max_user_quota=max_user_quota or None,
        default_language=language,
    )
    now = utcnow()
    with vmail_db.atomic():
        if lock_for_update(AliasDomain.select().where(AliasDomain.alias_domain == domain)).exists():
            raise ApiError("ALREADY_EXISTS", domain)
        try:
            Domain.insert(
                domain=domain,
                description=name,
                transport=transport,
                maxquota=quota,
                settings=settings,
                created=now,
                modified=now,
                active=1,
                **limits,
            ).execute()
        except peewee.IntegrityError:
            raise ApiError("ALREADY_EXISTS", domain) from None
        for model, address in ((SenderBccDomain, sender_bcc), (RecipientBccDomain, recipient_bcc)):
            if address:
                model.insert(
                    domain=domain, bcc_address=address, created=now, modified=now
                ).execute()
    return {"domain": domain}


def domain_profile(domain: str) -> dict:
    profile = Domain.select().where(Domain.domain == domain).dicts().first()
    if profile is None:
        raise ApiError("NO_SUCH_DOMAIN", domain)
    profile["settings"] = settings_text.as_object(profile["settings"])
    profile["description"] = profile["description"] or ""
    profile["disclaimer"] = profile["disclaimer"] or ""
    return profile


def delete_domain(domain: str, admin: str, keep_days: int | None) -> None:
    """The cascade of DATA-MODEL.md §3: set-based statements, one transaction per database."""
    delete_date = utctoday() + datetime.timedelta(days=keep_days) if keep_days else None
    like = "%@" + domain
    with vmail_db.atomic():
        if not lock_for_update(Domain.select().where(Domain.domain == domain)).exists():
            raise ApiError("NO_SUCH_DOMAIN", domain)
        record_deleted_mailboxes(Mailbox.domain == domain, admin, delete_date)
        Forwarding.delete().where(
            (Forwarding.domain == domain) | (Forwarding.dest_domain == domain)
        ).execute()
        Moderator.delete().where(
            (Moderator.domain == domain) | (Moderator.dest_domain == domain)
        ).execute()
        # Admin rows of the domain's own mailboxes go with them; a standalone admin whose
        # address merely ends in @domain (the `admin` table) keeps its rights.
        mailbox_admins = Mailbox.select(Mailbox.username).where(Mailbox.domain == domain)
        DomainAdmin.delete().where(
            (DomainAdmin.domain == domain) | DomainAdmin.username.in_(mailbox_admins)
        ).execute()
        for model in (SenderBccDomain, RecipientBccDomain):
            model.delete().where((model.domain == domain) | (model.bcc_address**like)).execute()
        for model in (SenderBccUser, RecipientBccUser):
            model.delete().where((model.domain == domain) | (model.bcc_address**like)).execute()
        AliasDomain.delete().where(
            (AliasDomain.alias_domain == domain) | (AliasDomain.target_domain == domain)
        ).execute()
        SenderRelayhost.delete().where(
            (SenderRelayhost.account == "@" + domain) | (SenderRelayhost.account**like)
        ).execute()
        UsedQuota.delete().where(UsedQuota.domain == domain).execute()
        LastLogin.delete().where(LastLogin.domain == domain).execute()
        Alias.delete().where(Alias.domain == domain).execute()
        Mailbox.delete().where(Mailbox.domain == domain).execute()
        Domain.delete().where(Domain.domain == domain).execute()
    delete_throttles((Throttle.account == "@" + domain) | (Throttle.account**like))


def record_deleted_mailboxes(where, admin: str, delete_date) -> int:
    """One `deleted_mailboxes` row per mailbox matched by `where`, in one INSERT … SELECT."""
    maildir = sql_concat(
        Mailbox.storagebasedirectory,
        peewee.Value("/"),
        Mailbox.storagenode,
        peewee.Value("/"),
        Mailbox.maildir,
    )
    query = (
        Mailbox.select(
            peewee.Value(utcnow()),
            Mailbox.username,
            Mailbox.domain,
            peewee.fn.LOWER(maildir),
            peewee.fn.COALESCE(UsedQuota.bytes, 0),
            peewee.fn.COALESCE(UsedQuota.messages, 0),
            peewee.Value(admin),
            peewee.Value(delete_date),
        )
        .join(UsedQuota, peewee.JOIN.LEFT_OUTER, on=(UsedQuota.username == Mailbox.username))
        .where(where)
    )
    fields = [
        DeletedMailbox.timestamp,
        DeletedMailbox.username,
        DeletedMailbox.domain,
        DeletedMailbox.maildir,
        DeletedMailbox.bytes,
        DeletedMailbox.messages,
        DeletedMailbox.admin,
        DeletedMailbox.delete_date,
    ]
    return DeletedMailbox.insert_from(query, fields).execute()


def delete_throttles(where) -> None:
    """Remove throttle settings and, first, their tracking rows (no cascade in iRedAPD)."""
    with iredapd_db.atomic():
        ids = Throttle.select(Throttle.id).where(where)
        ThrottleTracking.delete().where(ThrottleTracking.tid.in_(ids)).execute()
        Throttle.delete().where(where).execute()
