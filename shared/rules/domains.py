"""Domains: create, read, list, update and delete with the full cascade (DATA-MODEL.md §1–3)."""

from __future__ import annotations

import datetime
import ipaddress
import re

import peewee

from shared import settings_text
from shared.db import lock_for_update, sql_concat, vmail_db
from shared.errors import ApiError
from shared.identity import Identity
from shared.models.base import require_fit
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
from shared.paging import filter_list
from shared.params import Params, list_change
from shared.rules import admins, cascade
from shared.rules.addresses import (
    forwarding_sources_to,
    list_addresses,
    require_existing_local,
    restore_self_rows,
)
from shared.timeutil import utcnow, utctoday
from shared.validation import domain_of, is_mailbox_address

TRANSPORT = re.compile(r"^[A-Za-z0-9._:\[\]@/-]+$")
RELAYHOST = re.compile(r"^(?:smtp|relay|lmtp):(?:\[[A-Za-z0-9.:-]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$")
HOSTNAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
BRACKETED = re.compile(r"^\[([A-Za-z0-9.:-]+)\](?::(\d{1,5}))?$")

# Domain-level services (settings `enabled_services`) and the page names that can be hidden.
DOMAIN_SERVICES = frozenset({"self-service"})
PROFILE_PAGES = {
    "disabled_domain_profiles": frozenset({
        "general", "bcc", "relay", "catchall", "aliases", "backupmx", "throttle",
        "greylisting", "wblist", "spampolicy", "advanced",
    }),
    "disabled_user_profiles": frozenset({
        "general", "forwarding", "bcc", "relay", "aliases", "throttle", "greylisting",
        "wblist", "spampolicy", "password", "advanced",
    }),
    "disabled_user_preferences": frozenset({
        "personal_info", "forwarding", "password", "wblist", "spampolicy", "quarantine",
        "greylisting", "throttle",
    }),
}  # fmt: skip
PAGE_PARAMS = {
    "disabled_domain_profiles": ("disableDomainProfile", "enableDomainProfile"),
    "disabled_user_profiles": ("disableUserProfile", "enableUserProfile"),
    "disabled_user_preferences": ("disableUserPreference", "enableUserPreference"),
}
INT_LIMIT = 2**31 - 1
ALLOCATIONS = ("maxquota", "mailboxes", "aliases", "maillists")  # what an admin's limits cap


# -- parameters ----------------------------------------------------------------------------
def transport_param(params: Params, domain: str, column, name: str = "transport") -> str | None:
    """A Postfix transport (`service:nexthop`) for accounts of `domain`, stored in `column`.

    iRedMail's `mlmmj` pipe writes into `<spool>/${nexthop}`: it may only name a list of the
    same domain (`mlmmj:<domain>/<list>`), or a tenant could feed another domain's list. No
    nexthop may climb out of a directory (`..`)."""
    value = params.get_str(name, column=column)
    if value is None:
        return None
    if not TRANSPORT.match(value):
        raise ApiError("INVALID_TRANSPORT", value[:300])
    service, _, nexthop = value.partition(":")
    if ".." in re.split(r"[/:\[\]]", nexthop):
        raise ApiError("INVALID_TRANSPORT", f"{name}: no '..' in the next hop")
    if service.lower() == "mlmmj":
        list_domain, _, listname = nexthop.partition("/")
        if list_domain != domain or not is_mailbox_address(f"{listname}@{domain}"):
            raise ApiError("INVALID_TRANSPORT", f"{name}: mlmmj:{domain}/<list> of this domain")
    return value


def relayhost_param(params: Params, name: str = "outboundRelay") -> str | None:
    value = params.get_str(name, column=SenderRelayhost.relayhost)
    if value and not RELAYHOST.match(value):
        raise ApiError("INVALID_PARAM", f"{name} must look like smtp:[host]:port")
    return value


