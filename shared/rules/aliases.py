"""Mail aliases (and SQL mailing lists served as aliases): DATA-MODEL.md §1–3, CONTRACT §4.4."""

from __future__ import annotations

import peewee

from shared.db import insert_rows, lock_for_update, unindexed, vmail_db
from shared.errors import ApiError
from shared.identity import Identity
from shared.models.vmail import Alias, Domain, Forwarding, Moderator
from shared.paging import filter_list, in_domain
from shared.params import Params, list_change
from shared.rules import cascade
from shared.rules.addresses import (
    chunks,
    forwarding_sources_to,
    require_existing_local,
    restore_self_rows,
)
from shared.rules.users import locked_domain, require_free_address
from shared.timeutil import utcnow
from shared.validation import domain_of

ACCESS_POLICIES = frozenset({
    "public", "domain", "subdomain", "membersonly", "moderatorsonly", "membersandmoderatorsonly",
})  # fmt: skip


def access_policy_param(params: Params, default=None) -> str | None:
    value = params.get_str("accessPolicy")
    if value is None:
        return default
    value = value.lower()
    if value not in ACCESS_POLICIES:
        raise ApiError("INVALID_ACCESS_POLICY", value[:40])
    return value


def members_param(params: Params, address: str, name: str, default=None):
    members = params.get_address_list(name, default)
    if members and address in members:
        raise ApiError("INVALID_PARAM", f"{name}: an alias cannot be its own member")
    return members


def check_alias_limit(domain: Domain) -> None:
    if domain.aliases == -1:
        raise ApiError("NOT_ALLOWED", "this domain may hold no aliases")
    if domain.aliases > 0:
        count = Alias.select().where(Alias.domain == domain.domain).count()
        if count >= domain.aliases:
            raise ApiError("EXCEEDED_DOMAIN_ALIAS_LIMIT", f"at most {domain.aliases}")


def _insert_members(address: str, members, active: int) -> None:
    domain = domain_of(address)
    insert_rows(
        Forwarding,
        ("address", "forwarding", "domain", "dest_domain", "is_list", "active"),
        ((address, member, domain, domain_of(member), 1, active) for member in sorted(members)),
    )


def _insert_moderators(address: str, moderators) -> None:
    domain = domain_of(address)
    insert_rows(
        Moderator,
        ("address", "moderator", "domain", "dest_domain"),
        ((address, m, domain, domain_of(m)) for m in sorted(moderators)),
    )


def create_alias(caller: Identity, address: str, params: Params) -> None:
    name = params.get_str("name", "", column=Alias.name)
    policy = access_policy_param(params, "public")
    members = members_param(params, address, "members", [])
    moderators = params.get_address_list("moderators", [])
    domain_name = domain_of(address)
    cascade.before_taking(address)
    now = utcnow()
    with vmail_db.atomic():
        domain = locked_domain(domain_name)
        if domain.backupmx:
            raise ApiError("INVALID_PARAM", f"{domain_name} is a backup MX domain")
        require_free_address(address)
        check_alias_limit(domain)
        require_existing_local(caller, members, "members")
        try:
            Alias.insert(address=address, name=name, accesspolicy=policy, domain=domain_name,
                         created=now, modified=now, active=1).execute()  # fmt: skip
        except peewee.IntegrityError:
            raise ApiError("ALREADY_EXISTS", address) from None
        _insert_members(address, members, 1)
        _insert_moderators(address, moderators)


def members_of(address: str) -> list[str]:
    query = Forwarding.select(Forwarding.forwarding).where(
        (Forwarding.address == address) & (unindexed(Forwarding.is_list) == 1)
    )
    return sorted(r.forwarding for r in query)


def moderators_of(address: str) -> list[str]:
    query = Moderator.select(Moderator.moderator).where(Moderator.address == address)
    return sorted(r.moderator for r in query)


def alias_profile(address: str) -> dict:
    row = Alias.select().where(Alias.address == address).dicts().first()
    if row is None:
        raise ApiError("NO_SUCH_ALIAS", address)
    row["members"] = members_of(address)
    row["moderators"] = moderators_of(address)
    return row


