"""What mlmmj's lists do when an account goes (shared/rules/cascade.py's mlmmj steps): the
rows and files of a deleted list, and a deleted or renamed address in the lists' owners,
moderators and subscribers, changed through mlmmjadmin.

The main steps (vmail) leave the `maillist_owners` rows and the lists' `moderators` rows of a
gone account: they say which lists' files still name it, and go once those files are changed,
so every step here can be run again after a failure.
"""

from __future__ import annotations

from shared.db import vmail_db
from shared.errors import ApiError
from shared.mlmmjadmin import client
from shared.models.vmail import Forwarding, Maillist, MaillistOwner, Moderator
from shared.rules.addresses import forwarding_sources_to, list_addresses, restore_self_rows
from shared.validation import domain_of


def delete_rows(where_list) -> None:
    """The SQL rows of the lists `where_list` selects (a condition on Maillist), in the caller's
    transaction; a mailbox left without forwardings by losing a list member gets its self row."""
    addresses = Maillist.select(Maillist.address).where(where_list)
    forwarders = forwarding_sources_to(
        Forwarding.forwarding.in_(addresses) & Forwarding.address.not_in(addresses)
    )
    Forwarding.delete().where(
        Forwarding.address.in_(addresses) | Forwarding.forwarding.in_(addresses)
    ).execute()
    restore_self_rows(forwarders)
    MaillistOwner.delete().where(MaillistOwner.address.in_(addresses)).execute()
    Moderator.delete().where(Moderator.address.in_(addresses)).execute()
    Maillist.delete().where(where_list).execute()


def remove_files(address: str, keep_archive: bool) -> None:
    """The cascade step of a deleted list: mlmmjadmin archives (or removes) its folder;
    idempotent (a list already gone is done)."""
    try:
        client().call("DELETE", address, {"archive": "yes" if keep_archive else "no"})
    except ApiError as exc:
        if exc.code != "NO_SUCH_ACCOUNT":
            raise


def _list_moderators():
    return Moderator.address.in_(list_addresses())


def _people(owner_where, moderator_where) -> tuple[dict, dict]:
    """{list: [owner]} and {list: [moderator]} for the rows the conditions select."""
    owned: dict[str, list[str]] = {}
    for row in MaillistOwner.select(MaillistOwner.address, MaillistOwner.owner).where(owner_where):
        owned.setdefault(row.address, []).append(row.owner)
    moderated: dict[str, list[str]] = {}
    query = Moderator.select(Moderator.address, Moderator.moderator).where(
        moderator_where & _list_moderators()
    )
    for row in query:
        moderated.setdefault(row.address, []).append(row.moderator)
    return owned, moderated


def _drop_people(owner_where, moderator_where) -> None:
    owned, moderated = _people(owner_where, moderator_where)
    for address, owners in sorted(owned.items()):
        _change("PUT", f"{address}/owners", {"remove_owners": ",".join(owners)})
    for address, people in sorted(moderated.items()):
        fields = {"remove_moderators": ",".join(people)}
        _change("PUT", f"{address}/moderators", fields)
    MaillistOwner.delete().where(owner_where).execute()
    Moderator.delete().where(moderator_where & _list_moderators()).execute()


def _change(method: str, path: str, fields: dict) -> None:
    """One mlmmjadmin call; a list whose files are already gone needs no change."""
    try:
        client().call(method, path, fields)
    except ApiError as exc:
        if exc.code != "NO_SUCH_ACCOUNT":
            raise


def _subscriptions(address: str) -> list[dict]:
    """The lists of the server `address` is subscribed to (mlmmjadmin reads every list's
    files: asked only when the server has lists)."""
    if not Maillist.select().exists():
        return []
    return client().call("GET", f"subscriber/{address}/subscribed", {"query_all_lists": "yes"})


def delete_domain_rows(domain: str) -> None:
    """The domain's lists are archived and their rows go; the domain's addresses leave the other
    domains' lists as owners and moderators (their subscriptions are left to mlmmj's bounce
    handling: asking for each of thousands of users would read every list each time)."""
    for row in list(Maillist.select(Maillist.address).where(Maillist.domain == domain)):
        remove_files(row.address, keep_archive=True)
        with vmail_db.atomic():
            delete_rows(Maillist.address == row.address)
    _drop_people(MaillistOwner.dest_domain == domain, Moderator.dest_domain == domain)


def delete_user_rows(address: str) -> None:
    """A deleted user is no owner, moderator or subscriber of any list any more."""
    _drop_people(MaillistOwner.owner == address, Moderator.moderator == address)
    for entry in _subscriptions(address):
        _change("POST", f"{entry['mail']}/subscribers",
                     {"remove_subscribers": address})  # fmt: skip


def rename_user_rows(old: str, new: str) -> None:
    """Ownerships, moderations and subscriptions move to the new address (a subscription keeps
    its kind and is not confirmed again)."""
    owned, moderated = _people(MaillistOwner.owner == old, Moderator.moderator == old)
    swap = {"add_{0}": new, "remove_{0}": old}
    for address in sorted(owned):
        fields = {key.format("owners"): value for key, value in swap.items()}
        _change("PUT", f"{address}/owners", fields)
    for address in sorted(moderated):
        fields = {key.format("moderators"): value for key, value in swap.items()}
        _change("PUT", f"{address}/moderators", fields)
    for entry in _subscriptions(old):
        target = f"{entry['mail']}/subscribers"
        kind = entry["subscription"]
        add = {"add_subscribers": new, "require_confirm": "no", "subscription": kind}
        _change("POST", target, add)
        _change("POST", target, {"remove_subscribers": old})
    with vmail_db.atomic():
        # A list the new address already owns or moderates keeps that one row.
        # (read first: MariaDB refuses a DELETE whose subquery reads the same table)
        owned_by_new = [r.address for r in MaillistOwner.select(MaillistOwner.address).where(
            MaillistOwner.owner == new)]  # fmt: skip
        MaillistOwner.delete().where(
            (MaillistOwner.owner == old) & MaillistOwner.address.in_(owned_by_new)
        ).execute()
        moderated_by_new = [r.address for r in Moderator.select(Moderator.address).where(
            Moderator.moderator == new)]  # fmt: skip
        Moderator.delete().where(
            (Moderator.moderator == old) & Moderator.address.in_(moderated_by_new)
        ).execute()
        MaillistOwner.update(owner=new, dest_domain=domain_of(new)).where(
            MaillistOwner.owner == old
        ).execute()
        Moderator.update(moderator=new, dest_domain=domain_of(new)).where(
            (Moderator.moderator == old) & _list_moderators()
        ).execute()
