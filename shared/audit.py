"""The audit trail: every successful write lands in iredadmin.log with an `[API]` message."""

from __future__ import annotations

from shared.identity import Identity
from shared.models.iredadmin import Log
from shared.timeutil import utcnow


def record(caller: Identity, event: str, msg: str, domain: str = "", username: str = "") -> None:
    """Write one log row. `msg` must never contain a secret."""
    prefix = f"[API key {caller.api_key}] " if caller.api_key else "[API] "
    Log.insert(
        timestamp=utcnow(),
        admin=caller.admin,
        ip=caller.client_ip[:40],
        domain=domain,
        username=username,
        event=event[:20],
        loglevel="info",
        msg=prefix + msg,
    ).execute()
