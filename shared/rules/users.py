"""Mail users: create, read, update, bulk update, rename and delete (DATA-MODEL.md §1–3)."""

from __future__ import annotations

import datetime

import peewee

from shared import settings_text
from shared.db import PreparedQuery, lock_for_update, unindexed, vmail_db
from shared.errors import ApiError
from shared.identity import Identity
from shared.models.vmail import (
    AliasDomain,
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
from shared.paging import filter_list, in_domain
from shared.params import Params, list_change
from shared.passwords import check_hash_prefix, check_policy, hash_password
from shared.rules import cascade, services
from shared.rules.addresses import (
    address_exists,
    forwarding_sources_to,
    list_addresses,
    require_existing_local,
    restore_self_rows,
)
from shared.rules.domains import (
    record_deleted_mailboxes,
    relayhost_param,
    transport_param,
)
from shared.rules.maildirs import (
    generated_maildir,
    mailbox_location,
    require_free_maildir,
    storage_columns,
)
from shared.timeutil import utcnow, utctoday
from shared.validation import domain_of, is_mailbox_address

DISABLED_SERVICE_KEY = "disabled_mail_services"


# -- helpers -------------------------------------------------------------------------------
def locked_domain(domain: str) -> Domain:
    """The domain row, locked until the transaction ends (limits hold under concurrency)."""
    row = lock_for_update(Domain.select().where(Domain.domain == domain)).first()
    if row is None:
        raise ApiError("NO_SUCH_DOMAIN", domain)
    return row


def domain_settings(domain: str) -> dict:
    """The domain's settings object (NO_SUCH_DOMAIN when there is no such domain)."""
    row = Domain.select(Domain.settings).where(Domain.domain == domain).first()
    if row is None:
        raise ApiError("NO_SUCH_DOMAIN", domain)
    return settings_text.as_object(row.settings)


def password_hash_from(params: Params, domain_settings: dict, config, required: bool):
    """The `{SCHEME}` hash from `password` (policy-checked) or `password_hash` (as given)."""
    if "password_hash" in params:
        return check_hash_prefix(params.get_str("password_hash", column=Mailbox.password))
    password = params.get_str("password")
    if password is None and not required:
        return None
    check_policy(
        password or "",
        config,
        min_length=domain_settings.get("min_passwd_length", 0),
        max_length=domain_settings.get("max_passwd_length", 0),
    )
    return hash_password(password, config.default_password_scheme)


def check_quota(domain: Domain, settings: dict, quota: int, username: str | None = None) -> None:
    """Per-user maximum and the domain's total quota (0 counts as max_user_quota)."""
    max_user_quota = settings.get("max_user_quota", 0)
    if max_user_quota and quota > max_user_quota:
        raise ApiError("EXCEEDED_MAX_USER_QUOTA", f"at most {max_user_quota} MB")
    if domain.maxquota > 0:
        counted = quota or max_user_quota
        if not counted:
            raise ApiError("EXCEEDED_DOMAIN_QUOTA_SIZE", "an unlimited mailbox needs maxUserQuota")
        others = Mailbox.select(
            peewee.fn.COALESCE(
                peewee.fn.SUM(
                    peewee.Case(None, [(Mailbox.quota == 0, max_user_quota)], Mailbox.quota)
                ),
                0,
            )
        ).where((Mailbox.domain == domain.domain) & (Mailbox.username != (username or "")))
        if int(others.scalar()) + counted > domain.maxquota:
            raise ApiError("EXCEEDED_DOMAIN_QUOTA_SIZE", f"the domain has {domain.maxquota} MB")


def check_account_limit(domain: Domain) -> None:
    if domain.mailboxes == -1:
        raise ApiError("NOT_ALLOWED", "this domain may hold no mailboxes")
    if domain.mailboxes > 0:
        count = Mailbox.select().where(Mailbox.domain == domain.domain).count()
        if count >= domain.mailboxes:
            raise ApiError("EXCEEDED_DOMAIN_ACCOUNT_LIMIT", f"at most {domain.mailboxes}")


def require_free_address(address: str) -> None:
    if address_exists(address):
        raise ApiError("ALREADY_EXISTS", address)


def self_row(address: str) -> dict:
    domain = domain_of(address)
    return {"address": address, "forwarding": address, "domain": domain, "dest_domain": domain,
            "is_forwarding": 1, "active": 1}  # fmt: skip


# -- create --------------------------------------------------------------------------------
def create_user(caller: Identity, address: str, params: Params, config) -> None:
    domain_name = domain_of(address)
    name = params.get_str("name", "", column=Mailbox.name)
    language = params.get_language() or ""
    requested_quota = params.get_int("quota", None, minimum=0)
    storage = storage_columns(config)
    location = mailbox_location(params, address, storage)
    # Hash before taking the domain lock: bcrypt costs a quarter of a second.
    password = password_hash_from(params, domain_settings(domain_name), config, required=True)
    cascade.before_taking(address)
    now = utcnow()
    with vmail_db.atomic():
        domain = locked_domain(domain_name)
        if domain.backupmx:
            raise ApiError("INVALID_PARAM", f"{domain_name} is a backup MX domain")
        settings = settings_text.as_object(domain.settings)
        quota = (
            settings.get("default_user_quota", 0) if requested_quota is None else requested_quota
        )
        require_free_address(address)
        check_account_limit(domain)
        check_quota(domain, settings, quota)
        maildir = location.pop("maildir", None)
        if maildir is not None:
            require_free_maildir(address, maildir, storage)
        disabled = services.columns_of(
            s for s in settings.get(DISABLED_SERVICE_KEY, []) if s in services.SERVICE_COLUMNS
        )
        flags = services.model_field_names(dict.fromkeys(disabled, 0))
        columns = {
            "username": address, "password": password, "name": name,
            "language": language or settings.get("default_language", ""), "quota": quota,
            "domain": domain_name, "maildir": maildir or generated_maildir(address, now, storage),
            "created": now, "modified": now, "passwordlastchange": now, "active": 1, **storage,
            **location, **flags,
        }  # fmt: skip
        try:
            Mailbox.insert(**columns).execute()
            Forwarding.insert(**self_row(address)).execute()
        except peewee.IntegrityError:
            raise ApiError("ALREADY_EXISTS", address) from None


# -- read ----------------------------------------------------------------------------------
def public_row(row: dict, hidden) -> dict:
    for name in hidden:
        row.pop(name, None)
    row["settings"] = settings_text.as_object(row.get("settings"))
    for name in ("allow_nets", "disclaimer"):
        if name in row and row[name] is None:
            row[name] = "" if name == "disclaimer" else None
    for name in ("enablelib_storage", "enablequota_status", "enableindexer_worker"):
        if name in row:  # answer the SQL column names (`enablelib-storage`)
            row[name.replace("_", "-")] = row.pop(name)
    return row


def forwarding_list(address: str) -> list[str]:
    """Destinations as a `forwarding=` PUT would give them: [] when only the self row is left."""
    found = [
        r.forwarding
        for r in Forwarding.select(Forwarding.forwarding)
        .where((Forwarding.address == address) & (unindexed(Forwarding.is_forwarding) == 1))
        .order_by(Forwarding.forwarding)
    ]
    return [] if found == [address] else found


def _profile_query(address):
    """The mailbox row with its one-row extras, in one statement (each joined table is keyed
    by the address)."""
    left = peewee.JOIN.LEFT_OUTER
    return (
        Mailbox.select(
            Mailbox,
            UsedQuota.bytes.alias("stored_bytes"),
            UsedQuota.messages.alias("stored_messages"),
            LastLogin.username.alias("last_login_of"),
            LastLogin.imap.alias("last_imap"),
            LastLogin.pop3.alias("last_pop3"),
            LastLogin.lda.alias("last_lda"),
            SenderBccUser.bcc_address.alias("sender_bcc"),
            RecipientBccUser.bcc_address.alias("recipient_bcc"),
            SenderRelayhost.relayhost.alias("outbound_relay"),
        )
        .join(UsedQuota, left, on=UsedQuota.username == Mailbox.username)
        .switch(Mailbox)
        .join(LastLogin, left, on=LastLogin.username == Mailbox.username)
        .switch(Mailbox)
        .join(SenderBccUser, left, on=SenderBccUser.username == Mailbox.username)
        .switch(Mailbox)
        .join(RecipientBccUser, left, on=RecipientBccUser.username == Mailbox.username)
        .switch(Mailbox)
        .join(SenderRelayhost, left, on=SenderRelayhost.account == Mailbox.username)
        .where(Mailbox.username == address)
    )


def _related_query(address):
    """Every forwardings row that names the address, on either side, in one statement:
    ("forwarding", destination), ("alias", alias address), ("list", list address)."""

    def side(kind, column, other, flag):
        return Forwarding.select(peewee.Value(kind), other).where(
            (column == address) & (unindexed(flag) == 1)
        )

    return (
        side("forwarding", Forwarding.address, Forwarding.forwarding, Forwarding.is_forwarding)
        + side("alias", Forwarding.forwarding, Forwarding.address, Forwarding.is_alias)
        + side("list", Forwarding.forwarding, Forwarding.address, Forwarding.is_list)
    )


PROFILE_QUERY = PreparedQuery(_profile_query, "address")
RELATED_QUERY = PreparedQuery(_related_query, "address")
MANAGED_DOMAINS_QUERY = PreparedQuery(
    lambda address: DomainAdmin.select(DomainAdmin.domain).where(DomainAdmin.username == address),
    "address",
)


def user_profile(caller: Identity, address: str, hidden) -> dict:
    """The mailbox row and its extras; `member_of` names only aliases of domains the caller
    manages (another tenant's alias that lists this user is that tenant's business).

    Two statements (three for an admin), each compiled once: the cost of a read does not grow
    with the extras it answers."""
    found = PROFILE_QUERY.dicts(vmail_db, address=address)
    if not found:
        raise ApiError("NO_SUCH_ACCOUNT", address)
    row = found[0]
    logged = row.pop("last_login_of") is not None
    times = [row.pop(name) for name in ("last_imap", "last_pop3", "last_lda")]
    profile = public_row(row, hidden)
    related = {"forwarding": [], "alias": [], "list": []}
    for kind, other in RELATED_QUERY.rows(vmail_db, address=address):
        related[kind].append(other)
    forwardings = sorted(related["forwarding"])
    profile.update(
        forwardings=[] if forwardings == [address] else forwardings,
        aliases=sorted(related["alias"]),
        member_of=sorted(a for a in related["list"] if caller.manages(domain_of(a))),
        sender_bcc=profile["sender_bcc"] or "",
        recipient_bcc=profile["recipient_bcc"] or "",
        outbound_relay=profile["outbound_relay"] or "",
        stored_bytes=profile["stored_bytes"] or 0,
        stored_messages=profile["stored_messages"] or 0,
    )
    if profile.get("isadmin") or profile.get("isglobaladmin"):
        profile["managed_domains"] = sorted(
            domain for (domain,) in MANAGED_DOMAINS_QUERY.rows(vmail_db, address=address)
        )
    if logged:
        seen = [t for t in times if t]
        profile["last_login"] = (
            datetime.datetime.fromtimestamp(max(seen), datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")
            if seen else ""
        )  # fmt: skip
    return profile


def users_query(domain: str, params: Params):
    query = (
        Mailbox.select().where(in_domain(Mailbox.domain, domain, params)).order_by(Mailbox.username)
    )
    return filter_list(query, params, Mailbox.active)


USER_SEARCH_FIELDS = (Mailbox.username, Mailbox.name)


# -- update --------------------------------------------------------------------------------
def update_user(caller: Identity, address: str, params: Params, config) -> None:
    """Every PUT parameter given, validated first, then written in one transaction."""
    for replace, add, remove in (
        ("forwarding", "addForwarding", "removeForwarding"),
        ("aliases", "addAlias", "removeAlias"),
        ("services", "addService", "removeService"),
    ):
        params.reject_combined(replace, add, remove)
    columns = _identity_columns(params, address)
    columns.update(mailbox_location(params, address, storage_columns(config)))
    flags = services.service_flags(
        params.get_list("services", None, lower=True),
        params.get_list("addService", [], lower=True),
        params.get_list("removeService", [], lower=True),
    )
    columns.update(services.model_field_names(flags))
    forwarding = (
        params.get_address_list("forwarding"),
        params.get_address_list("addForwarding", []),
        params.get_address_list("removeForwarding", []),
    )
    aliases = (
        params.get_list("aliases", None, lower=True),
        params.get_list("addAlias", [], lower=True),
        params.get_list("removeAlias", [], lower=True),
    )
    for alias in (aliases[0] or []) + aliases[1]:
        if not is_mailbox_address(alias):
            raise ApiError("INVALID_MAIL", f"aliases: {alias}")
    sender_bcc = params.get_address("senderBcc")
    recipient_bcc = params.get_address("recipientBcc")
    relay = relayhost_param(params)
    global_admin = params.get_bool("isGlobalAdmin")
    if global_admin is not None and not caller.is_global:
        raise ApiError("PERMISSION_DENIED", "isGlobalAdmin is for global admins")
    domain_name = domain_of(address)
    password = password_hash_from(params, domain_settings(domain_name), config, required=False)
    now = utcnow()
    with vmail_db.atomic():
        domain = locked_domain(domain_name)
        mailbox = lock_for_update(Mailbox.select().where(Mailbox.username == address)).first()
        if mailbox is None:
            raise ApiError("NO_SUCH_ACCOUNT", address)
        settings = settings_text.as_object(domain.settings)
        if "password" in params or "password_hash" in params:
            columns.update(password=password, passwordlastchange=now)
        if "quota" in params:
            check_quota(domain, settings, columns["quota"], username=address)
        if "maildir" in columns:
            own_storage = {"storagebasedirectory": mailbox.storagebasedirectory,
                           "storagenode": mailbox.storagenode}  # fmt: skip
            require_free_maildir(address, columns["maildir"], own_storage)
        if global_admin is not None:
            columns.update(isglobaladmin=int(global_admin))
            _set_global_admin_row(address, global_admin, now)
        columns["modified"] = now
        Mailbox.update(**columns).where(Mailbox.username == address).execute()
        if "active" in columns:
            Forwarding.update(active=columns["active"]).where(
                Forwarding.address == address).execute()  # fmt: skip
        if forwarding[0] is not None or forwarding[1] or forwarding[2]:
            _update_forwardings(caller, address, *forwarding)
        if aliases[0] is not None or aliases[1] or aliases[2]:
            _update_alias_addresses(address, *aliases)
        for model, value in ((SenderBccUser, sender_bcc), (RecipientBccUser, recipient_bcc)):
            if value is not None:
                _set_user_bcc(model, address, value, now)
        if relay is not None:
            SenderRelayhost.delete().where(SenderRelayhost.account == address).execute()
            if relay:
                SenderRelayhost.insert(account=address, relayhost=relay).execute()


def _identity_columns(params: Params, address: str) -> dict:
    columns: dict = {}
    for param, column in (("name", "name"), ("gn", "first_name"), ("sn", "last_name"),
                          ("employeeid", "employeeid")):  # fmt: skip
        if param in params:
            columns[column] = params.get_str(param, column=getattr(Mailbox, column))
    if "quota" in params:
        columns["quota"] = params.get_int("quota", minimum=0)
    if "accountStatus" in params:
        columns["active"] = params.get_status()
    if "language" in params:
        columns["language"] = params.get_language() or ""
    if "transport" in params:
        columns["transport"] = transport_param(params, domain_of(address), Mailbox.transport) or ""
    return columns


def _set_global_admin_row(address: str, on: bool, now) -> None:
    if on:
        DomainAdmin.insert(username=address, domain="ALL", created=now, modified=now
                           ).on_conflict_ignore().execute()  # fmt: skip
    else:
        is_all_row = (DomainAdmin.username == address) & (DomainAdmin.domain == "ALL")
        DomainAdmin.delete().where(is_all_row).execute()


def _update_forwardings(caller: Identity, address: str, replace, add, remove) -> None:
    current = {
        r.forwarding for r in Forwarding.select(Forwarding.forwarding).where(
            (Forwarding.address == address) & (unindexed(Forwarding.is_forwarding) == 1))
    }  # fmt: skip
    wanted = list_change(current, replace, add, remove) or {
        address
    }  # a mailbox never has zero forwardings rows: keep a copy
    require_existing_local(caller, sorted(wanted - current - {address}), "forwarding")
    gone = current - wanted
    if gone:
        Forwarding.delete().where(
            (Forwarding.address == address) & (unindexed(Forwarding.is_forwarding) == 1)
            & Forwarding.forwarding.in_(sorted(gone))
        ).execute()  # fmt: skip
    new = sorted(wanted - current)
    if new:
        active = Mailbox.select(Mailbox.active).where(Mailbox.username == address).scalar()
        Forwarding.insert_many(
            [{**self_row(address), "forwarding": dest, "dest_domain": domain_of(dest),
              "active": active} for dest in new]
        ).execute()  # fmt: skip


def _update_alias_addresses(address: str, replace, add, remove) -> None:
    domain = domain_of(address)
    allowed = {domain} | {
        r.alias_domain for r in AliasDomain.select(AliasDomain.alias_domain).where(
            AliasDomain.target_domain == domain)
    }  # fmt: skip
    current = {
        r.address for r in Forwarding.select(Forwarding.address).where(
            (Forwarding.forwarding == address) & (unindexed(Forwarding.is_alias) == 1))
    }  # fmt: skip
    wanted = list_change(current, replace, add, remove)
    for alias in sorted(wanted - current):
        if domain_of(alias) not in allowed:
            raise ApiError("DOMAIN_NAME_MISMATCH", f"aliases: {alias}")
        require_free_address(alias)
        cascade.before_taking(alias)
    gone = current - wanted
    if gone:
        Forwarding.delete().where(
            (Forwarding.forwarding == address) & (unindexed(Forwarding.is_alias) == 1)
            & Forwarding.address.in_(sorted(gone))
        ).execute()  # fmt: skip
    new = sorted(wanted - current)
    if new:
        Forwarding.insert_many(
            [{"address": alias, "forwarding": address, "domain": domain_of(alias),
              "dest_domain": domain, "is_alias": 1, "active": 1} for alias in new]
        ).execute()  # fmt: skip


def _set_user_bcc(model, address: str, bcc: str, now) -> None:
    model.delete().where(model.username == address).execute()
    if bcc:
        model.insert(username=address, bcc_address=bcc, domain=domain_of(address), created=now,
                     modified=now).execute()  # fmt: skip


def update_domain_users(domain_name: str, params: Params, config) -> None:
    """PUT /api/users/<domain>: the same change for every user, in set-based statements."""
    columns: dict = {}
    if "accountStatus" in params:
        columns["active"] = params.get_status()
    if "language" in params:
        columns["language"] = params.get_language() or ""
    if "transport" in params:
        columns["transport"] = transport_param(params, domain_name, Mailbox.transport) or ""
    unknown = params.names() - {"accountStatus", "language", "transport", "password",
                                "password_hash"}  # fmt: skip
    if unknown:
        raise ApiError("INVALID_PARAM", f"not for every user: {', '.join(sorted(unknown))}")
    password = password_hash_from(params, domain_settings(domain_name), config, required=False)
    now = utcnow()
    with vmail_db.atomic():
        locked_domain(domain_name)
        if password is not None:
            columns.update(password=password, passwordlastchange=now)
        if not columns:
            return
        columns["modified"] = now
        Mailbox.update(**columns).where(Mailbox.domain == domain_name).execute()
        if "active" in columns:
            users = Mailbox.select(Mailbox.username).where(Mailbox.domain == domain_name)
            Forwarding.update(active=columns["active"]).where(
                Forwarding.address.in_(users)).execute()  # fmt: skip


# -- delete --------------------------------------------------------------------------------
def delete_user(address: str, admin: str, keep_days: int | None) -> None:
    """vmail in one transaction, then the other stores (journaled: shared/rules/cascade.py)."""
    delete_date = utctoday() + datetime.timedelta(days=keep_days) if keep_days else None
    cascade.run(
        cascade.Operation(cascade.DELETE_USER, address),
        lambda: _delete_user_rows(address, admin, delete_date),
    )


def _delete_user_rows(address: str, admin: str, delete_date) -> None:
    with vmail_db.atomic():
        locked_domain(domain_of(address))
        if not Mailbox.select().where(Mailbox.username == address).exists():
            raise ApiError("NO_SUCH_ACCOUNT", address)
        record_deleted_mailboxes(Mailbox.username == address, admin, delete_date)
        DomainAdmin.delete().where(DomainAdmin.username == address).execute()
        for model in (SenderBccUser, RecipientBccUser):
            model.delete().where(
                (model.username == address) | (model.bcc_address == address)
            ).execute()
        for model in (SenderBccDomain, RecipientBccDomain):
            model.delete().where(model.bcc_address == address).execute()
        forwarders = forwarding_sources_to(
            (Forwarding.forwarding == address) & (Forwarding.address != address)
        )
        Forwarding.delete().where(
            (Forwarding.address == address) | (Forwarding.forwarding == address)
        ).execute()
        restore_self_rows(forwarders)
        # A list's moderator rows go with its files (shared/rules/mlmmj_lists.py).
        Moderator.delete().where(
            (Moderator.moderator == address) & Moderator.address.not_in(list_addresses())
        ).execute()
        SenderRelayhost.delete().where(SenderRelayhost.account == address).execute()
        UsedQuota.delete().where(UsedQuota.username == address).execute()
        LastLogin.delete().where(LastLogin.username == address).execute()
        Mailbox.delete().where(Mailbox.username == address).execute()


# -- rename --------------------------------------------------------------------------------
def rename_user(address: str, new: str) -> None:
    """Rewrite every reference to the address in one transaction per database (journaled:
    shared/rules/cascade.py); the maildir is kept."""
    if domain_of(new) != domain_of(address):
        raise ApiError("DOMAIN_NAME_MISMATCH", "a user is renamed within its domain")
    cascade.run(
        cascade.Operation(cascade.RENAME_USER, address, new),
        lambda: _rename_user_rows(address, new),
    )


def _rename_user_rows(address: str, new: str) -> None:
    with vmail_db.atomic():
        locked_domain(domain_of(address))
        if not Mailbox.select().where(Mailbox.username == address).exists():
            raise ApiError("NO_SUCH_ACCOUNT", address)
        require_free_address(new)
        Mailbox.update(username=new).where(Mailbox.username == address).execute()
        Forwarding.update(address=new).where(Forwarding.address == address).execute()
        Forwarding.update(forwarding=new).where(Forwarding.forwarding == address).execute()
        Moderator.update(moderator=new).where(
            (Moderator.moderator == address) & Moderator.address.not_in(list_addresses())
        ).execute()
        for model in (SenderBccUser, RecipientBccUser):
            model.update(username=new).where(model.username == address).execute()
            model.update(bcc_address=new).where(model.bcc_address == address).execute()
        for model in (SenderBccDomain, RecipientBccDomain):
            model.update(bcc_address=new).where(model.bcc_address == address).execute()
        DomainAdmin.update(username=new).where(DomainAdmin.username == address).execute()
        SenderRelayhost.update(account=new).where(SenderRelayhost.account == address).execute()
        UsedQuota.update(username=new).where(UsedQuota.username == address).execute()
        LastLogin.update(username=new).where(LastLogin.username == address).execute()
