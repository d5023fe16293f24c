"""Writes that cross databases survive a failure between their steps (DESIGN §7).

A domain or user delete, or a user rename, changes `vmail` (the main step, one transaction) and
then every other store that keys rows by the account (`iredapd` throttles and greylisting,
`amavisd` spam policies and white/blacklists, mlmmj's list files through mlmmjadmin). A
mailing list's delete is journaled the same way: its rows go first, then its files. No
transaction spans them, so the operation is recorded in `iredadmin.api_pending_cascades`
before its first step and removed after its last. Every step in another store is idempotent,
and `vmail` says whether the main step committed (the domain, or the user's old address, is
gone). An entry left by an interrupted operation is finished:

- before a create or rename takes a name it concerns, so no new account inherits an old one's
  policy rows;
- by a retry of the same call, which then answers success;
- by any later cross-database operation, once the entry is a minute old (its request has long
  ended); an entry whose main step never committed is dropped after ten minutes.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging

from shared.errors import ApiError
from shared.models.iredadmin import PendingCascade
from shared.models.vmail import Domain, Mailbox, Maillist
from shared.rules import amavisd_accounts, greylisting, mlmmj_cascades, throttles
from shared.timeutil import utcnow

log = logging.getLogger("mailapi.cascade")

DELETE_DOMAIN, DELETE_USER, RENAME_USER = "delete_domain", "delete_user", "rename_user"
# A mailing list's delete: its folder archived, or removed with the data (keep_archive=no).
DELETE_LIST, DELETE_LIST_DATA = "delete_list", "delete_list_data"
LIST_KINDS = (DELETE_LIST, DELETE_LIST_DATA)
STALE_AFTER = datetime.timedelta(minutes=1)  # no request runs that long (UPSTREAM_READ_TIMEOUT)
ABANDONED_AFTER = datetime.timedelta(minutes=10)


@dataclasses.dataclass(frozen=True)
class StoreSteps:
    """What one store does when an account goes or is renamed; each step is idempotent."""

    delete_domain: callable  # (domain) -> None: the domain's rows and its users'
    delete_user: callable  # (address) -> None
    rename_user: callable  # (old, new) -> None


STORES: tuple[StoreSteps, ...] = (
    StoreSteps(throttles.delete_domain_rows, throttles.delete_user_rows, throttles.rename_rows),
    StoreSteps(
        greylisting.delete_domain_rows, greylisting.delete_user_rows, greylisting.rename_rows
    ),
    StoreSteps(
        amavisd_accounts.delete_domain_rows,
        amavisd_accounts.delete_user_rows,
        amavisd_accounts.rename_rows,
    ),
    StoreSteps(
        mlmmj_cascades.delete_domain_rows,
        mlmmj_cascades.delete_user_rows,
        mlmmj_cascades.rename_user_rows,
    ),
)


@dataclasses.dataclass(frozen=True)
class Operation:
    kind: str
    account: str
    new_account: str = ""

    def main_step_committed(self) -> bool:
        """What vmail shows: the domain, or the (old) address, is gone."""
        if self.kind == DELETE_DOMAIN:
            return not Domain.select().where(Domain.domain == self.account).exists()
        if self.kind in LIST_KINDS:
            return not Maillist.select().where(Maillist.address == self.account).exists()
        return not _mailbox_exists(self.account)

    def other_stores(self) -> None:
        if self.kind in LIST_KINDS:
            mlmmj_cascades.remove_files(self.account, keep_archive=self.kind == DELETE_LIST)
            return
        # A renamed mailbox may have been deleted since: then its old rows go as with a delete.
        renamed = self.kind == RENAME_USER and _mailbox_exists(self.new_account)
        for store in STORES:
            if self.kind == DELETE_DOMAIN:
                store.delete_domain(self.account)
            elif renamed:
                store.rename_user(self.account, self.new_account)
            else:
                store.delete_user(self.account)


def _mailbox_exists(address: str) -> bool:
    return Mailbox.select().where(Mailbox.username == address).exists()


def _operation(entry: PendingCascade) -> Operation:
    return Operation(entry.operation, entry.account, entry.new_account)


def _finish(entry: PendingCascade, now) -> bool:
    """Finish an interrupted operation when its main step committed (True), drop an abandoned
    one whose main step never did; leave a young one alone (its request may still run)."""
    operation = _operation(entry)
    committed = operation.main_step_committed()
    if committed:
        operation.other_stores()
    elif now - entry.created < ABANDONED_AFTER:
        return False
    PendingCascade.delete().where(PendingCascade.id == entry.id).execute()
    if committed:
        log.info("finished an interrupted %s of %s", entry.operation, entry.account)
    return committed


def _finish_all(query) -> list[Operation]:
    now = utcnow()
    return [_operation(entry) for entry in list(query) if _finish(entry, now)]


def before_taking(name: str) -> list[Operation]:
    """Finish what an interrupted operation left of `name` (an address, or a domain with all its
    addresses) before a create or rename takes it; answers the operations it finished."""
    entries = PendingCascade.select()
    if "@" in name:
        entries = entries.where(
            (PendingCascade.account == name) | (PendingCascade.new_account == name)
        )
    else:
        like = "%@" + name
        entries = entries.where(
            (PendingCascade.account == name)
            | (PendingCascade.account**like)
            | (PendingCascade.new_account**like)
        )
    return _finish_all(entries)


def run(operation: Operation, main_step) -> None:
    """Run `main_step` (the vmail transaction) and then the other stores' steps, journaled."""
    finished = _finish_all(
        PendingCascade.select().where(
            (PendingCascade.created < utcnow() - STALE_AFTER)
            | (
                (PendingCascade.operation == operation.kind)
                & (PendingCascade.account == operation.account)
                & (PendingCascade.new_account == operation.new_account)
            )
        )
    )
    if operation.new_account:  # a rename takes a name
        finished += before_taking(operation.new_account)
    entry = PendingCascade.insert(
        operation=operation.kind,
        account=operation.account,
        new_account=operation.new_account,
        created=utcnow(),
    ).execute()
    try:
        main_step()
    except ApiError as exc:  # refused before anything was written
        PendingCascade.delete().where(PendingCascade.id == entry).execute()
        if operation in finished and exc.code.startswith("NO_SUCH_"):
            return  # this call was made before, and has now been finished
        raise
    # Any other failure, here or below, leaves the entry: whether the main step committed is
    # read from vmail when the entry is finished.
    operation.other_stores()
    PendingCascade.delete().where(PendingCascade.id == entry).execute()
