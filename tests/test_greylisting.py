"""Greylisting (CONTRACT §4.8, spec/greylisting-mlmmj.md §1.1, §2.1) through the gateway: the
iredapd rows on every backend (iRedAPD's answers: tests/test_antispam_iredapd.py)."""

from __future__ import annotations

import pytest

from shared.models.iredapd import (
    Greylisting,
    GreylistingTracking,
    GreylistingWhitelist,
    GreylistingWhitelistDomain,
    GreylistingWhitelistDomainSpf,
)
from tests.conftest import login
from tests.helpers import (
    add_domain,
    add_domain_admin,
    add_mailbox,
    failure,
    ok,
    rows,
)

BASE = "/api/greylisting"
PW = "Us3r-Passw0rd"


def settings() -> list[tuple]:
    query = Greylisting.select().order_by(Greylisting.account)
    return [(r["account"], r["priority"], r["sender"], r["sender_priority"], r["active"])
            for r in rows(query)]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "account", "priority"),
    [("global", "@.", 0), ("example.com", "@example.com", 60),
     ("u@example.com", "u@example.com", 100), ("U%40EXAMPLE.com", "u@example.com", 100)],
)  # fmt: skip
def test_settings(accounts, path, account, priority):
    api = accounts
    url = f"{BASE}/{path}"
    assert api.get(url).json == {"_success": True, "_data": {}}
    ok(api.post(url, {"status": "disable"}))
    assert settings() == [(account, priority, "@.", 0, 0)]
    ok(api.post(url + "/", {"status": "enable"}))  # one row, updated
    assert settings() == [(account, priority, "@.", 0, 1)]
    assert api.get(url).json["_data"] == {
        "account": account, "sender": "@.", "priority": priority, "sender_priority": 0,
        "active": 1, "status": "enable", "comment": "",
    }  # fmt: skip
    ok(api.delete(url))
    assert settings() == []
    ok(api.delete(url))  # idempotent


def test_status_words_and_errors(accounts):
    api = accounts
    for word, active in [("enabled", 1), ("no", 0), ("ON", 1), ("false", 0)]:
        ok(api.post(f"{BASE}/global", {"status": word}))
        assert settings()[0][-1] == active
    assert failure(api.post(f"{BASE}/global")) == "MISSING_PARAM"
    assert failure(api.post(f"{BASE}/global", {"status": "sometimes"})) == "INVALID_PARAM"
    assert failure(api.get(f"{BASE}/nowhere.org")) == "NO_SUCH_DOMAIN"
    assert failure(api.get(f"{BASE}/x@example.com")) == "NO_SUCH_ACCOUNT"
    assert failure(api.post(f"{BASE}/all", {"status": "enable"})) == "METHOD_NOT_ALLOWED"
    assert failure(api.delete(f"{BASE}/whitelist_spf_domains")) == "METHOD_NOT_ALLOWED"


def test_all(accounts):
    api = accounts
    ok(api.post(f"{BASE}/global", {"status": "enable"}))
    ok(api.post(f"{BASE}/example.com", {"status": "disable"}))
    ok(api.post(f"{BASE}/u@example.com", {"status": "enable"}))
    data = api.get(f"{BASE}/all").json["_data"]
    assert [(d["account"], d["priority"], d["status"]) for d in data] == [
        ("u@example.com", 100, "enable"), ("@example.com", 60, "disable"), ("@.", 0, "enable"),
    ]  # fmt: skip


def test_whitelists(accounts):
    api = accounts
    url = f"{BASE}/u@example.com/whitelists"
    assert api.get(url).json["_data"] == []
    ok(api.post(url, {"senders": "Friend@Ext.test,192.0.2.0/24,2001:DB8::/32,@trusted.test"}))
    assert api.get(url).json["_data"] == [
        "192.0.2.0/24", "2001:db8::/32", "@trusted.test", "friend@ext.test",
    ]  # fmt: skip
    ok(
        api.post(
            url, {"addSenders": "198.51.100.7/32,@.sub.test", "removeSenders": "@trusted.test"}
        )
    )
    assert api.get(url).json["_data"] == [
        "192.0.2.0/24", "198.51.100.7", "2001:db8::/32", "@.sub.test", "friend@ext.test",
    ]  # fmt: skip
    # The SPF tool's rows survive a replacement.
    GreylistingWhitelist.insert(account="u@example.com", sender="203.0.113.9",
                                comment="AUTO-UPDATE: big.test").execute()  # fmt: skip
    ok(api.post(url, {"senders": "@.sub.test"}))
    assert api.get(url).json["_data"] == ["203.0.113.9", "@.sub.test"]
    ok(api.post(url, {"senders": ""}))
    assert api.get(url).json["_data"] == ["203.0.113.9"]
    assert failure(api.post(url, {"senders": "a@b.test", "addSenders": "c@d.test"})) == (
        "INVALID_PARAM"
    )
    assert failure(api.post(url)) == "MISSING_PARAM"
    response = api.post(url, {"addSenders": "ok@fine.test,192.0.2.*"})
    assert failure(response) == "INVALID_PARAM" and "192.0.2.*" in response.json["_detail"]
    ok(api.post(f"{BASE}/global/whitelists", {"addSenders": "@."}))
    assert api.get(f"{BASE}/global/whitelists").json["_data"] == ["@."]


