"""The `users` rows of the amavisd database: one per local account that has a spam policy or
white/blacklists (`user@domain`, `@domain`, `@.`), and what happens to them when the account
goes or is renamed (the cascade steps of this store, shared/rules/cascade.py).

The priorities are Amavisd's and iRedAPD's (`MAILADDR_PRIORITIES`: a mailbox 10, a domain 5,
everyone 0; higher is more specific). `policy_id` is always written: its SQL default 1 would
link a new row to whatever policy has id 1.
"""

from __future__ import annotations

from shared import db
from shared.db import amavisd_db, like, lock_for_update
from shared.models.amavisd import AmavisdUser, OutboundWblist, Policy, Wblist
from shared.rules.policy_accounts import PolicyAccount

PRIORITIES = {"user": 10, "domain": 5, "global": 0}


def find(account: str, lock: bool = False) -> AmavisdUser | None:
    """The account's row (locked until the transaction ends with `lock`)."""
    query = AmavisdUser.select().where(AmavisdUser.email == account)
    return (lock_for_update(query) if lock else query).first()


def ensure(account: PolicyAccount) -> AmavisdUser:
    """The account's row, made when missing, and locked: writers of one account's rows take
    turns. An upsert that rewrites nothing (not INSERT IGNORE: on MySQL that takes a shared
    lock on the row another writer made, and two such writers then deadlock on FOR UPDATE)."""
    row = {"email": account.account, "priority": PRIORITIES[account.scope], "policy_id": 0}
    db.upsert(AmavisdUser, {"email": account.account}, row,
              {AmavisdUser.priority: AmavisdUser.priority})  # fmt: skip
    return find(account.account, lock=True)


def has_lists(user_id: int) -> bool:
    return (
        Wblist.select().where(Wblist.rid == user_id).exists()
        or OutboundWblist.select().where(OutboundWblist.sid == user_id).exists()
    )


def _delete_accounts(where_user, where_policy) -> None:
    """The accounts' white/blacklists, their own policies and their rows, in one transaction
    (entries naming them as *senders* in other accounts' lists stay: they are addresses)."""
    with amavisd_db.atomic():
        ids = [user.id for user in AmavisdUser.select(AmavisdUser.id).where(where_user)]
        if ids:
            Wblist.delete().where(Wblist.rid.in_(ids)).execute()
            OutboundWblist.delete().where(OutboundWblist.sid.in_(ids)).execute()
            AmavisdUser.delete().where(AmavisdUser.id.in_(ids)).execute()
        Policy.delete().where(where_policy).execute()


# -- the cascade steps of this store; each one is idempotent -----------------------------------
def delete_domain_rows(domain: str) -> None:
    """`@domain` and every `…@domain` (not `@.domain`: it may cover sub-domains that live on)."""
    pattern = "%@" + domain
    _delete_accounts(
        (AmavisdUser.email == "@" + domain) | like(AmavisdUser.email, pattern),
        (Policy.policy_name == "@" + domain) | like(Policy.policy_name, pattern),
    )


def delete_user_rows(address: str) -> None:
    _delete_accounts(AmavisdUser.email == address, Policy.policy_name == address)


def rename_rows(old: str, new: str) -> None:
    """`old`'s policy and lists become `new`'s, replacing what `new` had."""
    with amavisd_db.atomic():
        if (
            find(old, lock=True) is None
            and not Policy.select().where(Policy.policy_name == old).exists()
        ):
            return
        delete_user_rows(new)
        AmavisdUser.update(email=new).where(AmavisdUser.email == old).execute()
        Policy.update(policy_name=new).where(Policy.policy_name == old).execute()