def backup_mx_transport(domain: str, primary_mx: str | None) -> str:
    """`relay:` transport of a backup MX domain: to the primary MX, else by MX lookup."""
    if not primary_mx:
        return f"relay:{domain}"
    bracketed = BRACKETED.match(primary_mx)
    if bracketed:
        host, port = bracketed.groups()
        if port and not 0 < int(port) < 65536:
            raise ApiError("INVALID_PARAM", "primarymx: port out of range")
        return f"relay:{primary_mx}"
    try:
        ipaddress.ip_address(primary_mx)
        return f"relay:[{primary_mx}]"
    except ValueError:
        pass
    if not HOSTNAME.match(primary_mx):
        raise ApiError("INVALID_PARAM", "primarymx must be an IP address, a host or [host]:port")
    return f"relay:[{primary_mx}]"


def page_changes(params: Params, current: dict[str, str]) -> dict[str, list[str]]:
    """New values of the disabled-page lists from disable*/enable* parameters."""
    changes = {}
    for key, (disable, enable) in PAGE_PARAMS.items():
        if disable not in params and enable not in params:
            continue
        pages = set(filter(None, current.get(key, "").split(",")))
        for name, add in ((disable, True), (enable, False)):
            for page in params.get_list(name, [], lower=True):
                if page not in PROFILE_PAGES[key]:
                    raise ApiError("INVALID_PARAM", f"{name}: unknown page {page}")
                (pages.add if add else pages.discard)(page)
        changes[key] = sorted(pages)
    return changes


def service_changes(params: Params, current: dict[str, str]) -> dict[str, list[str]]:
    params.reject_combined("services", "addService", "removeService")
    if not {"services", "addService", "removeService"} & params.names():
        return {}
    for name in ("services", "addService", "removeService"):
        for service in params.get_list(name, [], lower=True):
            if service not in DOMAIN_SERVICES:
                raise ApiError("INVALID_SERVICE", service)
    services = list_change(
        set(filter(None, current.get("enabled_services", "").split(","))),
        params.get_list("services", None, lower=True),
        params.get_list("addService", [], lower=True),
        params.get_list("removeService", [], lower=True),
    )
    return {"enabled_services": sorted(services)}


# -- reading -------------------------------------------------------------------------------
def domain_taken(domain: str) -> bool:
    """Whether the name is taken as a domain or as an alias domain."""
    return (
        Domain.select(Domain.domain).where(Domain.domain == domain)
        | AliasDomain.select(AliasDomain.alias_domain).where(AliasDomain.alias_domain == domain)
    ).exists()


def _bcc_of(model, domain: str) -> str:
    row = model.select(model.bcc_address).where(model.domain == domain).first()
    return row.bcc_address if row else ""


def row_to_profile(profile: dict) -> dict:
    """A `domain` row as the API shows it (settings as an object, no NULL text)."""
    profile["settings"] = settings_text.as_object(profile["settings"])
    profile["description"] = profile["description"] or ""
    profile["disclaimer"] = profile["disclaimer"] or ""
    return profile


def domain_profile(domain: str) -> dict:
    profile = Domain.select().where(Domain.domain == domain).dicts().first()
    if profile is None:
        raise ApiError("NO_SUCH_DOMAIN", domain)
    row_to_profile(profile)
    mailboxes = Mailbox.select(
        peewee.fn.COUNT(Mailbox.username), peewee.fn.COALESCE(peewee.fn.SUM(Mailbox.quota), 0)
    ).where(Mailbox.domain == domain)
    users, allocated = mailboxes.tuples().get()
    relay = SenderRelayhost.select(SenderRelayhost.relayhost).where(
        SenderRelayhost.account == "@" + domain
    )
    profile.update(
        catchall=[
            r.forwarding
            for r in Forwarding.select(Forwarding.forwarding)
            .where(Forwarding.address == domain)
            .order_by(Forwarding.forwarding)
        ],
        alias_domains=[
            r.alias_domain
            for r in AliasDomain.select(AliasDomain.alias_domain)
            .where(AliasDomain.target_domain == domain)
            .order_by(AliasDomain.alias_domain)
        ],
        num_existing_users=users,
        num_existing_aliases=Alias.select().where(Alias.domain == domain).count(),
        allocated_quota=int(allocated),
        admins=[
            r.username
            for r in DomainAdmin.select(DomainAdmin.username)
            .where(DomainAdmin.domain == domain)
            .order_by(DomainAdmin.username)
        ],
        sender_bcc=_bcc_of(SenderBccDomain, domain),
        recipient_bcc=_bcc_of(RecipientBccDomain, domain),
        outbound_relay=(relay.scalar() or ""),
    )
    return profile


