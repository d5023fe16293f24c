"""Greylisting settings and whitelists in the iredapd database, as iRedAPD's `greylisting`
plugin reads them (spec/greylisting-mlmmj.md §1.1, §2.1; CONTRACT §4.8).

A setting is the row (account, sender `@.`): `active` 1 greylists mail to the account, 0 lets
it through; the plugin takes the first matching row by `priority` (user 100, domain 60,
global 0: iRedAPD's ACCOUNT_PRIORITIES), and greylists nobody without one. The API manages only
`sender = '@.'` rows; per-sender rows written by iRedAPD's own tool are shown by `all` and
carried by cascades. Whitelists are (account, sender) rows; the ones iRedAPD's SPF tool wrote
(`comment` `AUTO-UPDATE: <domain>`) survive a `senders=` replacement.
"""

from __future__ import annotations

import functools
import operator

from shared import db
from shared.db import iredapd_db, like
from shared.errors import ApiError
from shared.identity import Identity
from shared.models.iredapd import (
    Greylisting,
    GreylistingTracking,
    GreylistingWhitelist,
    GreylistingWhitelistDomain,
    GreylistingWhitelistDomainSpf,
)
from shared.params import Params, list_change
from shared.rules import sender_forms
from shared.rules.policy_accounts import GLOBAL_ACCOUNT, PolicyAccount

PRIORITIES = {"user": 100, "domain": 60, "global": 0}
ENABLE_WORDS = {"enable", "enabled", "yes", "1", "on", "true"}
DISABLE_WORDS = {"disable", "disabled", "no", "0", "off", "false"}
AUTO_UPDATE = "AUTO-UPDATE:"
SETTING_FIELDS = ("account", "sender", "priority", "sender_priority", "active", "comment")


def status_param(params: Params) -> int:
    raw = params.get_str("status", required=True).lower()
    if raw in ENABLE_WORDS:
        return 1
    if raw in DISABLE_WORDS:
        return 0
    raise ApiError("INVALID_PARAM", "status must be enable or disable")


def _describe(row: dict) -> dict:
    return {**row, "status": "enable" if row["active"] else "disable"}


def _setting_query():
    return Greylisting.select(*(getattr(Greylisting, f) for f in SETTING_FIELDS))


def get_setting(account: str) -> dict:
    row = (
        _setting_query()
        .where((Greylisting.account == account) & (Greylisting.sender == GLOBAL_ACCOUNT))
        .dicts()
        .first()
    )
    return _describe(row) if row else {}


def all_settings(caller: Identity) -> list[dict]:
    """Every row the caller may see: a global admin all, a domain admin its domains' and their
    users' rows."""
    query = _setting_query()
    if not caller.is_global:
        domains = sorted(caller.domains)
        if not domains:
            return []
        query = query.where(
            Greylisting.account.in_(["@" + d for d in domains])
            | functools.reduce(operator.or_, (like(Greylisting.account, "%@" + d) for d in domains))
        )
    query = query.order_by(Greylisting.priority.desc(), Greylisting.account, Greylisting.sender)
    return [_describe(row) for row in query.dicts()]


def set_setting(account: PolicyAccount, active: int) -> None:
    key = {"account": account.account, "sender": GLOBAL_ACCOUNT}
    row = {**key, "priority": PRIORITIES[account.scope], "sender_priority": 0, "active": active}
    update = {Greylisting.active: active, Greylisting.priority: PRIORITIES[account.scope]}
    with iredapd_db.atomic():
        db.upsert(Greylisting, key, row, update)


def delete_setting(account: str) -> None:
    Greylisting.delete().where(
        (Greylisting.account == account) & (Greylisting.sender == GLOBAL_ACCOUNT)
    ).execute()


def whitelist_entries(params: Params, name: str) -> list[str] | None:
    """A list of senders (addresses, domains, IPs, networks; no wildcard IPs, which the
    plugin never matches), normalised as it compares them; INVALID_PARAM names a bad one."""
    entries = params.get_list(name)
    return None if entries is None else list(sender_forms.classify_all(entries))


def whitelists(account: str) -> list[str]:
    rows = GreylistingWhitelist.select(GreylistingWhitelist.sender).where(
        GreylistingWhitelist.account == account
    )
    return sorted(row.sender for row in rows)


