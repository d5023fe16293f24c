"""The audit trail: every successful write lands in iredadmin.log with an `[API]` message."""

from __future__ import annotations

from shared.identity import Identity
from shared.models.base import truncated
from shared.models.iredadmin import Log
from shared.timeutil import utcnow
from shared.validation import domain_of


def record(caller: Identity, event: str, msg: str, domain: str = "", username: str = "") -> None:
    """Write one log row. `msg` must never contain a secret."""
    suffix = f" (key: {caller.api_key})" if caller.api_key else ""
    Log.insert(
        timestamp=utcnow(),
        admin=caller.admin,
        ip=caller.client_ip[:40],
        domain=domain,
        username=username,
        event=event[:20],
        loglevel="info",
        msg=truncated(Log.msg, f"[API] {msg}{suffix}"),
    ).execute()


def record_account(caller: Identity, event: str, msg: str, address: str) -> None:
    """A log row about one account (the domain is the address's)."""
    record(caller, event, msg, domain=domain_of(address), username=address)


def changes(params) -> str:
    """The names of the parameters a write was given (never their values: secrets)."""
    return ", ".join(sorted(params.names())) or "nothing"