def domains_query(caller: Identity, params: Params):
    """The domains the caller manages, filtered as the parameters say, ordered by name."""
    query = Domain.select().order_by(Domain.domain)
    if caller.scoped:
        query = query.where(Domain.domain.in_(sorted(caller.domains)))
    elif not caller.is_global:
        managed = DomainAdmin.select(DomainAdmin.domain).where(
            (DomainAdmin.username == caller.admin) & (DomainAdmin.active == 1)
        )
        query = query.where(Domain.domain.in_(managed))
    return filter_list(query, params, Domain.active)


DOMAIN_SEARCH_FIELDS = (Domain.domain, Domain.description)


# -- creating ------------------------------------------------------------------------------
def create_domain(caller: Identity, domain: str, params: Params, config) -> None:
    """Insert the domain row (and its BCC rows) in one transaction; ALREADY_EXISTS on a clash."""
    name = params.get_str("name", "", column=Domain.description)
    quota = params.get_int("quota", 0, minimum=0)
    language = params.get_language()
    transport = transport_param(params, domain, Domain.transport) or config.default_transport
    default_quota = params.get_int("defaultQuota", 0, minimum=0)
    max_user_quota = params.get_int("maxUserQuota", 0, minimum=0)
    limits = {
        column: params.get_int(param, 0, minimum=-1, maximum=INT_LIMIT)
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
    cascade.before_taking(domain)
    now = utcnow()
    with vmail_db.atomic():
        if not caller.is_global:
            settings_of_admin = admins.require_domain_creator(caller)
            admins.check_domain_count(caller, settings_of_admin)
            admins.check_creator_limits(
                caller, settings_of_admin, {"maxquota": quota, **limits}, domain
            )
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
        set_domain_bcc(SenderBccDomain, domain, sender_bcc, now)
        set_domain_bcc(RecipientBccDomain, domain, recipient_bcc, now)
        if not caller.is_global:
            DomainAdmin.insert(
                username=caller.admin, domain=domain, created=now, modified=now
            ).execute()


def set_domain_bcc(model, domain: str, address: str, now) -> None:
    """One BCC address per domain; empty removes it (Postfix ignores `active` here)."""
    model.delete().where(model.domain == domain).execute()
    if address:
        model.insert(domain=domain, bcc_address=address, created=now, modified=now).execute()


# -- updating ------------------------------------------------------------------------------
def update_domain(caller: Identity, domain: str, params: Params, config) -> None:
    """Apply every PUT parameter given, in one transaction on the locked domain row."""
    columns, settings = _column_changes(domain, params)
    backup_given = "is_backupmx" in params or "primarymx" in params
    if backup_given and "transport" in params:
        raise ApiError("INVALID_PARAM", "is_backupmx/primarymx cannot be combined with transport")
    params.reject_combined("aliasDomains", "addAliasDomain", "removeAliasDomain")
    catchall = params.get_address_list("catchall")
    relay = relayhost_param(params)
    sender_bcc = params.get_address("senderBcc")
    recipient_bcc = params.get_address("recipientBcc")
    alias_domains = _alias_domain_params(domain, params)
    now = utcnow()
    with vmail_db.atomic():
        row = lock_for_update(Domain.select().where(Domain.domain == domain)).first()
        if row is None:
            raise ApiError("NO_SUCH_DOMAIN", domain)
        allocated = {column: columns[column] for column in ALLOCATIONS if column in columns}
        if allocated and not caller.is_global:
            admins.check_creator_limits(caller, admins.creator_settings(caller), allocated, domain)
        current = settings_text.parse(row.settings)
        settings.update(service_changes(params, current))
        settings.update(page_changes(params, current))
        if backup_given:
            columns.update(_backup_mx_columns(domain, row, params, config))
        columns["settings"] = settings_text.update(row.settings, **settings)
        columns["modified"] = now
        Domain.update(**columns).where(Domain.domain == domain).execute()
        if catchall is not None:
            _set_catchall(caller, domain, catchall)
        if relay is not None:
            _set_relayhost("@" + domain, relay)
        if sender_bcc is not None:
            set_domain_bcc(SenderBccDomain, domain, sender_bcc, now)
        if recipient_bcc is not None:
            set_domain_bcc(RecipientBccDomain, domain, recipient_bcc, now)
        if alias_domains is not None:
            _apply_alias_domains(caller, domain, *alias_domains, now)


def _column_changes(domain: str, params: Params) -> tuple[dict, dict]:
    columns: dict = {}
    settings: dict = {}
    if "name" in params:
        columns["description"] = params.get_str("name", column=Domain.description)
    if "quota" in params:
        columns["maxquota"] = params.get_int("quota", minimum=0)
    if "transport" in params:
        columns["transport"] = transport_param(params, domain, Domain.transport) or ""
        if not columns["transport"]:
            raise ApiError("INVALID_TRANSPORT", "transport cannot be empty")
    if "accountStatus" in params:
        columns["active"] = params.get_status()
    for param, column in (
        ("numberOfUsers", "mailboxes"),
        ("numberOfAliases", "aliases"),
        ("numberOfLists", "maillists"),
    ):
        if param in params:
            columns[column] = params.get_int(param, minimum=-1, maximum=INT_LIMIT)
    for param, key in (
        ("defaultQuota", "default_user_quota"),
        ("maxUserQuota", "max_user_quota"),
        ("minPasswordLength", "min_passwd_length"),
        ("maxPasswordLength", "max_passwd_length"),
    ):
        if param in params:
            settings[key] = params.get_int(param, minimum=0, maximum=INT_LIMIT) or None
    if "language" in params:
        settings["default_language"] = params.get_language() or None
    return columns, settings


def _backup_mx_columns(domain: str, row: Domain, params: Params, config) -> dict:
    backup = params.get_bool("is_backupmx", bool(row.backupmx))
    primary_mx = params.get_str("primarymx")
    if not backup:
        if primary_mx:
            raise ApiError("INVALID_PARAM", "primarymx needs is_backupmx=yes")
        return {"backupmx": 0, "transport": config.default_transport}
    transport = backup_mx_transport(domain, primary_mx)
    require_fit(Domain.transport, transport, "primarymx")
    return {"backupmx": 1, "transport": transport}


def _set_catchall(caller: Identity, domain: str, destinations: list[str]) -> None:
    require_existing_local(caller, destinations, "catchall")
    Forwarding.delete().where(Forwarding.address == domain).execute()
    if destinations:
        Forwarding.insert_many(
            [
                {"address": domain, "forwarding": dest, "domain": domain,
                 "dest_domain": domain_of(dest), "active": 1}
                for dest in destinations
            ]
        ).execute()  # fmt: skip


def _set_relayhost(account: str, relayhost: str) -> None:
    SenderRelayhost.delete().where(SenderRelayhost.account == account).execute()
    if relayhost:
        SenderRelayhost.insert(account=account, relayhost=relayhost).execute()


def _alias_domain_params(domain: str, params: Params):
    """(replace-all list or None, to add, to remove), validated; None when none was given."""
    given = {"aliasDomains", "addAliasDomain", "removeAliasDomain"} & params.names()
    if not given:
        return None
    replace = params.get_domain_list("aliasDomains")
    add = params.get_domain_list("addAliasDomain", [])
    remove = params.get_domain_list("removeAliasDomain", [])
    for name in (replace or []) + add:
        if name == domain:
            raise ApiError("ALREADY_EXISTS", f"{name} is the domain itself")
    return replace, add, remove


def _apply_alias_domains(caller: Identity, domain: str, replace, add, remove, now) -> None:
    """An alias domain claims a domain name for the whole server (every local sender's mail to
    it lands in this domain), as creating a domain does: a domain admin adds one only with the
    right to create domains."""
    current = {
        r.alias_domain
        for r in AliasDomain.select(AliasDomain.alias_domain).where(
            AliasDomain.target_domain == domain
        )
    }
    wanted = list_change(current, replace, add, remove)
    if wanted - current and not caller.is_global:
        admins.require_domain_creator(caller)
    for name in sorted(wanted - current):
        if domain_taken(name):
            raise ApiError("ALREADY_EXISTS", name)
        cascade.before_taking(name)
    gone = current - wanted
    if gone:
        AliasDomain.delete().where(
            (AliasDomain.target_domain == domain) & AliasDomain.alias_domain.in_(sorted(gone))
        ).execute()
    new = sorted(wanted - current)
    if new:
        try:
            AliasDomain.insert_many(
                [
                    {"alias_domain": name, "target_domain": domain, "created": now,
                     "modified": now, "active": 1}
                    for name in new
                ]
            ).execute()  # fmt: skip
        except peewee.IntegrityError:
            raise ApiError("ALREADY_EXISTS", ", ".join(new)) from None


# -- deleting ------------------------------------------------------------------------------
def delete_domain(domain: str, admin: str, keep_days: int | None) -> None:
    """The cascade of DATA-MODEL.md §3: set-based statements, one transaction per database,
    journaled so that a failure between them is finished later (shared/rules/cascade.py)."""
    delete_date = utctoday() + datetime.timedelta(days=keep_days) if keep_days else None
    cascade.run(
        cascade.Operation(cascade.DELETE_DOMAIN, domain),
        lambda: _delete_domain_rows(domain, admin, delete_date),
    )


def _delete_domain_rows(domain: str, admin: str, delete_date) -> None:
    like = "%@" + domain
    with vmail_db.atomic():
        if not lock_for_update(Domain.select().where(Domain.domain == domain)).exists():
            raise ApiError("NO_SUCH_DOMAIN", domain)
        record_deleted_mailboxes(Mailbox.domain == domain, admin, delete_date)
        forwarders = forwarding_sources_to(
            (Forwarding.dest_domain == domain) & (Forwarding.domain != domain)
        )
        Forwarding.delete().where(
            (Forwarding.domain == domain) | (Forwarding.dest_domain == domain)
        ).execute()
        restore_self_rows(forwarders)
        # Other domains' lists lose the domain's moderators with their files (mlmmj_lists).
        Moderator.delete().where(
            (Moderator.domain == domain)
            | ((Moderator.dest_domain == domain) & Moderator.address.not_in(list_addresses()))
        ).execute()
        # Admin rows of the domain's own mailboxes go with them; a standalone admin whose
        # address merely ends in @domain (the `admin` table) keeps its rights.
        mailbox_admins = Mailbox.select(Mailbox.username).where(Mailbox.domain == domain)
        DomainAdmin.delete().where(
            (DomainAdmin.domain == domain) | DomainAdmin.username.in_(mailbox_admins)
        ).execute()
        for model in (SenderBccDomain, RecipientBccDomain, SenderBccUser, RecipientBccUser):
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