def aliases_query(domain: str, params: Params):
    query = Alias.select().where(in_domain(Alias.domain, domain, params)).order_by(Alias.address)
    return filter_list(query, params, Alias.active)


ALIAS_SEARCH_FIELDS = (Alias.address, Alias.name)


def update_alias(caller: Identity, address: str, params: Params) -> None:
    params.reject_combined("members", "addMember", "removeMember")
    params.reject_combined("moderators", "addModerator", "removeModerator")
    columns: dict = {}
    if "name" in params:
        columns["name"] = params.get_str("name", column=Alias.name)
    if "accountStatus" in params:
        columns["active"] = params.get_status()
    policy = access_policy_param(params)
    if policy is not None:
        columns["accesspolicy"] = policy
    members = (
        members_param(params, address, "members"),
        members_param(params, address, "addMember", []),
        params.get_address_list("removeMember", []),
    )
    moderators = (
        params.get_address_list("moderators"),
        params.get_address_list("addModerator", []),
        params.get_address_list("removeModerator", []),
    )
    with vmail_db.atomic():
        locked_domain(domain_of(address))
        alias = lock_for_update(Alias.select().where(Alias.address == address)).first()
        if alias is None:
            raise ApiError("NO_SUCH_ALIAS", address)
        columns["modified"] = utcnow()
        Alias.update(**columns).where(Alias.address == address).execute()
        if "active" in columns:
            Forwarding.update(active=columns["active"]).where(
                Forwarding.address == address).execute()  # fmt: skip
        active = columns.get("active", alias.active)
        if members[0] is not None or members[1] or members[2]:
            current = set(members_of(address))
            wanted = list_change(current, *members)
            require_existing_local(caller, sorted(wanted - current), "members")
            _delete_members(address, current - wanted)
            _insert_members(address, wanted - current, active)
        if moderators[0] is not None or moderators[1] or moderators[2]:
            current = set(moderators_of(address))
            wanted = list_change(current, *moderators)
            for part in chunks(sorted(current - wanted)):
                gone = (Moderator.address == address) & Moderator.moderator.in_(part)
                Moderator.delete().where(gone).execute()
            _insert_moderators(address, wanted - current)


def _delete_members(address: str, gone) -> None:
    for part in chunks(sorted(gone)):
        Forwarding.delete().where(
            (Forwarding.address == address) & (unindexed(Forwarding.is_list) == 1)
            & Forwarding.forwarding.in_(part)
        ).execute()  # fmt: skip


def delete_alias(address: str) -> None:
    """The alias, its members, its moderators, and every row that routes mail to it."""
    with vmail_db.atomic():
        locked_domain(domain_of(address))
        if not Alias.select().where(Alias.address == address).exists():
            raise ApiError("NO_SUCH_ALIAS", address)
        forwarders = forwarding_sources_to(Forwarding.forwarding == address)
        routes = (Forwarding.address == address) | (Forwarding.forwarding == address)
        Forwarding.delete().where(routes).execute()
        restore_self_rows(forwarders)
        Moderator.delete().where(Moderator.address == address).execute()
        Alias.delete().where(Alias.address == address).execute()


def rename_alias(address: str, new: str) -> None:
    if domain_of(new) != domain_of(address):
        raise ApiError("DOMAIN_NAME_MISMATCH", "an alias is renamed within its domain")
    cascade.before_taking(new)
    with vmail_db.atomic():
        locked_domain(domain_of(address))
        if not Alias.select().where(Alias.address == address).exists():
            raise ApiError("NO_SUCH_ALIAS", address)
        require_free_address(new)
        Alias.update(address=new, modified=utcnow()).where(Alias.address == address).execute()
        Forwarding.update(address=new).where(Forwarding.address == address).execute()
        Forwarding.update(forwarding=new).where(Forwarding.forwarding == address).execute()
        Moderator.update(address=new).where(Moderator.address == address).execute()
        Moderator.update(moderator=new).where(Moderator.moderator == address).execute()
