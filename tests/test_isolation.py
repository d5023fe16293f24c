"""Tenant isolation: a domain admin never reaches, changes or learns about another domain's
accounts (CONTRACT §6 "Mailbox location", "Members and forwardings"); proven with the rows and,
on MariaDB, with the real Dovecot."""

from __future__ import annotations

import pytest

from shared import db
from shared.models.vmail import AliasDomain, DeletedMailbox, Forwarding, Mailbox
from tests.conftest import login
from tests.helpers import add_domain_admin, failure, rows

PW = "Us3r-Passw0rd"
BOSS_PW = "B0ss-Passw0rd"


def ok(response) -> None:
    assert response.json == {"_success": True}, response.json


def mailbox(address: str) -> dict | None:
    found = rows(Mailbox.select().where(Mailbox.username == address))
    return found[0] if found else None


@pytest.fixture
def tenants(admin_api):
    """victim.test with bob, evil.test with spy and a domain admin boss@evil.test."""
    ok(admin_api.post("/api/domain/victim.test"))
    ok(admin_api.post("/api/domain/evil.test"))
    for address in ("bob@victim.test", "spy@evil.test", "u1@evil.test"):
        ok(admin_api.post(f"/api/user/{address}", {"password": PW}))
    ok(admin_api.post("/api/user/boss@evil.test", {"password": BOSS_PW}))
    add_domain_admin("boss@evil.test", "evil.test")
    Mailbox.update(isadmin=1).where(Mailbox.username == "boss@evil.test").execute()
    db.release_connections()
    return admin_api


@pytest.fixture
def boss(tenants, make_api):
    return login(make_api(), "boss@evil.test", BOSS_PW)


# -- 1. mailbox location -------------------------------------------------------------------
def test_a_maildir_in_another_domain_is_refused_at_create_and_update(tenants, boss):
    bobs = mailbox("bob@victim.test")["maildir"]
    spys = mailbox("spy@evil.test")["maildir"]
    for client in (boss, tenants):  # global admins included
        answer = client.post("/api/user/spy2@evil.test", {"password": PW, "maildir": bobs})
        assert failure(answer) == "INVALID_PARAM"
        assert "evil.test/" in answer.json["_detail"]
        assert failure(client.put("/api/user/spy@evil.test", {"maildir": bobs})) == "INVALID_PARAM"
    assert mailbox("spy2@evil.test") is None
    assert mailbox("spy@evil.test")["maildir"] == spys


@pytest.mark.parametrize(
    "maildir",
    [
        "/var/vmail/vmail1/victim.test/b/o/b/bob/",  # absolute
        "evil.test/../victim.test/b/o/b/bob/",
        "evil.test/./x/",
        "evil.test",  # the domain's directory itself holds every mailbox
        "evil.test/",
        "evil.test//x",
        "evil.test/%u/",
        "evil.test/~x/",
        "evil.test/a b/",
        "evil.test/" + "x" * 250,  # home longer than deleted_mailboxes.maildir holds
    ],
)
def test_maildirs_that_leave_the_domain_directory(tenants, boss, maildir):
    before = mailbox("spy@evil.test")
    assert failure(boss.put("/api/user/spy@evil.test", {"maildir": maildir})) == "INVALID_PARAM"
    assert mailbox("spy@evil.test") == before


def test_two_mailboxes_never_share_or_nest_a_maildir(tenants, boss):
    u1 = mailbox("u1@evil.test")["maildir"]  # evil.test/u/1/_/u1-<stamp>/
    for maildir in (u1, u1.upper(), u1.rstrip("/"), u1 + "inner/", "evil.test/u/1/", "evil.test/u"):
        answer = boss.put("/api/user/spy@evil.test", {"maildir": maildir})
        assert failure(answer) == "INVALID_PARAM", maildir
    ok(boss.put("/api/user/spy@evil.test", {"maildir": "evil.test/custom/spy"}))
    assert mailbox("spy@evil.test")["maildir"] == "evil.test/custom/spy/"
    ok(boss.put("/api/user/spy@evil.test", {"maildir": "evil.test/custom/spy/"}))  # its own
    nested = boss.post("/api/user/u3@evil.test", {"password": PW, "maildir": "evil.test/custom"})
    assert failure(nested) == "INVALID_PARAM"


