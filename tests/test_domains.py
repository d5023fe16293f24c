"""The whole domain API (CONTRACT.md §4.2) through the gateway, with the rows it leaves."""

from __future__ import annotations

import pytest

from shared import db
from shared.models.vmail import (
    Admin,
    AliasDomain,
    Domain,
    DomainAdmin,
    Forwarding,
    Mailbox,
    RecipientBccDomain,
    SenderBccDomain,
    SenderRelayhost,
)
from tests.conftest import login
from tests.helpers import add_domain, add_domain_admin, add_mailbox, failure, rows


def domain_row(domain="example.com") -> dict:
    (row,) = rows(Domain.select().where(Domain.domain == domain))
    return row


def put(client, path, params):
    answer = client.put(path, params)
    return answer.json


@pytest.fixture
def domain(admin_api):
    assert admin_api.post("/api/domain/example.com", {"name": "Ex"}).json["_success"]
    return "example.com"


# -- list ----------------------------------------------------------------------------------
def test_list_profiles_and_names(admin_api):
    for name in ("b.org", "a.org", "c.org"):
        admin_api.post(f"/api/domain/{name}", {"name": name.upper()})
    admin_api.put("/api/domain/c.org", {"accountStatus": "disabled"})
    data = admin_api.get("/api/domains").json["_data"]
    assert [d["domain"] for d in data] == ["a.org", "b.org", "c.org"]
    assert data[0]["description"] == "A.ORG" and data[0]["settings"] == {}
    assert admin_api.get("/api/domains?name_only=yes").json["_data"] == ["a.org", "b.org", "c.org"]
    names = admin_api.get("/api/domains", {"name_only": "yes", "disabled_only": "yes"}).json
    assert names == {"_success": True, "_data": ["c.org"]}


def test_empty_list(admin_api):
    assert admin_api.get("/api/domains").json == {"_success": True, "_data": []}


def test_list_pages(admin_api):
    for n in range(5):
        add_domain(f"d{n}.org", description=f"domain {n}")
    first = admin_api.get("/api/domains", {"limit": "2", "name_only": "yes", "total": "yes"}).json
    assert first["_data"] == ["d0.org", "d1.org"] and first["_total"] == 5
    second = admin_api.get("/api/domains", {"limit": "2", "cursor": first["_next"]}).json
    assert [d["domain"] for d in second["_data"]] == ["d2.org", "d3.org"]
    third = admin_api.get("/api/domains", {"limit": "2", "cursor": second["_next"]}).json
    assert [d["domain"] for d in third["_data"]] == ["d4.org"] and "_next" not in third
    found = admin_api.get("/api/domains", {"limit": "10", "search": "Domain 3"}).json
    assert [d["domain"] for d in found["_data"]] == ["d3.org"] and "_total" not in found


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "1001"}, {"cursor": "!!"},
                                    {"status": "sleeping"}])  # fmt: skip
def test_bad_list_parameters(admin_api, params):
    assert failure(admin_api.get("/api/domains", params)) in ("INVALID_NUMBER", "INVALID_PARAM")


def test_domain_admin_lists_its_domains_only(api):
    for name in ("mine.org", "also-mine.org", "theirs.org"):
        add_domain(name)
    add_mailbox("boss@mine.org", password="B0ss-Passw0rd", isadmin=1)
    add_domain_admin("boss@mine.org", "mine.org")
    add_domain_admin("boss@mine.org", "also-mine.org")
    login(api, "boss@mine.org", "B0ss-Passw0rd")
    assert api.get("/api/domains?name_only=yes").json["_data"] == ["also-mine.org", "mine.org"]


