"""Deleting or renaming a user or a domain carries its spam policy and white/blacklists with it
(CONTRACT §4.8, spec/amavisd.md §2.5), also when the amavisd database fails in between."""

from __future__ import annotations

import pytest

from shared.models.amavisd import AmavisdUser, MailAddr, OutboundWblist, Policy, Wblist
from tests.conftest import UNREACHABLE, login
from tests.helpers import failure, ok, rows

PW = "Us3r-Passw0rd"


def amavisd_accounts() -> list[str]:
    """The amavisd accounts (users rows) and policy names, as text."""
    users = {_text(u["email"]) for u in rows(AmavisdUser.select())}
    names = {p["policy_name"] for p in rows(Policy.select())}
    return sorted(users | names)


def _text(value) -> str:
    return bytes(value).decode() if isinstance(value, bytes | memoryview) else value


@pytest.fixture
def server(admin_api):
    """example.com with u@example.com and v@example.com, each with a policy and lists; v is
    also on u's list as a sender, and another domain keeps its own."""
    api = admin_api
    for domain in ("example.com", "example.org"):
        ok(api.post(f"/api/domain/{domain}"))
        ok(api.put(f"/api/spampolicy/domain/{domain}", {"quarantine_spam": "yes"}))
        ok(api.post(f"/api/wblist/inbound/blacklist/{domain}", {"addresses": "@bad.test"}))
    for user in ("u@example.com", "v@example.com"):
        ok(api.post(f"/api/user/{user}", {"password": PW}))
        ok(api.put(f"/api/spampolicy/user/{user}", {"spam_score": "3"}))
        ok(api.post(f"/api/wblist/outbound/blacklist/{user}", {"addresses": "x@ext.test"}))
    ok(api.post("/api/wblist/inbound/whitelist/u@example.com", {"addresses": "v@example.com"}))
    return api


def test_user_delete(server):
    ok(server.delete("/api/user/u@example.com"))
    assert amavisd_accounts() == ["@.", "@example.com", "@example.org", "v@example.com"]
    assert len(rows(Wblist.select())) == 2 and len(rows(OutboundWblist.select())) == 1
    # The address stays where it is a sender on another account's list.
    assert "u@example.com" not in {_text(m["email"]) for m in rows(MailAddr.select())}


def test_domain_delete(server):
    ok(server.delete("/api/domain/example.com"))
    assert amavisd_accounts() == ["@.", "@example.org"]
    assert len(rows(Wblist.select())) == 1 and rows(OutboundWblist.select()) == []


def test_rename_carries_the_policy_and_the_lists(server):
    ok(server.post("/api/user/u@example.com/change_email/w@example.com"))
    assert amavisd_accounts() == [
        "@.",
        "@example.com",
        "@example.org",
        "v@example.com",
        "w@example.com",
    ]
    assert server.get("/api/spampolicy/user/w@example.com").json["_data"]["spam_score"] == 3
    assert server.get("/api/wblist/outbound/blacklist/w@example.com").json["_data"] == [
        "x@ext.test"
    ]
    assert server.get("/api/wblist/inbound/whitelist/w@example.com").json["_data"] == [
        "v@example.com"
    ]


def test_an_interrupted_domain_delete_is_finished_before_the_name_is_taken(server, make_api):
    broken = login(make_api(amavisd_db_url=UNREACHABLE.format("amavisd")))
    assert failure(broken.delete("/api/domain/example.com")) == "DATABASE_UNAVAILABLE"
    api = login(make_api())  # (the databases are bound per process: the healthy ones again)
    assert "@example.com" in amavisd_accounts()  # left behind
    ok(api.post("/api/domain/example.com"))
    assert api.get("/api/spampolicy/domain/example.com").json["_data"] == {}
    assert api.get("/api/wblist/inbound/blacklist/example.com").json["_data"] == []
    ok(api.post("/api/user/u@example.com", {"password": PW}))
    assert api.get("/api/spampolicy/user/u@example.com").json["_data"] == {}
    assert amavisd_accounts() == ["@.", "@example.org"]


def test_an_interrupted_user_delete_is_finished_by_its_retry(server, make_api):
    broken = login(make_api(amavisd_db_url=UNREACHABLE.format("amavisd")))
    assert failure(broken.delete("/api/user/u@example.com")) == "DATABASE_UNAVAILABLE"
    api = login(make_api())
    ok(api.delete("/api/user/u@example.com"))
    assert "u@example.com" not in amavisd_accounts()
