"""Address existence and uniqueness, shared by every kind of account (DATA-MODEL.md §3)."""

from __future__ import annotations

from shared.db import unindexed, values_present
from shared.errors import ApiError
from shared.models.vmail import Alias, AliasDomain, Domain, Forwarding, Mailbox
from shared.validation import domain_of


def strip_extension(address: str) -> str:
    """`user+tag@d` → `user@d`: the part Postfix routes by."""
    local, _, domain = address.partition("@")
    return local.split("+", 1)[0] + "@" + domain


def address_exists(address: str) -> bool:
    """Whether the address (without +extension) is a mailbox, an alias or a forwarding source."""
    address = strip_extension(address)
    return (
        Mailbox.select(Mailbox.username).where(Mailbox.username == address)
        | Alias.select(Alias.address).where(Alias.address == address)
        | Forwarding.select(Forwarding.address).where(Forwarding.address == address)
    ).exists()


IN_CHUNK = 500  # values per IN (…) list: well under SQLite's variable limit


def chunks(items: list, size: int = IN_CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def local_domains(domains) -> set[str]:
    """Which of these domains are handled here (domains or alias domains)."""
    domains = set(domains)
    return values_present(Domain.domain, domains) | values_present(
        AliasDomain.alias_domain, domains
    )


def existing_addresses(addresses) -> set[str]:
    """Which of these addresses are mailboxes, aliases or forwarding sources (set-based)."""
    addresses = set(addresses)
    return (
        values_present(Mailbox.username, addresses)
        | values_present(Alias.address, addresses)
        | values_present(Forwarding.address, addresses)
    )


def require_existing_local(addresses, name: str) -> None:
    """Destinations in a local domain must exist as an account (else NO_SUCH_ACCOUNT).

    A handful of queries whatever the number of addresses (members lists hold thousands)."""
    addresses = list(addresses)
    local = local_domains(domain_of(a) for a in addresses)
    candidates = {a: strip_extension(a) for a in addresses if domain_of(a) in local}
    found = existing_addresses(candidates.values())
    missing = [a for a, bare in candidates.items() if bare not in found]
    if missing:
        raise ApiError("NO_SUCH_ACCOUNT", f"{name}: {', '.join(sorted(missing)[:5])}")


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