# -- profile -----------------------------------------------------------------------------------
def test_profile_extras(admin_api, domain):
    add_mailbox("a@example.com", quota=100)
    add_mailbox("b@example.com", quota=250)
    put(admin_api, "/api/domain/example.com", {
        "catchall": "a@example.com", "aliasDomains": "example.net,example.org",
        "senderBcc": "s@archive.org", "recipientBcc": "r@archive.org",
        "outboundRelay": "smtp:[10.0.0.1]:25", "defaultQuota": "50",
        "disableUserProfile": "bcc,relay",
    })  # fmt: skip
    put(admin_api, "/api/domain/admins/example.com", {"addAdmin": "a@example.com"})
    data = admin_api.get("/api/domain/example.com").json["_data"]
    assert data["catchall"] == ["a@example.com"]
    assert data["alias_domains"] == ["example.net", "example.org"]
    assert (data["num_existing_users"], data["num_existing_aliases"]) == (2, 0)
    assert data["allocated_quota"] == 350
    assert data["admins"] == ["a@example.com"]
    assert (data["sender_bcc"], data["recipient_bcc"]) == ("s@archive.org", "r@archive.org")
    assert data["outbound_relay"] == "smtp:[10.0.0.1]:25"
    assert data["settings"] == {
        "default_user_quota": 50,
        "disabled_user_profiles": ["bcc", "relay"],
    }


# -- update --------------------------------------------------------------------------------------
def test_update_columns_and_settings(admin_api, domain):
    answer = put(admin_api, "/api/domain/example.com", {
        "cn": "New name", "quota": "4096", "language": "fr_FR", "transport": "lmtp:unix:x",
        "numberOfUsers": "10", "numberOfAliases": "-1", "numberOfLists": "0",
        "defaultQuota": "100", "maxUserQuota": "200", "minPasswordLength": "10",
        "maxPasswordLength": "40", "accountStatus": "disabled",
    })  # fmt: skip
    assert answer == {"_success": True}
    row = domain_row()
    assert (row["description"], row["maxquota"], row["transport"], row["active"]) == (
        "New name", 4096, "lmtp:unix:x", 0,
    )  # fmt: skip
    assert (row["mailboxes"], row["aliases"], row["maillists"]) == (10, -1, 0)
    assert row["settings"] == (
        "default_user_quota:100;max_user_quota:200;min_passwd_length:10;"
        "max_passwd_length:40;default_language:fr_FR;"
    )
    assert row["modified"] >= row["created"]


def test_zero_removes_settings_and_unknown_keys_survive(admin_api, domain):
    Domain.update(settings="custom:keep;default_user_quota:5;min_passwd_length:9;").execute()
    db.release_connections()
    put(admin_api, "/api/domain/example.com", {"defaultQuota": "0", "minPasswordLength": "0"})
    assert domain_row()["settings"] == "custom:keep;"


def test_backup_mx(admin_api, domain):
    put(admin_api, "/api/domain/example.com", {"is_backupmx": "yes", "primarymx": "10.1.2.3"})
    row = domain_row()
    assert (row["backupmx"], row["transport"]) == (1, "relay:[10.1.2.3]")
    put(admin_api, "/api/domain/example.com", {"primarymx": "[mx.example.com]:2525"})
    assert domain_row()["transport"] == "relay:[mx.example.com]:2525"
    put(admin_api, "/api/domain/example.com", {"is_backupmx": "yes"})
    assert domain_row()["transport"] == "relay:example.com"
    put(admin_api, "/api/domain/example.com", {"is_backupmx": "no"})
    row = domain_row()
    assert (row["backupmx"], row["transport"]) == (0, "dovecot")


def test_catchall_replace_and_clear(admin_api, domain):
    add_mailbox("a@example.com")
    put(admin_api, "/api/domain/example.com", {"catchall": "a@example.com,x@elsewhere.org"})
    got = rows(
        Forwarding.select(Forwarding.forwarding, Forwarding.dest_domain, Forwarding.domain).where(
            Forwarding.address == "example.com"
        )
    )
    assert sorted(r["forwarding"] for r in got) == ["a@example.com", "x@elsewhere.org"]
    assert {r["domain"] for r in got} == {"example.com"}
    assert {r["dest_domain"] for r in got} == {"example.com", "elsewhere.org"}
    put(admin_api, "/api/domain/example.com", {"catchall": ""})
    assert rows(Forwarding.select().where(Forwarding.address == "example.com")) == []


def test_outbound_relay_set_and_removed(admin_api, domain):
    put(admin_api, "/api/domain/example.com", {"outboundRelay": "smtp:[192.0.2.1]:587"})
    assert rows(SenderRelayhost.select(SenderRelayhost.account, SenderRelayhost.relayhost)) == [
        {"account": "@example.com", "relayhost": "smtp:[192.0.2.1]:587"}
    ]
    put(admin_api, "/api/domain/example.com", {"outboundRelay": ""})
    assert rows(SenderRelayhost.select()) == []


