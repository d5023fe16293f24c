"""Spam policies: one Amavisd `policy` row per account, named after it (`policy_name` = `@.`,
`@domain` or `user@domain`) and linked from the account's `users` row (spec/amavisd.md §1.2,
§2.3; CONTRACT §4.8).

Amavisd takes each setting from the most specific account whose policy has it (user, then
domain, then global, then amavisd.conf); a NULL column is "not set here". So a "no" is written
as 'N' or '' (never NULL, which would fall through to amavisd.conf's quarantine strings), with
one exception the contract names: `always_insert_x_spam_headers=no` stores a NULL tag level.
A PUT keeps what it leaves out; a new policy starts from the vendor's documented defaults.
"""

from __future__ import annotations

import dataclasses

from shared.db import amavisd_db
from shared.errors import ApiError
from shared.models.amavisd import AmavisdUser, Policy
from shared.params import Params
from shared.rules import amavisd_accounts
from shared.rules.policy_accounts import PolicyAccount

QUARANTINE_FIELD = "quarantine_{}"
BUILTIN_BAN_RULES = ("ALLOW_MS_OFFICE", "ALLOW_MS_WORD", "ALLOW_MS_EXCEL", "ALLOW_MS_PPT")
SCORE_RANGE = (-999, 999)
ALWAYS_TAG_LEVEL = -999.0
INT_MAX = 2**31 - 1  # message_size_limit is an INTEGER


@dataclasses.dataclass(frozen=True)
class Check:
    """One of Amavisd's four checks: its bypass flag, and the lover flag and quarantine string
    that decide whether a message it catches is quarantined."""

    name: str  # the API's word: spam, virus, banned, bad_header
    bypass: str  # parameter and column: bypass_<x>_checks
    lover: str
    quarantine_to: str
    quarantine_string: str  # what iRedMail's amavisd.conf names the quarantine
    quarantine_default: bool

    @property
    def quarantine_param(self) -> str:
        return QUARANTINE_FIELD.format(self.name)


CHECKS = (
    Check("spam", "bypass_spam_checks", "spam_lover", "spam_quarantine_to",
          "spam-quarantine", False),
    Check("virus", "bypass_virus_checks", "virus_lover", "virus_quarantine_to",
          "virus-quarantine", True),
    Check("banned", "bypass_banned_checks", "banned_files_lover", "banned_quarantine_to",
          "banned-quarantine", False),
    Check("bad_header", "bypass_header_checks", "bad_header_lover", "bad_header_quarantine_to",
          "bad-header-quarantine", False),
)  # fmt: skip

PARAMETERS = (
    *(check.bypass for check in CHECKS),
    *(check.quarantine_param for check in CHECKS),
    "prefix_spam_in_subject", "always_insert_x_spam_headers", "spam_score", "banned_rulenames",
    "message_size_limit",
)  # fmt: skip

# A new policy: nothing bypassed, viruses quarantined, nothing else (the vendor's defaults).
NEW_POLICY = {
    **{check.bypass: False for check in CHECKS},
    **{check.quarantine_param: check.quarantine_default for check in CHECKS},
    "prefix_spam_in_subject": False, "always_insert_x_spam_headers": False,
    "spam_score": None, "banned_rulenames": [], "message_size_limit": None,
}  # fmt: skip


def _yn(flag: bool) -> str:
    return "Y" if flag else "N"


def parse(params: Params, ban_rules: tuple[str, ...]) -> dict:
    """The settings a PUT gives, checked (INVALID_PARAM, INVALID_NUMBER) before anything is
    written."""
    values: dict = {}
    for check in CHECKS:
        for name in (check.bypass, check.quarantine_param):
            if name in params:
                values[name] = params.get_bool(name)
    for name in ("prefix_spam_in_subject", "always_insert_x_spam_headers"):
        if name in params:
            values[name] = params.get_bool(name)
    if "spam_score" in params:
        values["spam_score"] = _score(params.get_str("spam_score"))
    if "banned_rulenames" in params:
        values["banned_rulenames"] = _rule_names(params.get_list("banned_rulenames"), ban_rules)
    if "message_size_limit" in params:
        empty = params.get_str("message_size_limit") == ""
        values["message_size_limit"] = (
            None if empty else params.get_int("message_size_limit", minimum=0, maximum=INT_MAX)
        )
    return values


def _score(raw: str) -> float | None:
    if raw == "":
        return None
    try:
        score = float(raw)
    except ValueError:
        raise ApiError("INVALID_NUMBER", "spam_score must be a number") from None
    if not SCORE_RANGE[0] <= score <= SCORE_RANGE[1] or score != score:  # NaN
        raise ApiError("INVALID_NUMBER", "spam_score must be between -999 and 999")
    return score


def _rule_names(names: list[str], ban_rules: tuple[str, ...]) -> list[str]:
    known = set(BUILTIN_BAN_RULES) | set(ban_rules)
    for name in names:
        if name not in known:
            raise ApiError("INVALID_PARAM", f"banned_rulenames: unknown rule {name[:100]}")
    if len(",".join(names)) > Policy.banned_rulenames.max_length:
        raise ApiError("INVALID_PARAM", "banned_rulenames: at most 64 characters in all")
    return names


