"""iRedAPD throttle settings: one `throttle` row per (account, kind) (DATA-MODEL.md §4)."""

from __future__ import annotations

from shared.db import iredapd_db, lock_key, upsert
from shared.errors import ApiError
from shared.identity import Identity
from shared.models.iredapd import Throttle, ThrottleTracking
from shared.params import Params
from shared.rules import policy_accounts
from shared.rules.policy_accounts import GLOBAL_ACCOUNT

PRIORITY = {"user": 100, "domain": 60, "global": 0}
LIMITS = ("msg_size", "max_msgs", "max_quota", "max_rcpts")
BIGINT_MAX = 2**63 - 1
PERIOD_MAX = 2**32 - 1  # INT UNSIGNED
ANSWERED = ("period", "msg_size", "max_msgs", "max_quota", "max_rcpts", "account", "kind",
            "priority")  # fmt: skip


def resolve_account(caller: Identity, placeholder: str) -> tuple[str, int]:
    """(`account` column value, priority) for `global`, a domain or an address; checks access."""
    resolved = policy_accounts.resolve(caller, placeholder)
    return resolved.account, PRIORITY[resolved.scope]


def require_account_exists(account: str) -> None:
    scope = "global" if account == GLOBAL_ACCOUNT else "domain" if account[0] == "@" else "user"
    policy_accounts.PolicyAccount(scope, account).require_exists()


def limit_params(params: Params) -> dict[str, int]:
    """The values given: period > 0; each limit -1 (inherit), 0 (none) or a positive number."""
    values = {}
    if "period" in params:
        values["period"] = params.get_int("period", minimum=1, maximum=PERIOD_MAX)
    for name in LIMITS:
        if name in params:
            values[name] = params.get_int(name, minimum=-1, maximum=BIGINT_MAX)
    return values


def get_throttle(account: str, kind: str) -> dict:
    row = (
        Throttle.select(*(getattr(Throttle, f) for f in ANSWERED))
        .where((Throttle.account == account) & (Throttle.kind == kind))
        .dicts()
        .first()
    )
    return row or {}


def set_throttle(account: str, kind: str, priority: int, values: dict[str, int]) -> None:
    """Create or update the one row of (account, kind) with `values` (from `limit_params`);
    values left out keep what is stored."""
    require_account_exists(account)
    with iredapd_db.atomic():
        lock_key(iredapd_db, "throttle", account, kind)
        exists = (
            Throttle.select()
            .where((Throttle.account == account) & (Throttle.kind == kind))
            .exists()
        )
        if not exists and "period" not in values:
            raise ApiError("MISSING_PARAM", "period is required for a new throttle setting")
        row = {"account": account, "kind": kind, "priority": priority, "period": 0,
               **dict.fromkeys(LIMITS, -1), **values}  # fmt: skip
        update = {getattr(Throttle, name): value for name, value in values.items()}
        update[Throttle.priority] = priority
        # Concurrent first POSTs meet in one row (db.upsert: the unique key, or the lock).
        upsert(Throttle, {"account": account, "kind": kind}, row, update)


def delete_where(where) -> None:
    """Remove throttle settings and, first, their tracking rows (no cascade in iRedAPD)."""
    with iredapd_db.atomic():
        ids = Throttle.select(Throttle.id).where(where)
        ThrottleTracking.delete().where(ThrottleTracking.tid.in_(ids)).execute()
        Throttle.delete().where(where).execute()


def delete_throttle(account: str, kind: str) -> None:
    delete_where((Throttle.account == account) & (Throttle.kind == kind))


# -- the cascade steps of this store (shared/rules/cascade.py); each one is idempotent --------
def delete_domain_rows(domain: str) -> None:
    delete_where((Throttle.account == "@" + domain) | (Throttle.account ** ("%@" + domain)))


def delete_user_rows(address: str) -> None:
    delete_where(Throttle.account == address)


def rename_rows(old: str, new: str) -> None:
    """The settings of `old` become `new`'s, replacing any `new` had of the same kind."""
    with iredapd_db.atomic():
        kinds = [row.kind for row in Throttle.select(Throttle.kind).where(Throttle.account == old)]
        if kinds:
            delete_where((Throttle.account == new) & Throttle.kind.in_(kinds))
        Throttle.update(account=new).where(Throttle.account == old).execute()
        ThrottleTracking.update(account=new).where(ThrottleTracking.account == old).execute()
