"""Address existence and uniqueness, shared by every kind of account (DATA-MODEL.md §3)."""

from __future__ import annotations

from shared.db import unindexed
from shared.errors import ApiError
from shared.models.vmail import Alias, AliasDomain, Domain, Forwarding, Mailbox
from shared.validation import domain_of


def strip_extension(address: str) -> str:
    """`user+tag@d` → `user@d`: the part Postfix routes by."""
    local, _, domain = address.partition("@")
    return local.split("+", 1)[0] + "@" + domain


def is_local_domain(domain: str) -> bool:
    """Whether mail for the domain is handled here (a domain or an alias domain)."""
    return (
        Domain.select(Domain.domain).where(Domain.domain == domain)
        | AliasDomain.select(AliasDomain.alias_domain).where(AliasDomain.alias_domain == domain)
    ).exists()


def address_exists(address: str) -> bool:
    """Whether the address (without +extension) is a mailbox, an alias or a forwarding source."""
    address = strip_extension(address)
    return (
        Mailbox.select(Mailbox.username).where(Mailbox.username == address)
        | Alias.select(Alias.address).where(Alias.address == address)
        | Forwarding.select(Forwarding.address).where(Forwarding.address == address)
    ).exists()


def require_existing_local(addresses, name: str) -> None:
    """Destinations in a local domain must exist as an account (else NO_SUCH_ACCOUNT)."""
    local_domains: dict[str, bool] = {}
    for address in addresses:
        domain = domain_of(address)
        if domain not in local_domains:
            local_domains[domain] = is_local_domain(domain)
        if local_domains[domain] and not address_exists(address):
            raise ApiError("NO_SUCH_ACCOUNT", f"{name}: {address}")


def forwarding_sources_to(where) -> list[str]:
    """Mailboxes with a forwarding row matched by `where` (before those rows are deleted)."""
    query = Forwarding.select(Forwarding.address).where(
        where & (unindexed(Forwarding.is_forwarding) == 1)
    )
    return sorted({row.address for row in query})


def restore_self_rows(addresses: list[str]) -> None:
    """A mailbox never has zero forwardings rows: give the self row back to those left without.

    Without it a catch-all swallows the mailbox's mail (DATA-MODEL.md §2).
    """
    if not addresses:
        return
    still = {
        row.address
        for row in Forwarding.select(Forwarding.address).where(
            Forwarding.address.in_(addresses) & (unindexed(Forwarding.is_forwarding) == 1)
        )
    }
    orphans = Mailbox.select(Mailbox.username, Mailbox.domain, Mailbox.active).where(
        Mailbox.username.in_([a for a in addresses if a not in still])
    )
    rows = [
        {"address": m.username, "forwarding": m.username, "domain": m.domain,
         "dest_domain": m.domain, "is_forwarding": 1, "active": m.active}
        for m in orphans
    ]  # fmt: skip
    if rows:
        Forwarding.insert_many(rows).execute()