def change_whitelists(account: str, params: Params) -> tuple[int, int]:
    """`senders` (replace all but the SPF tool's rows) or `addSenders`/`removeSenders`;
    answers (added, removed)."""
    params.reject_combined("senders", "addSenders", "removeSenders")
    replace = whitelist_entries(params, "senders")
    add = whitelist_entries(params, "addSenders")
    remove = whitelist_entries(params, "removeSenders")
    if replace is None and add is None and remove is None:
        raise ApiError("MISSING_PARAM", "senders, addSenders or removeSenders is required")
    with iredapd_db.atomic():
        mine = GreylistingWhitelist.account == account
        rows = db.lock_for_update(
            GreylistingWhitelist.select(GreylistingWhitelist.sender, GreylistingWhitelist.comment)
            .where(mine)
        )  # fmt: skip
        current = {row.sender: row.comment for row in rows}
        if replace is not None:
            kept = {s for s, comment in current.items() if comment.startswith(AUTO_UPDATE)}
            wanted = set(replace) | kept
        else:
            wanted = list_change(set(current), None, add, remove)
        gone = sorted(set(current) - wanted)
        new = sorted(wanted - set(current))
        for start in range(0, len(gone), 500):
            part = gone[start : start + 500]
            GreylistingWhitelist.delete().where(
                mine & GreylistingWhitelist.sender.in_(part)
            ).execute()
        db.insert_rows(
            GreylistingWhitelist, ("account", "sender", "comment"),
            [(account, sender, "") for sender in new], ignore_duplicates=True,
        )  # fmt: skip
    return len(new), len(gone)


def spf_domains() -> list[str]:
    query = GreylistingWhitelistDomain.select(GreylistingWhitelistDomain.domain)
    return sorted(row.domain for row in query)


def change_spf_domains(params: Params) -> tuple[int, int]:
    """`domains` (replace all) or `addDomains`/`removeDomains`; a removed domain takes the
    addresses iRedAPD's SPF tool derived from it along (answers (added, removed))."""
    params.reject_combined("domains", "addDomains", "removeDomains")
    replace = params.get_domain_list("domains")
    add = params.get_domain_list("addDomains")
    remove = params.get_domain_list("removeDomains")
    if replace is None and add is None and remove is None:
        raise ApiError("MISSING_PARAM", "domains, addDomains or removeDomains is required")
    with iredapd_db.atomic():
        query = GreylistingWhitelistDomain.select(GreylistingWhitelistDomain.domain)
        current = {row.domain for row in db.lock_for_update(query)}
        wanted = list_change(current, replace, add, remove)
        gone = sorted(current - wanted)
        new = sorted(wanted - current)
        if gone:
            GreylistingWhitelistDomain.delete().where(
                GreylistingWhitelistDomain.domain.in_(gone)
            ).execute()
            comments = [f"{AUTO_UPDATE} {domain}" for domain in gone]
            for model in (GreylistingWhitelistDomainSpf, GreylistingWhitelist):
                model.delete().where(model.comment.in_(comments)).execute()
        db.insert_rows(
            GreylistingWhitelistDomain, ("domain",), [(d,) for d in new], ignore_duplicates=True
        )
    return len(new), len(gone)


# -- the cascade steps of this store (shared/rules/cascade.py); each one is idempotent --------
def _delete_accounts(where_for) -> None:
    with iredapd_db.atomic():
        for model in (Greylisting, GreylistingWhitelist):
            model.delete().where(where_for(model.account)).execute()


def delete_domain_rows(domain: str) -> None:
    _delete_accounts(lambda column: (column == "@" + domain) | like(column, "%@" + domain))
    GreylistingTracking.delete().where(GreylistingTracking.rcpt_domain == domain).execute()


def delete_user_rows(address: str) -> None:
    _delete_accounts(lambda column: column == address)
    GreylistingTracking.delete().where(GreylistingTracking.recipient == address).execute()


def rename_rows(old: str, new: str) -> None:
    """`old`'s settings and whitelists become `new`'s, replacing what `new` had."""
    with iredapd_db.atomic():
        for model in (Greylisting, GreylistingWhitelist):
            if model.select().where(model.account == old).exists():
                model.delete().where(model.account == new).execute()
                model.update(account=new).where(model.account == old).execute()
