"""Admins of a domain: PUT /api/domain/admins/<domain> (addAdmin, removeAdmin, removeAllAdmins)."""

from __future__ import annotations

from shared.db import lock_for_update, vmail_db
from shared.errors import ApiError
from shared.identity import Identity
from shared.models.vmail import Admin, Domain, DomainAdmin, Mailbox
from shared.params import Params
from shared.timeutil import utcnow
from shared.validation import domain_of


def _existing_admin_kinds(usernames: list[str]) -> dict[str, str]:
    """username → 'admin' (standalone) or 'mailbox' for the ones that exist."""
    kinds = {r.username: "mailbox" for r in Mailbox.select(Mailbox.username).where(
        Mailbox.username.in_(usernames))}  # fmt: skip
    kinds.update(
        {
            r.username: "admin"
            for r in Admin.select(Admin.username).where(Admin.username.in_(usernames))
        }  # fmt: skip
    )
    return kinds


def update_domain_admins(caller: Identity, domain: str, params: Params) -> None:
    add = params.get_address_list("addAdmin", [])
    if not caller.is_global:
        # A domain admin shares its domains with mailboxes of its own domains only; anything
        # else is refused before it is looked up (no admin learns about another's accounts).
        foreign = [name for name in add if not caller.manages(domain_of(name))]
        if foreign:
            raise ApiError("PERMISSION_DENIED", f"addAdmin: {', '.join(foreign[:5])}")
    remove = params.get_address_list("removeAdmin", [])
    remove_all = "removeAllAdmins" in params  # acts whatever its value (CONTRACT §6)
    now = utcnow()
    with vmail_db.atomic():
        if not lock_for_update(Domain.select().where(Domain.domain == domain)).exists():
            raise ApiError("NO_SUCH_DOMAIN", domain)
        kinds = _existing_admin_kinds(add)
        missing = [name for name in add if name not in kinds]
        if missing:
            raise ApiError("NO_SUCH_ACCOUNT", f"addAdmin: {', '.join(missing)}")
        removed = set(remove)
        if remove_all:
            removed |= {
                r.username
                for r in DomainAdmin.select(DomainAdmin.username).where(
                    DomainAdmin.domain == domain
                )
            }
        removed -= set(add)
        if removed:
            DomainAdmin.delete().where(
                (DomainAdmin.domain == domain) & DomainAdmin.username.in_(sorted(removed))
            ).execute()
            _clear_isadmin_without_domains(sorted(removed))
        if add:
            DomainAdmin.insert_many(
                [
                    {"username": name, "domain": domain, "created": now, "modified": now}
                    for name in add
                ]
            ).on_conflict_ignore().execute()
            mailboxes = [name for name in add if kinds[name] == "mailbox"]
            if mailboxes:
                Mailbox.update(isadmin=1, modified=now).where(
                    Mailbox.username.in_(mailboxes)
                ).execute()


def _clear_isadmin_without_domains(usernames: list[str]) -> None:
    """A mailbox that administers no domain any more is no longer an admin."""
    still_admin = DomainAdmin.select(DomainAdmin.username).where(
        DomainAdmin.username.in_(usernames)
    )
    Mailbox.update(isadmin=0).where(
        Mailbox.username.in_(usernames)
        & Mailbox.username.not_in(still_admin)
        & (Mailbox.isglobaladmin == 0)
    ).execute()