def test_the_kept_mail_of_a_deleted_mailbox_is_not_given_to_another(tenants, boss):
    old = mailbox("u1@evil.test")["maildir"]
    ok(boss.delete("/api/user/u1@evil.test"))
    assert rows(DeletedMailbox.select(DeletedMailbox.maildir))[0]["maildir"].endswith(old)
    assert failure(boss.put("/api/user/spy@evil.test", {"maildir": old})) == "INVALID_PARAM"
    # The same address may take its own kept mail back.
    ok(boss.post("/api/user/u1@evil.test", {"password": PW, "maildir": old}))
    assert mailbox("u1@evil.test")["maildir"] == old


def test_an_address_deleted_and_created_again_at_once_gets_a_new_maildir(tenants):
    for _ in range(3):  # well within one second: the timestamps would be the same
        old = mailbox("u1@evil.test")["maildir"]
        ok(tenants.delete("/api/user/u1@evil.test"))
        ok(tenants.post("/api/user/u1@evil.test", {"password": PW}))
        assert mailbox("u1@evil.test")["maildir"] != old
    kept = [r["maildir"] for r in rows(DeletedMailbox.select())]
    assert len(set(kept)) == 3 and not any(k.endswith(mailbox("u1@evil.test")["maildir"])
                                           for k in kept)  # fmt: skip


@pytest.mark.server_db
def test_dovecot_never_shows_a_home_in_another_domain(tenants, boss, dovecot):
    bobs_home = dovecot.user("bob@victim.test")["home"]
    bobs = mailbox("bob@victim.test")["maildir"]
    assert failure(boss.put("/api/user/spy@evil.test", {"maildir": bobs})) == "INVALID_PARAM"
    assert failure(boss.post("/api/user/spy2@evil.test", {"password": PW, "maildir": bobs})) == (
        "INVALID_PARAM"
    )
    assert dovecot.user("spy2@evil.test") is None
    assert dovecot.user("spy@evil.test")["home"].startswith("/var/vmail/vmail1/evil.test/")
    ok(boss.put("/api/user/spy@evil.test", {"maildir": "evil.test/custom/spy"}))
    assert dovecot.user("spy@evil.test")["home"] == "/var/vmail/vmail1/evil.test/custom/spy/"
    assert dovecot.user("bob@victim.test")["home"] == bobs_home
    assert dovecot.auth("spy@evil.test", PW) and dovecot.auth("bob@victim.test", PW)


# -- 2. no existence oracle ----------------------------------------------------------------
@pytest.mark.parametrize("target", ["bob@victim.test", "ghost@victim.test"])
def test_another_domains_addresses_answer_the_same_whether_they_exist(tenants, boss, target):
    ok(boss.post("/api/alias/team@evil.test", {"members": target}))
    ok(boss.put("/api/alias/team@evil.test", {"addMember": target.replace("@", "+x@")}))
    ok(boss.put("/api/user/spy@evil.test", {"forwarding": target}))
    ok(boss.put("/api/domain/evil.test", {"catchall": target}))
    assert failure(boss.put("/api/domain/admins/evil.test", {"addAdmin": target})) == (
        "PERMISSION_DENIED"
    )
    assert mailbox("bob@victim.test")["isadmin"] == 0


def test_the_callers_own_domains_are_still_checked(tenants, boss):
    for params in ({"members": "ghost@evil.test"}, {"members": "spy@evil.test,nope@evil.test"}):
        assert failure(boss.post("/api/alias/team@evil.test", params)) == "NO_SUCH_ACCOUNT"
    assert failure(boss.put("/api/user/spy@evil.test", {"forwarding": "ghost@evil.test"})) == (
        "NO_SUCH_ACCOUNT"
    )
    assert failure(boss.put("/api/domain/evil.test", {"catchall": "ghost@evil.test"})) == (
        "NO_SUCH_ACCOUNT"
    )
    assert failure(boss.put("/api/domain/admins/evil.test", {"addAdmin": "ghost@evil.test"})) == (
        "NO_SUCH_ACCOUNT"
    )
    ok(boss.put("/api/domain/admins/evil.test", {"addAdmin": "u1@evil.test"}))
    assert mailbox("u1@evil.test")["isadmin"] == 1