def columns_for(values: dict, stored: dict, subject_prefix: str) -> dict:
    """The policy columns for the given settings. Each check's lover flag is recomputed from
    the resulting (bypass, quarantine) pair: a bypassing recipient must still get the message
    (Amavisd scans once for all recipients), a quarantining one must not."""
    columns: dict = {}
    for check in CHECKS:
        bypass = values.get(check.bypass)
        quarantine = values.get(check.quarantine_param)
        if bypass is not None:
            columns[check.bypass] = _yn(bypass)
        if quarantine is not None:
            columns[check.quarantine_to] = check.quarantine_string if quarantine else ""
        if bypass is None and quarantine is None:
            continue
        if bypass is None:
            bypass = stored.get(check.bypass) == "Y"
        if quarantine is None:
            quarantine = _quarantines(stored, check)
        if bypass or quarantine is not None:
            columns[check.lover] = "Y" if bypass or not quarantine else "N"
    if "prefix_spam_in_subject" in values:
        columns["spam_subject_tag2"] = subject_prefix if values["prefix_spam_in_subject"] else ""
    if "always_insert_x_spam_headers" in values:
        columns["spam_tag_level"] = (
            ALWAYS_TAG_LEVEL if values["always_insert_x_spam_headers"] else None
        )
    if "spam_score" in values:
        columns["spam_tag2_level"] = columns["spam_kill_level"] = values["spam_score"]
    if "banned_rulenames" in values:
        columns["banned_rulenames"] = ",".join(values["banned_rulenames"]) or None
    if "message_size_limit" in values:
        columns["message_size_limit"] = values["message_size_limit"]
    return columns


def _quarantines(row: dict, check: Check) -> bool | None:
    """Whether the stored row quarantines what the check catches (None: not set here)."""
    target = row.get(check.quarantine_to)
    if target is None:
        return None
    return bool(target) and (row.get(check.lover) == "N" or row.get(check.bypass) == "Y")


def _flag(value) -> str | None:
    return None if value is None else "yes" if value == "Y" else "no"


def describe(account: str, priority: int, row: dict) -> dict:
    """GET's `_data`: the settings read back from the columns (null: not set here)."""
    data = {"account": account, "policy_id": row["id"], "policy_name": row["policy_name"],
            "priority": priority}  # fmt: skip
    for check in CHECKS:
        data[check.bypass] = _flag(row[check.bypass])
        quarantine = _quarantines(row, check)
        data[check.quarantine_param] = None if quarantine is None else _flag(_yn(quarantine))
    tag2 = row["spam_subject_tag2"]
    data["prefix_spam_in_subject"] = None if tag2 is None else "yes" if tag2 else "no"
    level = row["spam_tag_level"]
    data["always_insert_x_spam_headers"] = (
        "yes" if level is not None and level <= ALWAYS_TAG_LEVEL else "no"
    )
    score = row["spam_tag2_level"] if row["spam_tag2_level"] is not None else row["spam_kill_level"]
    data["spam_score"] = None if score is None else round(score, 2)
    names = row["banned_rulenames"]
    data["banned_rulenames"] = [n for n in (names or "").split(",") if n]
    data["message_size_limit"] = row["message_size_limit"]
    return data


def get(account: PolicyAccount) -> dict:
    user = amavisd_accounts.find(account.account)
    if user is None or not user.policy_id:
        return {}
    row = Policy.select().where(Policy.id == user.policy_id).dicts().first()
    return describe(account.account, user.priority, row) if row else {}


def _own_policy(account: str) -> dict | None:
    """The policy named after the account: linked from its row, or a stray one unlinked."""
    return Policy.select().where(Policy.policy_name == account).dicts().first()


def put(account: PolicyAccount, values: dict, subject_prefix: str) -> None:
    with amavisd_db.atomic():
        user = amavisd_accounts.ensure(account)
        stored = _own_policy(account.account)
        if stored is None:
            columns = columns_for({**NEW_POLICY, **values}, {}, subject_prefix)
            policy_id = Policy.insert(policy_name=account.account, **columns).execute()
        else:
            policy_id = stored["id"]
            columns = columns_for(values, stored, subject_prefix)
            if columns:
                Policy.update(**columns).where(Policy.id == policy_id).execute()
        if user.policy_id != policy_id:  # never edit a policy named for another account
            AmavisdUser.update(policy_id=policy_id).where(AmavisdUser.id == user.id).execute()


def delete(account: PolicyAccount) -> None:
    """The account's own policy goes; its `users` row stays while white/blacklists use it (and
    always for `@.`, which anchors the global lists)."""
    with amavisd_db.atomic():
        user = amavisd_accounts.find(account.account, lock=True)
        Policy.delete().where(Policy.policy_name == account.account).execute()
        if user is None:
            return
        if account.scope == "global" or amavisd_accounts.has_lists(user.id):
            AmavisdUser.update(policy_id=0).where(AmavisdUser.id == user.id).execute()
        else:
            AmavisdUser.delete().where(AmavisdUser.id == user.id).execute()
