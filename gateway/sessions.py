"""Logins, database sessions and API keys (CONTRACT.md §3).

Only a SHA-512 digest of a session id is stored; sessions slide with activity and live in the
`iredadmin` database, so any gateway process accepts any session.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import hmac
import json
import secrets
import threading
import time

from shared.db import PreparedQuery, iredadmin_db
from shared.errors import ApiError
from shared.identity import Identity
from shared.models.iredadmin import ApiKey, LoginFailure, Session
from shared.models.vmail import Admin, Mailbox
from shared.passwords import DUMMY_HASH, verify_password
from shared.rules import api_keys
from shared.rules.admins import load_identity
from shared.timeutil import utcnow

# How stale `atime` may get before a request writes it again (saves a write per request): at most
# this many seconds, and never more than this fraction of the timeout, so a session in use can
# never expire between two refreshes whatever SESSION_TIMEOUT is.
TOUCH_AFTER_MAX_SECONDS = 15
TOUCH_AFTER_FRACTION = 0.05
# How long a process may answer from what it read of a session and its admin (whose role, domains
# or existence may change in another process): a disabled, demoted or deleted admin, a session
# ended by logout in another gateway process, loses its access within this time (CONTRACT §3's
# "within one second"). Kept well under a second so that a request in flight fits too.
AUTH_CACHE_SECONDS = 0.5
AUTH_CACHE_ENTRIES = 10_000


def session_digest(token: str) -> str:
    return hashlib.sha512(token.encode()).hexdigest()


def _admin_password(username: str) -> str | None:
    """The stored hash of an active admin or admin mailbox, else None."""
    admin = (
        Admin.select(Admin.password)
        .where((Admin.username == username) & (Admin.active == 1))
        .first()
    )
    if admin is not None:
        return admin.password
    mailbox = (
        Mailbox.select(Mailbox.password)
        .where(
            (Mailbox.username == username)
            & (Mailbox.active == 1)
            & ((Mailbox.isadmin == 1) | (Mailbox.isglobaladmin == 1))
        )
        .first()
    )
    return mailbox.password if mailbox is not None else None


SESSION_QUERY = PreparedQuery(
    lambda digest: Session.select(Session.atime, Session.data).where(Session.session_id == digest),
    "digest",
)


class AuthCache:
    """Digest of a session id or API key → what was last read for it, for AUTH_CACHE_SECONDS.

    Per process, bounded (emptied when full), safe under threads: a miss only costs a read."""

    def __init__(self, seconds: float = AUTH_CACHE_SECONDS, entries: int = AUTH_CACHE_ENTRIES):
        self._seconds = seconds
        self._entries = entries
        self._checked: dict[str, tuple[object, float]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str):
        checked = self._checked.get(digest)
        if checked is None or checked[1] < time.monotonic():
            return None
        return checked[0]

    def put(self, digest: str, value) -> None:
        if self._seconds <= 0:
            return
        with self._lock:
            if len(self._checked) >= self._entries:
                self._checked.clear()
            self._checked[digest] = (value, time.monotonic() + self._seconds)

    def forget(self, digest: str) -> None:
        self._checked.pop(digest, None)


class FailureCounter:
    """Failed logins and wrong API keys, counted in the database per client address (and per
    username for logins) within LOGIN_FAILURE_WINDOW (CONTRACT §3, brute force)."""

    KEY = "(api key)"  # the username of a wrong key's row: never a valid address

    def __init__(self, config):
        self._max_failures = config.login_max_failures
        self._window = datetime.timedelta(seconds=config.login_failure_window)

    def too_many(self, client_ip: str, username: str | None = None) -> bool:
        since = utcnow() - self._window
        recent = LoginFailure.select().where(LoginFailure.failed_at > since)
        if recent.where(LoginFailure.ip == client_ip).count() >= self._max_failures:
            return True
        return (
            username is not None
            and recent.where(LoginFailure.username == username).count() >= self._max_failures
        )

    def record(self, client_ip: str, username: str = KEY) -> None:
        now = utcnow()
        LoginFailure.delete().where(
            (LoginFailure.ip == client_ip) & (LoginFailure.failed_at <= now - self._window)
        ).execute()
        LoginFailure.insert(ip=client_ip[:64], username=username[:255], failed_at=now).execute()


class Sessions:
    def __init__(self, config, cache_seconds: float = AUTH_CACHE_SECONDS):
        self._timeout = datetime.timedelta(seconds=config.session_timeout)
        self._touch_after = min(
            TOUCH_AFTER_MAX_SECONDS, config.session_timeout * TOUCH_AFTER_FRACTION
        )
        self._failures = FailureCounter(config)
        self._cache = AuthCache(cache_seconds)

    # -- login / logout -----------------------------------------------------------------
    def login(self, username: str, password: str, client_ip: str) -> str:
        """A new session token for valid credentials; INVALID_CREDENTIALS never says why."""
        username = username.strip().lower()
        if self._failures.too_many(client_ip, username):
            raise ApiError("TOO_MANY_REQUESTS", "too many failed logins; try again later")
        stored = _admin_password(username)
        valid = verify_password(password, stored or DUMMY_HASH) and stored is not None
        identity = load_identity(username, client_ip) if valid else None
        if identity is None:
            self._failures.record(client_ip, username)
            raise ApiError("INVALID_CREDENTIALS")
        token = secrets.token_urlsafe(32)
        Session.insert(
            session_id=session_digest(token),
            atime=utcnow(),
            data=json.dumps({"username": username, "via": "mailapi"}),
        ).execute()
        return token

    def logout(self, token: str | None) -> None:
        if not token:
            raise ApiError("LOGIN_REQUIRED")
        digest = session_digest(token)
        self._cache.forget(digest)
        deleted = Session.delete().where(Session.session_id == digest).execute()
        if not deleted:
            raise ApiError("LOGIN_REQUIRED")

    # -- every request ------------------------------------------------------------------
    def authenticate(self, token: str | None, client_ip: str, fresh: bool = False) -> Identity:
        """The session's identity, from this process's cache unless `fresh` (a read of the
        databases as they are now)."""
        if not token:
            raise ApiError("LOGIN_REQUIRED")
        digest = session_digest(token)
        now = utcnow()
        checked = None if fresh else self._cache.get(digest)
        if checked is not None and checked[1] + self._timeout >= now:
            return with_client_ip(checked[0], client_ip)
        return self._authenticate(digest, client_ip, now)

    def _authenticate(self, digest: str, client_ip: str, now: datetime.datetime) -> Identity:
        """The session and its admin as the databases hold them now."""
        self._cache.forget(digest)
        found = SESSION_QUERY.rows(iredadmin_db, digest=digest)
        if not found:
            raise ApiError("LOGIN_REQUIRED")
        atime, data = Session.atime.python_value(found[0][0]), found[0][1]
        if atime + self._timeout < now:
            Session.delete().where(Session.session_id == digest).execute()
            raise ApiError("SESSION_EXPIRED")
        try:
            username = json.loads(data or "{}")["username"]
        except (ValueError, KeyError, TypeError):
            raise ApiError("LOGIN_REQUIRED") from None  # not a session of this API
        identity = load_identity(username, client_ip)
        if identity is None:  # disabled or removed since the login
            Session.delete().where(Session.session_id == digest).execute()
            raise ApiError("LOGIN_REQUIRED")
        if (now - atime).total_seconds() > self._touch_after:
            Session.update(atime=now).where(Session.session_id == digest).execute()
            atime = now
        self._cache.put(digest, (identity, atime))
        return identity


def with_client_ip(identity: Identity, client_ip: str) -> Identity:
    if identity.client_ip == client_ip:
        return identity
    return dataclasses.replace(identity, client_ip=client_ip)


KEY_QUERY = PreparedQuery(
    lambda digest: ApiKey.select(ApiKey.key_hash, *api_keys.PUBLIC_FIELDS).where(
        ApiKey.key_hash == digest
    ),
    "digest",
)


class ApiKeys:
    """`Authorization: Bearer <key>` or `X-API-Key: <key>` instead of a session (§4.7).

    A key acts as its owner as the databases hold the owner now, narrowed to the key; like a
    session, what was read is reused for AUTH_CACHE_SECONDS at most. Wrong, revoked and expired
    keys count toward the client address's failure limit."""

    def __init__(self, config, cache_seconds: float = AUTH_CACHE_SECONDS):
        self._failures = FailureCounter(config)
        self._cache = AuthCache(cache_seconds)

    def authenticate(self, secret: str, client_ip: str, fresh: bool = False) -> Identity:
        digest = api_keys.key_digest(secret)
        now = utcnow()
        checked = None if fresh else self._cache.get(digest)
        if checked is None:
            checked = self._read(digest, client_ip, now)
        key, identity = checked
        if key.expired(now):
            self._cache.forget(digest)
            raise ApiError("LOGIN_REQUIRED")
        if not key.allows(client_ip):
            raise ApiError("NOT_AUTHORIZED", "this API key may not be used from this address")
        return with_client_ip(identity, client_ip)

    def _read(self, digest: str, client_ip: str, now: datetime.datetime):
        if self._failures.too_many(client_ip):
            raise ApiError("TOO_MANY_REQUESTS", "too many failed attempts; try again later")
        found = KEY_QUERY.dicts(iredadmin_db, digest=digest)
        row = found[0] if found else None
        if (
            row is None
            or not hmac.compare_digest(row["key_hash"], digest)
            or row["revoked"]
            or api_keys.stored_key(row).expired(now)
        ):
            self._failures.record(client_ip)
            raise ApiError("LOGIN_REQUIRED")
        key = api_keys.stored_key(row)
        owner = load_identity(key.owner, client_ip)
        if owner is None:  # disabled or deleted: its keys go with it
            raise ApiError("LOGIN_REQUIRED")
        last_used = row["last_used"]
        if (
            last_used is None
            or (now - last_used).total_seconds() >= api_keys.LAST_USED_EVERY_SECONDS
        ):
            ApiKey.update(last_used=now.replace(microsecond=0)).where(
                ApiKey.key_hash == digest
            ).execute()
        checked = (key, key.narrowed(owner))
        self._cache.put(digest, checked)
        return checked
