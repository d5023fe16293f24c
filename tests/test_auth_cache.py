"""The gateway's per-process cache of sessions (gateway/sessions.py, AUTH_CACHE_SECONDS).

Two gateway apps stand for two gateway processes: each has its own cache, both read the same
databases. What another process or tool changes reaches every process within one second.
"""

from __future__ import annotations

import time

import pytest

from shared import db
from shared.models.vmail import DomainAdmin, Mailbox
from tests.helpers import add_domain, add_domain_admin, add_mailbox

BOSS, BOSS_PW = "boss@mine.org", "B0ss-Passw0rd"
LIMIT = 1.0  # seconds, CONTRACT §3


@pytest.fixture
def processes(make_api, config):
    """Two gateway processes, both holding BOSS's session in their caches."""
    add_domain("mine.org")
    add_domain("other.org")
    add_mailbox(BOSS, password=BOSS_PW, isadmin=1, isglobaladmin=1)
    first = make_api()
    answer = first.post("/api/login", {"username": BOSS, "password": BOSS_PW}).json
    assert answer == {"_success": True}
    second = make_api()
    cookie = config.session_cookie_name
    second.set_cookie(cookie, first.cookies[cookie])
    for client in (first, second):
        assert client.get("/api/domain/other.org").json["_success"] is True
    return first, second


def seconds_until_denied(client, path: str, code: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < 3 * LIMIT:
        answer = client.get(path).json
        if not answer["_success"]:
            assert answer["_msg"] == code, answer
            return time.monotonic() - started
        time.sleep(0.02)
    return float("inf")


def _disable():
    Mailbox.update(active=0).where(Mailbox.username == BOSS).execute()


def _delete():
    Mailbox.delete().where(Mailbox.username == BOSS).execute()


def _demote():  # to an admin of mine.org only
    Mailbox.update(isglobaladmin=0).where(Mailbox.username == BOSS).execute()
    add_domain_admin(BOSS, "mine.org")


@pytest.mark.parametrize(
    ("change", "code"),
    [(_disable, "LOGIN_REQUIRED"), (_delete, "LOGIN_REQUIRED"), (_demote, "PERMISSION_DENIED")],
    ids=["disabled", "deleted", "demoted"],
)
def test_a_revoked_admin_loses_access_within_a_second_on_every_process(processes, change, code):
    change()
    db.release_connections()
    changed_at = time.monotonic()
    for client in processes:
        waited = seconds_until_denied(client, "/api/domain/other.org", code)
        assert time.monotonic() - changed_at <= LIMIT, waited


def test_a_domain_taken_away_is_gone_within_a_second(processes):
    _demote()
    db.release_connections()
    for client in processes:
        assert seconds_until_denied(client, "/api/domain/other.org", "PERMISSION_DENIED") <= LIMIT
    DomainAdmin.delete().where(DomainAdmin.username == BOSS).execute()
    db.release_connections()
    changed_at = time.monotonic()
    for client in processes:
        seconds_until_denied(client, "/api/domain/mine.org", "PERMISSION_DENIED")
        assert time.monotonic() - changed_at <= LIMIT


def test_a_right_granted_elsewhere_counts_at_once(processes):
    """A cached identity never denies what the databases allow now: the denied request is sent
    again with the identity read afresh (a denied request changed nothing)."""
    first, second = processes
    _demote()
    db.release_connections()
    for client in processes:
        assert seconds_until_denied(client, "/api/domain/other.org", "PERMISSION_DENIED") <= LIMIT
    add_domain_admin(BOSS, "other.org")
    db.release_connections()
    assert second.get("/api/domain/other.org").json["_success"] is True
    assert second.put("/api/domain/other.org", {"name": "Other"}).json == {"_success": True}
    assert first.get("/api/domain/other.org").json["_data"]["description"] == "Other"
