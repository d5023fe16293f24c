"""Address existence and uniqueness, shared by every kind of account (DATA-MODEL.md §3)."""

from __future__ import annotations

from shared.db import unindexed, values_present
from shared.errors import ApiError
from shared.identity import Identity
from shared.models.vmail import Alias, AliasDomain, Domain, Forwarding, Mailbox, Maillist
from shared.validation import domain_of


def strip_extension(address: str) -> str:
    """`user+tag@d` → `user@d`: the part Postfix routes by."""
    local, _, domain = address.partition("@")
    return local.split("+", 1)[0] + "@" + domain


def address_exists(address: str) -> bool:
    """Whether the address (without +extension) is a mailbox, an alias, a mailing list or a
    forwarding source."""
    address = strip_extension(address)
    return (
        Mailbox.select(Mailbox.username).where(Mailbox.username == address)
        | Alias.select(Alias.address).where(Alias.address == address)
        | Maillist.select(Maillist.address).where(Maillist.address == address)
        | Forwarding.select(Forwarding.address).where(Forwarding.address == address)
    ).exists()


def list_addresses():
    """The subquery of every mlmmj list's address."""
    return Maillist.select(Maillist.address)


IN_CHUNK = 500  # values per IN (…) list: well under SQLite's variable limit


def chunks(items: list, size: int = IN_CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def hosted_domains(domains) -> dict[str, str]:
    """domain → the domain that hosts its accounts, for those handled here: a domain hosts
    itself, an alias domain is hosted by its target (`x@alias` is delivered as `x@target`)."""
    domains = sorted(set(domains))
    hosted = {name: name for name in values_present(Domain.domain, domains)}
    for part in chunks([name for name in domains if name not in hosted]):
        query = AliasDomain.select(AliasDomain.alias_domain, AliasDomain.target_domain).where(
            AliasDomain.alias_domain.in_(part)
        )
        hosted.update({row.alias_domain: row.target_domain for row in query})
    return hosted


def existing_addresses(addresses) -> set[str]:
    """Which of these addresses are mailboxes, aliases, lists or forwarding sources (set-based)."""
    addresses = set(addresses)
    return (
        values_present(Mailbox.username, addresses)
        | values_present(Alias.address, addresses)
        | values_present(Maillist.address, addresses)
        | values_present(Forwarding.address, addresses)
    )


def require_existing_local(caller: Identity, addresses, name: str) -> None:
    """Destinations in a domain the caller manages must exist as an account (NO_SUCH_ACCOUNT).

    An address in another local domain is treated like an outside one: not looked at, so the
    answer is the same whether it exists or not (CONTRACT §6). An address at an alias domain
    exists when the same local part exists at its target. A handful of queries whatever the
    number of addresses (members lists hold thousands)."""
    addresses = list(addresses)
    hosted = hosted_domains(domain_of(a) for a in addresses)
    candidates: dict[str, tuple[str, str]] = {}
    for address in addresses:
        target = hosted.get(domain_of(address))
        if target is not None and caller.manages(target):
            bare = strip_extension(address)
            candidates[address] = (bare, bare.rsplit("@", 1)[0] + "@" + target)
    found = existing_addresses(name for forms in candidates.values() for name in forms)
    missing = [a for a, forms in candidates.items() if not found & set(forms)]
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