def test_bcc_set_changed_removed(admin_api, domain):
    put(admin_api, "/api/domain/example.com", {"senderBcc": "a@x.org", "recipientBcc": "b@x.org"})
    put(admin_api, "/api/domain/example.com", {"senderBcc": "c@x.org"})
    assert [r["bcc_address"] for r in rows(SenderBccDomain.select())] == ["c@x.org"]
    assert [r["bcc_address"] for r in rows(RecipientBccDomain.select())] == ["b@x.org"]
    put(admin_api, "/api/domain/example.com", {"recipientBcc": ""})
    assert rows(RecipientBccDomain.select()) == []


def test_alias_domains_replace_add_remove(admin_api, domain):
    put(admin_api, "/api/domain/example.com", {"aliasDomains": "a.org,b.org"})
    put(admin_api, "/api/domain/example.com", {"addAliasDomain": "c.org",
                                               "removeAliasDomain": "a.org"})  # fmt: skip
    got = rows(AliasDomain.select(AliasDomain.alias_domain, AliasDomain.target_domain))
    assert sorted(r["alias_domain"] for r in got) == ["b.org", "c.org"]
    assert {r["target_domain"] for r in got} == {"example.com"}
    put(admin_api, "/api/domain/example.com", {"aliasDomains": ""})
    assert rows(AliasDomain.select()) == []


def test_services_replace_add_remove(admin_api, domain):
    put(admin_api, "/api/domain/example.com", {"addService": "self-service"})
    assert domain_row()["settings"] == "enabled_services:self-service;"
    put(admin_api, "/api/domain/example.com", {"removeService": "self-service"})
    assert domain_row()["settings"] == ""
    put(admin_api, "/api/domain/example.com", {"services": "self-service"})
    assert domain_row()["settings"] == "enabled_services:self-service;"
    put(admin_api, "/api/domain/example.com", {"services": ""})
    assert domain_row()["settings"] == ""


def test_page_lists(admin_api, domain):
    put(admin_api, "/api/domain/example.com", {
        "disableDomainProfile": "bcc,relay", "disableUserPreference": "password",
    })  # fmt: skip
    put(admin_api, "/api/domain/example.com", {"enableDomainProfile": "relay"})
    assert domain_row()["settings"] == (
        "disabled_domain_profiles:bcc;disabled_user_preferences:password;"
    )


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"quota": "-1"}, "INVALID_NUMBER"),
        ({"defaultQuota": "x"}, "INVALID_NUMBER"),
        ({"numberOfUsers": "-2"}, "INVALID_NUMBER"),
        ({"accountStatus": "sleepy"}, "INVALID_PARAM"),
        ({"is_backupmx": "yes", "transport": "dovecot"}, "INVALID_PARAM"),
        ({"primarymx": "10.0.0.1", "transport": "dovecot"}, "INVALID_PARAM"),
        ({"is_backupmx": "yes", "primarymx": "bad host!"}, "INVALID_PARAM"),
        ({"is_backupmx": "no", "primarymx": "10.0.0.1"}, "INVALID_PARAM"),
        ({"catchall": "not-an-address"}, "INVALID_MAIL"),
        ({"catchall": "ghost@example.com"}, "NO_SUCH_ACCOUNT"),
        ({"senderBcc": "bad@@x.org"}, "INVALID_MAIL"),
        ({"outboundRelay": "10.0.0.1"}, "INVALID_PARAM"),
        ({"aliasDomains": "bad_domain"}, "INVALID_DOMAIN_NAME"),
        ({"aliasDomains": "a.org", "addAliasDomain": "b.org"}, "INVALID_PARAM"),
        ({"addAliasDomain": "example.com"}, "ALREADY_EXISTS"),
        ({"addAliasDomain": "other.org"}, "ALREADY_EXISTS"),
        ({"services": "webmail"}, "INVALID_SERVICE"),
        ({"services": "self-service", "addService": "self-service"}, "INVALID_PARAM"),
        ({"disableUserProfile": "nonsense"}, "INVALID_PARAM"),
        ({"language": "xx-yy"}, "INVALID_LANGUAGE"),
        ({"transport": ""}, "INVALID_TRANSPORT"),
    ],
)
def test_invalid_updates_change_nothing(admin_api, domain, params, code):
    add_domain("other.org")
    before = domain_row()
    assert failure(admin_api.put("/api/domain/example.com", params)) == code
    assert domain_row() == before
    assert rows(AliasDomain.select()) == [] and rows(Forwarding.select()) == []