def test_alias_domain_addresses_are_checked_at_their_target(tenants, boss):
    ok(tenants.put("/api/domain/evil.test", {"aliasDomains": "evil-alias.test"}))
    ok(tenants.put("/api/domain/victim.test", {"aliasDomains": "victim-alias.test"}))
    ok(boss.post("/api/alias/team@evil.test", {"members": "spy@evil-alias.test"}))
    ok(boss.put("/api/alias/team@evil.test", {"addMember": "ghost@victim-alias.test"}))
    answer = boss.put("/api/alias/team@evil.test", {"addMember": "ghost@evil-alias.test"})
    assert failure(answer) == "NO_SUCH_ACCOUNT"


def test_a_user_profile_names_only_the_callers_aliases(tenants, boss, make_api):
    ok(boss.post("/api/alias/team@evil.test", {"members": "bob@victim.test"}))
    ok(tenants.post("/api/alias/staff@victim.test", {"members": "bob@victim.test"}))
    assert tenants.get("/api/user/bob@victim.test").json["_data"]["member_of"] == [
        "staff@victim.test", "team@evil.test",
    ]  # fmt: skip
    ok(tenants.post("/api/user/vboss@victim.test", {"password": BOSS_PW}))
    add_domain_admin("vboss@victim.test", "victim.test")
    Mailbox.update(isadmin=1).where(Mailbox.username == "vboss@victim.test").execute()
    db.release_connections()
    vboss = login(make_api(), "vboss@victim.test", BOSS_PW)
    assert vboss.get("/api/user/bob@victim.test").json["_data"]["member_of"] == [
        "staff@victim.test"
    ]


# -- other parameters that could reach another tenant -------------------------------------
@pytest.mark.parametrize(
    "transport",
    ["mlmmj:victim.test/list", "mlmmj:evil.test/../victim.test/list", "mlmmj:evil.test/a/b",
     "lmtp:unix:../../victim", "mlmmj:evil.test"],
)  # fmt: skip
def test_transports_never_feed_another_domains_list(tenants, boss, transport):
    params = {"transport": transport}
    assert failure(boss.put("/api/user/spy@evil.test", params)) == "INVALID_TRANSPORT"
    assert failure(boss.put("/api/domain/evil.test", params)) == "INVALID_TRANSPORT"
    assert failure(boss.put("/api/users/evil.test", params)) == "INVALID_TRANSPORT"
    assert failure(tenants.post("/api/domain/new.test", params)) == "INVALID_TRANSPORT"
    assert mailbox("spy@evil.test")["transport"] == ""


def test_a_transport_to_a_list_of_the_same_domain_is_kept(tenants, boss):
    ok(boss.put("/api/user/spy@evil.test", {"transport": "mlmmj:evil.test/news"}))
    assert mailbox("spy@evil.test")["transport"] == "mlmmj:evil.test/news"


def test_a_domain_admin_claims_alias_domains_only_with_the_right_to_create_domains(tenants, boss):
    """An alias domain takes every local sender's mail to that name (gmail.com, say)."""
    answer = boss.put("/api/domain/evil.test", {"addAliasDomain": "gmail.com"})
    assert failure(answer) == "PERMISSION_DENIED"
    assert failure(boss.put("/api/domain/evil.test", {"aliasDomains": "gmail.com"})) == (
        "PERMISSION_DENIED"
    )
    assert rows(AliasDomain.select()) == []
    ok(tenants.put("/api/domain/evil.test", {"aliasDomains": "evil-alias.test"}))
    ok(boss.put("/api/domain/evil.test", {"aliasDomains": "evil-alias.test"}))  # no change
    ok(boss.put("/api/domain/evil.test", {"removeAliasDomain": "evil-alias.test"}))
    assert rows(AliasDomain.select()) == []
    Mailbox.update(settings="create_max_domains:5;").where(
        Mailbox.username == "boss@evil.test"
    ).execute()
    db.release_connections()
    ok(boss.put("/api/domain/evil.test", {"addAliasDomain": "evil-alias.test"}))


def test_forwardings_to_other_domains_are_stored_as_outside_addresses(tenants, boss):
    ok(boss.put("/api/user/spy@evil.test", {"forwarding": "ghost@victim.test"}))
    found = rows(Forwarding.select().where(Forwarding.address == "spy@evil.test"))
    assert [(r["forwarding"], r["dest_domain"]) for r in found] == [
        ("ghost@victim.test", "victim.test")
    ]
