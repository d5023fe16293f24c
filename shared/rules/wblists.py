"""White/blacklists in the amavisd database, as iRedAPD's `amavisd_wblist` plugin (and, for
inbound addresses, Amavisd) read them (spec/amavisd.md §1.3, §2.3).

Inbound: `wblist(rid = users.id of the local recipient, sid = mailaddr.id of the sender)`;
outbound: `outbound_wblist(rid = mailaddr.id of the external recipient, sid = users.id of the
local sender)`. `wb` is 'W' or 'B'. One entry per account, direction and address: adding an
address to one list takes it off the other (the key is (rid, sid), as iRedAPD's own writer).
Unreferenced `mailaddr` rows stay (iRedAdmin's daily clean-up removes them).
"""

from __future__ import annotations

from shared import db
from shared.db import amavisd_db
from shared.models.amavisd import MailAddr, OutboundWblist, Wblist
from shared.rules import amavisd_accounts, sender_forms
from shared.rules.policy_accounts import PolicyAccount

LISTS = {"whitelist": "W", "blacklist": "B"}
TABLES = {"inbound": Wblist, "outbound": OutboundWblist}
CHUNK = 500


def _columns(direction: str):
    """(the table, its column holding users.id, its column holding mailaddr.id)."""
    table = TABLES[direction]
    if direction == "inbound":
        return table, table.rid, table.sid
    return table, table.sid, table.rid


def _chunks(values: list):
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def entries(account: str, direction: str, listname: str) -> list[str]:
    """The addresses of one list, sorted."""
    user = amavisd_accounts.find(account)
    if user is None:
        return []
    table, user_column, address_column = _columns(direction)
    rows = (
        MailAddr.select(MailAddr.email)
        .join(table, on=address_column == MailAddr.id)
        .where((user_column == user.id) & (table.wb == LISTS[listname]))
    )
    return sorted(row.email for row in rows)


def _address_ids(addresses: dict[str, str], create: bool) -> list[int]:
    """mailaddr ids of the addresses ({text: form}), made (with their form's priority) first
    when `create`."""
    if create:
        rows = [(text, sender_forms.MAILADDR_PRIORITIES[form]) for text, form in addresses.items()]
        for part in _chunks(rows):
            db.insert_rows(MailAddr, ("email", "priority"), part, ignore_duplicates=True)
    return [row[0] for row in db.select_in(MailAddr.email, list(addresses), MailAddr.id)]


def _delete(direction: str, user_id: int, address_ids: list[int] | None, wb: str | None):
    table, user_column, address_column = _columns(direction)
    where = user_column == user_id
    if wb is not None:
        where &= table.wb == wb
    if address_ids is None:
        table.delete().where(where).execute()
        return
    for part in _chunks(address_ids):
        table.delete().where(where & address_column.in_(part)).execute()


def add(account: PolicyAccount, direction: str, listname: str, addresses: dict[str, str]):
    """Put the addresses ({text: form}) on the list, off the other one; in one transaction.

    The `mailaddr` rows are shared by every account listing the same sender: they are made
    first, committed on their own (an unused one is harmless; iRedAdmin's cleanup removes
    them), so that racing writes of one sender for many accounts do not deadlock on making it;
    a deadlock left is retried."""
    if not addresses:
        return
    db.in_transaction_retried(amavisd_db, lambda: _address_ids(addresses, create=True))

    def write():
        user = amavisd_accounts.ensure(account)
        ids = _address_ids(addresses, create=True)  # one removed in between comes back
        _delete(direction, user.id, ids, None)
        table, _, _ = _columns(direction)
        wb = LISTS[listname]
        rows = [(user.id, i, wb) if direction == "inbound" else (i, user.id, wb) for i in ids]
        for part in _chunks(rows):
            db.insert_rows(table, ("rid", "sid", "wb"), part)

    db.in_transaction_retried(amavisd_db, write)


def remove(account: PolicyAccount, direction: str, listname: str, addresses: dict[str, str]):
    """Take the addresses off this list (an address on the other list stays there)."""
    with amavisd_db.atomic():
        user = amavisd_accounts.find(account.account, lock=True)
        if user is None or not addresses:
            return
        _delete(direction, user.id, _address_ids(addresses, create=False), LISTS[listname])


def remove_all(account: PolicyAccount, direction: str, listname: str) -> None:
    with amavisd_db.atomic():
        user = amavisd_accounts.find(account.account, lock=True)
        if user is not None:
            _delete(direction, user.id, None, LISTS[listname])