def test_alias_domain_taken_by_another_domain(admin_api, domain):
    admin_api.post("/api/domain/other.org")
    put(admin_api, "/api/domain/other.org", {"aliasDomains": "shared.org"})
    code = failure(admin_api.put("/api/domain/example.com", {"addAliasDomain": "shared.org"}))
    assert code == "ALREADY_EXISTS"
    assert failure(admin_api.post("/api/domain/shared.org")) == "ALREADY_EXISTS"


def test_update_a_missing_domain(admin_api):
    assert failure(admin_api.put("/api/domain/nowhere.org", {"name": "x"})) == "NO_SUCH_DOMAIN"


# -- domain admins -------------------------------------------------------------------------------
def test_add_and_remove_admins(admin_api, domain):
    add_mailbox("boss@example.com")
    Admin.insert(username="ops@corp.org").execute()
    db.release_connections()
    put(admin_api, "/api/domain/admins/example.com", {"addAdmin": "boss@example.com,ops@corp.org"})
    got = rows(DomainAdmin.select(DomainAdmin.username).where(DomainAdmin.domain == "example.com"))
    assert sorted(r["username"] for r in got) == ["boss@example.com", "ops@corp.org"]
    assert rows(Mailbox.select(Mailbox.isadmin))[0]["isadmin"] == 1
    put(admin_api, "/api/domain/admins/example.com", {"removeAdmin": "boss@example.com"})
    assert rows(Mailbox.select(Mailbox.isadmin))[0]["isadmin"] == 0
    put(admin_api, "/api/domain/admins/example.com", {"removeAllAdmins": ""})
    assert rows(DomainAdmin.select().where(DomainAdmin.domain == "example.com")) == []
    assert rows(DomainAdmin.select().where(DomainAdmin.domain == "ALL")) != []


def test_adding_an_unknown_admin(admin_api, domain):
    answer = admin_api.put("/api/domain/admins/example.com", {"addAdmin": "ghost@nowhere.org"})
    assert failure(answer) == "NO_SUCH_ACCOUNT"


# -- domain admins' permissions --------------------------------------------------------------------
@pytest.fixture
def boss(api):
    add_domain("mine.org")
    add_domain("theirs.org")
    add_mailbox("boss@mine.org", password="B0ss-Passw0rd", isadmin=1)
    add_domain_admin("boss@mine.org", "mine.org")
    return login(api, "boss@mine.org", "B0ss-Passw0rd")


def test_domain_admin_updates_its_domain_only(boss):
    assert put(boss, "/api/domain/mine.org", {"name": "Mine"}) == {"_success": True}
    assert failure(boss.put("/api/domain/theirs.org", {"name": "x"})) == "PERMISSION_DENIED"
    assert failure(boss.put("/api/domain/admins/theirs.org", {"addAdmin": "boss@mine.org"})) == (
        "PERMISSION_DENIED"
    )


def test_domain_admin_with_create_max_domains(boss):
    assert failure(boss.post("/api/domain/new1.org")) == "PERMISSION_DENIED"
    Mailbox.update(settings="create_max_domains:2;").execute()
    db.release_connections()
    assert boss.post("/api/domain/new1.org").json == {"_success": True}
    assert failure(boss.post("/api/domain/new2.org")) == "EXCEED_LIMIT_DOMAIN"
    assert boss.get("/api/domain/new1.org").json["_data"]["admins"] == ["boss@mine.org"]
    assert boss.delete("/api/domain/new1.org").json == {"_success": True}
    assert failure(boss.delete("/api/domain/theirs.org")) == "PERMISSION_DENIED"