def test_spf_domains(accounts):
    api = accounts
    url = f"{BASE}/whitelist_spf_domains"
    ok(api.post(url, {"domains": "big.test,Other.test"}))
    assert api.get(url).json["_data"] == ["big.test", "other.test"]
    for model in (GreylistingWhitelistDomainSpf, GreylistingWhitelist):
        model.insert(account="@.", sender="192.0.2.99", comment="AUTO-UPDATE: big.test").execute()
        model.insert(
            account="@.", sender="100.64.0.0/10", comment="AUTO-UPDATE: other.test"
        ).execute()
    ok(api.post(url, {"removeDomains": "big.test", "addDomains": "third.test"}))
    assert api.get(url).json["_data"] == ["other.test", "third.test"]
    for model in (GreylistingWhitelistDomainSpf, GreylistingWhitelist):
        assert [r["sender"] for r in rows(model.select())] == ["100.64.0.0/10"]
    assert rows(GreylistingWhitelistDomain.select().where(
        GreylistingWhitelistDomain.domain == "big.test")) == []  # fmt: skip
    assert failure(api.post(url, {"addDomains": "not a domain"})) == "INVALID_DOMAIN_NAME"


def test_domain_admins(api):
    add_domain("mine.org")
    add_domain("theirs.org")
    add_mailbox("boss@mine.org", password="B0ss-Passw0rd", isadmin=1)
    add_domain_admin("boss@mine.org", "mine.org")
    Greylisting.insert(account="@theirs.org", priority=60, sender="@.", active=0).execute()
    login(api, "boss@mine.org", "B0ss-Passw0rd")
    ok(api.post(f"{BASE}/mine.org", {"status": "disable"}))
    ok(api.post(f"{BASE}/boss@mine.org/whitelists", {"addSenders": "a@b.test"}))
    assert [d["account"] for d in api.get(f"{BASE}/all").json["_data"]] == ["@mine.org"]
    for path in ("global", "theirs.org", "u@theirs.org", "nowhere.org"):
        assert failure(api.get(f"{BASE}/{path}")) == "PERMISSION_DENIED"
        assert failure(api.post(f"{BASE}/{path}", {"status": "enable"})) == "PERMISSION_DENIED"
        assert failure(api.get(f"{BASE}/{path}/whitelists")) == "PERMISSION_DENIED"
    assert failure(api.get(f"{BASE}/whitelist_spf_domains")) == "PERMISSION_DENIED"
    assert failure(api.post(f"{BASE}/whitelist_spf_domains", {"domains": "x.test"})) == (
        "PERMISSION_DENIED"
    )


def test_cascades(admin_api):
    api = admin_api
    ok(api.post("/api/domain/example.com"))
    for user in ("u@example.com", "v@example.com"):
        ok(api.post(f"/api/user/{user}", {"password": PW}))
        ok(api.post(f"{BASE}/{user}", {"status": "disable"}))
        ok(api.post(f"{BASE}/{user}/whitelists", {"addSenders": "a@b.test"}))
    ok(api.post(f"{BASE}/example.com", {"status": "enable"}))
    GreylistingTracking.insert(
        sender="a@x.test", recipient="u@example.com", client_address="192.0.2.1",
        rcpt_domain="example.com",
    ).execute()  # fmt: skip
    ok(api.post("/api/user/u@example.com/change_email/w@example.com"))
    assert [s[0] for s in settings()] == ["@example.com", "v@example.com", "w@example.com"]
    assert api.get(f"{BASE}/w@example.com/whitelists").json["_data"] == ["a@b.test"]
    ok(api.delete("/api/user/v@example.com"))
    assert [s[0] for s in settings()] == ["@example.com", "w@example.com"]
    ok(api.delete("/api/domain/example.com"))
    assert settings() == [] and rows(GreylistingWhitelist.select()) == []
    assert rows(GreylistingTracking.select()) == []
