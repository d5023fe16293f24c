"""Admins, logins and database sessions (CONTRACT.md §3).

Only a SHA-512 digest of a session id is stored; sessions slide with activity and live in the
`iredadmin` database, so any gateway process accepts any session.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import secrets
import threading
import time

import peewee

from shared.db import PreparedQuery, iredadmin_db, vmail_db
from shared.errors import ApiError
from shared.identity import DOMAIN_ADMIN, GLOBAL, Identity
from shared.models.iredadmin import LoginFailure, Session
from shared.models.vmail import Admin, DomainAdmin, Mailbox
from shared.passwords import hash_password, verify_password
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
# Verified against when the username is unknown, so that both cases cost the same.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


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


def _identity_query(username):
    """One round trip: the admin row, the admin mailbox, and the managed domains."""
    standalone = Admin.select(peewee.Value("admin"), peewee.Value(0), peewee.Value("")).where(
        (Admin.username == username) & (Admin.active == 1)
    )
    mailbox = Mailbox.select(
        peewee.Value("mailbox"), Mailbox.isglobaladmin, peewee.Value("")
    ).where(
        (Mailbox.username == username)
        & (Mailbox.active == 1)
        & ((Mailbox.isadmin == 1) | (Mailbox.isglobaladmin == 1))
    )
    managed = DomainAdmin.select(peewee.Value("domain"), peewee.Value(0), DomainAdmin.domain).where(
        (DomainAdmin.username == username) & (DomainAdmin.active == 1)
    )
    return standalone + mailbox + managed  # UNION ALL


IDENTITY_QUERY = PreparedQuery(_identity_query, "username")
SESSION_QUERY = PreparedQuery(
    lambda digest: Session.select(Session.atime, Session.data).where(Session.session_id == digest),
    "digest",
)


def load_identity(username: str, client_ip: str) -> Identity | None:
    """The role and managed domains of an active admin, or None when it may not log in."""
    is_admin, is_global, domains = False, False, set()
    for kind, global_flag, domain in IDENTITY_QUERY.rows(vmail_db, username=username):
        if kind == "domain":
            domains.add(domain)
        else:
            is_admin = True
            is_global = is_global or bool(global_flag)
    if not is_admin:
        return None
    if "ALL" in domains:
        is_global = True
    domains.discard("ALL")
    role = GLOBAL if is_global else DOMAIN_ADMIN
    return Identity(admin=username, role=role, domains=frozenset(domains), client_ip=client_ip)


@dataclasses.dataclass(frozen=True)
class _Checked:
    """What authenticate() read of one session, and until when (monotonic) it may be reused."""

    identity: Identity
    atime: datetime.datetime
    until: float


class AuthCache:
    """Session digest → the identity last read for it, for AUTH_CACHE_SECONDS at most.

    Per process, bounded (emptied when full), safe under threads: a miss only costs a read."""

    def __init__(self, seconds: float = AUTH_CACHE_SECONDS, entries: int = AUTH_CACHE_ENTRIES):
        self._seconds = seconds
        self._entries = entries
        self._checked: dict[str, _Checked] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> _Checked | None:
        checked = self._checked.get(digest)
        if checked is None or checked.until < time.monotonic():
            return None
        return checked

    def put(self, digest: str, identity: Identity, atime: datetime.datetime) -> None:
        if self._seconds <= 0:
            return
        with self._lock:
            if len(self._checked) >= self._entries:
                self._checked.clear()
            self._checked[digest] = _Checked(identity, atime, time.monotonic() + self._seconds)

    def forget(self, digest: str) -> None:
        self._checked.pop(digest, None)


class Sessions:
    def __init__(self, config, cache_seconds: float = AUTH_CACHE_SECONDS):
        self._timeout = datetime.timedelta(seconds=config.session_timeout)
        self._touch_after = min(
            TOUCH_AFTER_MAX_SECONDS, config.session_timeout * TOUCH_AFTER_FRACTION
        )
        self._max_failures = config.login_max_failures
        self._window = datetime.timedelta(seconds=config.login_failure_window)
        self._cache = AuthCache(cache_seconds)

    # -- brute force --------------------------------------------------------------------
    def _too_many_failures(self, username: str, client_ip: str) -> bool:
        since = utcnow() - self._window
        recent = LoginFailure.select().where(LoginFailure.failed_at > since)
        by_ip = recent.where(LoginFailure.ip == client_ip).count()
        return (
            by_ip >= self._max_failures
            or recent.where(LoginFailure.username == username).count() >= self._max_failures
        )

    def _record_failure(self, username: str, client_ip: str) -> None:
        now = utcnow()
        LoginFailure.delete().where(
            (LoginFailure.ip == client_ip) & (LoginFailure.failed_at <= now - self._window)
        ).execute()
        LoginFailure.insert(ip=client_ip[:64], username=username[:255], failed_at=now).execute()

    # -- login / logout -----------------------------------------------------------------
    def login(self, username: str, password: str, client_ip: str) -> str:
        """A new session token for valid credentials; INVALID_CREDENTIALS never says why."""
        username = username.strip().lower()
        if self._too_many_failures(username, client_ip):
            raise ApiError("TOO_MANY_REQUESTS", "too many failed logins; try again later")
        stored = _admin_password(username)
        valid = verify_password(password, stored or _DUMMY_HASH) and stored is not None
        identity = load_identity(username, client_ip) if valid else None
        if identity is None:
            self._record_failure(username, client_ip)
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
        if checked is not None and checked.atime + self._timeout >= now:
            if checked.identity.client_ip != client_ip:
                return dataclasses.replace(checked.identity, client_ip=client_ip)
            return checked.identity
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
        self._cache.put(digest, identity, atime)
        return identity
