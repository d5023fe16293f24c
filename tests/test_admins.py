"""Standalone admins through the gateway (CONTRACT §4.6; spec part B): the PHP client's five
methods as it sends them, every parameter as stored, the limits, the lockout rules, and one
login per role."""

from __future__ import annotations

import time

import pytest

from shared import db
from shared.models.iredadmin import ApiKey, Session
from shared.models.vmail import Admin, Domain, DomainAdmin
from tests.conftest import ADMIN, login
from tests.helpers import add_domain, add_domain_admin, add_mailbox, failure, rows

RESELLER, RESELLER_PW = "reseller@partner.net", "R3seller-Passw0rd"


def admin_row(username=RESELLER) -> dict:
    found = rows(Admin.select().where(Admin.username == username))
    return found[0] if found else {}


def admin_domains(username=RESELLER) -> list[str]:
    query = DomainAdmin.select(DomainAdmin.domain).where(DomainAdmin.username == username)
    return sorted(row["domain"] for row in rows(query))


def create(client, username=RESELLER, **params):
    fields = {key: value for key, value in {"password": RESELLER_PW, **params}.items() if value}
    return client.post(f"/api/admin/{username}", fields).json


# -- the PHP client (Bezlaj/PHPiRedAdminProAPI), its requests as it sends them -----------------
# Every method posts `http_build_query($data)` (a form body) to "$API_HOST/admin/$MAIL" with the
# cookie file of its login.
def test_php_create_admin(admin_api):
    """create_admin($API_HOST, $MAIL, $name, $password, $accountStatus, $language,
    $isGlobalAdmin): POST with exactly these five fields."""
    fields = {"name": "Reseller", "password": RESELLER_PW, "accountStatus": "active",
              "language": "en_US", "isGlobalAdmin": "no"}  # fmt: skip
    assert admin_api.post(f"/api/admin/{RESELLER}", fields).json == {"_success": True}
    row = admin_row()
    assert (row["name"], row["language"], row["active"]) == ("Reseller", "en_US", 1)
    assert row["password"].startswith("{SSHA512}")
    assert admin_domains() == []


def test_php_create_global_admin(admin_api):
    fields = {"name": "Ops", "password": RESELLER_PW, "accountStatus": "active",
              "language": "de_DE", "isGlobalAdmin": "yes"}  # fmt: skip
    assert admin_api.post(f"/api/admin/{RESELLER}", fields).json == {"_success": True}
    assert admin_domains() == ["ALL"]


def test_php_get_admin(admin_api):
    """get_admin: GET "$API_HOST/admin/$MAIL"; the billing module reads isglobaladmin and
    managed_domains."""
    create(admin_api, name="Reseller", maxDomains="5")
    add_domain("b.org")
    add_domain("a.org")
    add_domain_admin(RESELLER, "b.org")
    add_domain_admin(RESELLER, "a.org")
    data = admin_api.get(f"/api/admin/{RESELLER}").json["_data"]
    assert data["username"] == RESELLER and data["name"] == "Reseller"
    assert data["isglobaladmin"] == 0
    assert data["managed_domains"] == ["a.org", "b.org"]
    assert data["settings"] == {"create_new_domains": "yes", "create_max_domains": 5}
    assert "password" not in data
    assert data["active"] == 1 and len(data["created"]) == 19
    global_data = admin_api.get(f"/api/admin/{ADMIN}").json["_data"]
    assert (global_data["isglobaladmin"], global_data["managed_domains"]) == (1, [])


def test_php_update_admin_parameter(admin_api):
    """update_admin_parameter($API_HOST, $MAIL, $parameter, $parameter_value): PUT one field."""
    create(admin_api, name="Old")
    changes = [("name", "New"), ("language", "fr_FR"), ("accountStatus", "disabled"),
               ("password", "N3w-Passw0rd!")]  # fmt: skip
    for parameter, value in changes:
        answer = admin_api.put(f"/api/admin/{RESELLER}", {parameter: value}).json
        assert answer == {"_success": True}, (parameter, answer)
    row = admin_row()
    assert (row["name"], row["language"], row["active"]) == ("New", "fr_FR", 0)
    assert admin_api.put(f"/api/admin/{RESELLER}", {"accountStatus": "enabled"}).json["_success"]
    assert admin_row()["active"] == 1
    answer = admin_api.post(f"/api/verify_password/admin/{RESELLER}", {"password": "N3w-Passw0rd!"})
    assert answer.json == {"_success": True}


def test_php_delete_admin(admin_api):
    """delete_admin: DELETE "$API_HOST/admin/$MAIL"; its domains stay, only the link goes."""
    create(admin_api)
    add_domain("a.org")
    add_domain_admin(RESELLER, "a.org")
    assert admin_api.delete(f"/api/admin/{RESELLER}").json == {"_success": True}
    assert admin_row() == {} and admin_domains() == []
    assert rows(Domain.select().where(Domain.domain == "a.org"))
    assert failure(admin_api.delete(f"/api/admin/{RESELLER}")) == "NO_SUCH_ADMIN"


def test_php_verify_admin_password(admin_api):
    """verify_admin_password: POST "$API_HOST/verify_password/admin/$MAIL" with `password`."""
    create(admin_api)
    path = f"/api/verify_password/admin/{RESELLER}"
    assert admin_api.post(path, {"password": RESELLER_PW}).json == {"_success": True}
    assert failure(admin_api.post(path, {"password": "wrong"})) == "INVALID_CREDENTIALS"
    unknown = "/api/verify_password/admin/nobody@partner.net"
    assert failure(admin_api.post(unknown, {"password": RESELLER_PW})) == "INVALID_CREDENTIALS"
    admin_api.put(f"/api/admin/{RESELLER}", {"accountStatus": "disabled"})
    assert failure(admin_api.post(path, {"password": RESELLER_PW})) == "INVALID_CREDENTIALS"


# -- parameters and storage ------------------------------------------------------------------
def test_limits_stored_as_the_spec_says(admin_api):
    params = {"maxDomains": "5", "maxQuota": "2", "quotaUnit": "tb", "maxUsers": "100",
              "maxAliases": "200", "maxLists": "300", "disableViewingMailLog": "yes",
              "disableManagingQuarantinedMails": "no"}  # fmt: skip
    assert create(admin_api, **params) == {"_success": True}
    assert admin_row()["settings"] == (
        "create_new_domains:yes;create_max_domains:5;create_max_quota:2097152;"
        "create_max_users:100;create_max_aliases:200;create_max_lists:300;"
        "disable_viewing_mail_log:yes;"
    )
    data = admin_api.get(f"/api/admin/{RESELLER}").json["_data"]
    assert (data["max_quota"], data["quota_unit"]) == (2, "TB")
    changes = {"maxDomains": "0", "maxQuota": "0", "quotaUnit": "GB", "maxUsers": "-1",
               "disableViewingMailLog": "no"}  # fmt: skip
    put = admin_api.put(f"/api/admin/{RESELLER}", changes)
    assert put.json == {"_success": True}
    assert admin_row()["settings"] == (
        "create_new_domains:yes;create_max_users:-1;create_max_aliases:200;create_max_lists:300;"
    )
    assert admin_api.put(f"/api/admin/{RESELLER}", {"maxDomains": "-1"}).json["_success"]
    assert "create_new_domains" not in admin_row()["settings"]


def test_promotion_drops_the_limits_and_demotion_keeps_the_rest(admin_api):
    create(admin_api, maxDomains="3", maxUsers="10", name="R")
    assert admin_api.put(f"/api/admin/{RESELLER}", {"isGlobalAdmin": "yes"}).json["_success"]
    assert admin_row()["settings"] == "" and admin_domains() == ["ALL"]
    # Limits given with isGlobalAdmin=yes are ignored (the vendor's doc).
    assert create(admin_api, "ops@partner.net", isGlobalAdmin="yes", maxDomains="2") == {
        "_success": True
    }
    assert admin_row("ops@partner.net")["settings"] == ""
    assert admin_api.put(f"/api/admin/{RESELLER}", {"isGlobalAdmin": "no"}).json["_success"]
    assert admin_domains() == [] and admin_row()["name"] == "R"


def test_password_hash_and_hidden_profiles(make_api, global_admin):
    client = login(make_api(api_hidden_admin_profiles=()))
    hashed = "{SSHA512}" + "x" * 20
    assert create(client, password=None, password_hash=hashed) == {"_success": True}
    assert client.get(f"/api/admin/{RESELLER}").json["_data"]["password"] == hashed


@pytest.mark.parametrize(
    "path, params, code",
    [
        ("/api/admin/not-an-address", {}, "INVALID_MAIL"),
        (f"/api/admin/{RESELLER}", {"password": None}, "PW_EMPTY"),
        (f"/api/admin/{RESELLER}", {"password": "Sh0rt!"}, "PW_SHORTER_THAN_MIN_LENGTH"),
        (f"/api/admin/{RESELLER}", {"password_hash": "{SSHA}x"}, "INVALID_PARAM"),  # both
        (
            f"/api/admin/{RESELLER}",
            {"password": None, "password_hash": "{MD5}x"},
            "INVALID_PASSWORD_SCHEME",
        ),
        (f"/api/admin/{RESELLER}", {"language": "english"}, "INVALID_LANGUAGE"),
        (f"/api/admin/{RESELLER}", {"maxQuota": "10"}, "MISSING_PARAM"),
        (f"/api/admin/{RESELLER}", {"quotaUnit": "GB"}, "MISSING_PARAM"),
        (f"/api/admin/{RESELLER}", {"maxQuota": "1", "quotaUnit": "PB"}, "INVALID_PARAM"),
        (f"/api/admin/{RESELLER}", {"maxDomains": "-2"}, "INVALID_NUMBER"),
        (f"/api/admin/{RESELLER}", {"maxUsers": "ten"}, "INVALID_NUMBER"),
        (f"/api/admin/{RESELLER}", {"isGlobalAdmin": "maybe"}, "INVALID_PARAM"),
        (f"/api/admin/{RESELLER}", {"accountStatus": "gone"}, "INVALID_PARAM"),
    ],
)
def test_invalid_creates(admin_api, path, params, code):
    fields = {key: value for key, value in {"password": RESELLER_PW, **params}.items() if value}
    assert failure(admin_api.post(path, fields)) == code
    assert admin_row() == {}


def test_existing_local_and_unknown(admin_api):
    assert create(admin_api) == {"_success": True}
    assert failure(admin_api.post(f"/api/admin/{RESELLER}", {"password": RESELLER_PW})) == (
        "ALREADY_EXISTS"
    )
    add_domain("local.org")
    admin_api.put("/api/domain/local.org", {"addAliasDomain": "alias.org"})
    for address in ("x@local.org", "x@alias.org"):
        assert failure(admin_api.post(f"/api/admin/{address}", {"password": RESELLER_PW})) == (
            "CAN_NOT_BE_LOCAL_DOMAIN"
        )
    for method in ("get", "put", "delete"):
        answer = getattr(admin_api, method)("/api/admin/nobody@partner.net")
        assert failure(answer) == "NO_SUCH_ADMIN", method
    # A mailbox admin is not a standalone admin.
    add_mailbox("postmaster@local.org", isadmin=1)
    assert failure(admin_api.get("/api/admin/postmaster@local.org")) == "NO_SUCH_ADMIN"


def test_the_last_global_admin_and_oneself(admin_api):
    for params in ({"isGlobalAdmin": "no"}, {"accountStatus": "disabled"}):
        assert failure(admin_api.put(f"/api/admin/{ADMIN}", params)) == "NOT_ALLOWED"
    assert failure(admin_api.delete(f"/api/admin/{ADMIN}")) == "NOT_ALLOWED"
    create(admin_api, isGlobalAdmin="yes")
    # Another global admin exists now, but no admin demotes, disables or deletes itself.
    assert failure(admin_api.delete(f"/api/admin/{ADMIN}")) == "NOT_ALLOWED"
    assert failure(admin_api.put(f"/api/admin/{ADMIN}", {"isGlobalAdmin": "no"})) == "NOT_ALLOWED"
    assert admin_api.put(f"/api/admin/{RESELLER}", {"isGlobalAdmin": "no"}).json["_success"]
    create(admin_api, "ops@partner.net", isGlobalAdmin="yes")
    ops = login(admin_api.__class__(admin_api.app), "ops@partner.net", RESELLER_PW)
    assert ops.delete(f"/api/admin/{ADMIN}").json == {"_success": True}
    assert failure(ops.delete("/api/admin/ops@partner.net")) == "NOT_ALLOWED"


def test_delete_ends_sessions_and_revokes_keys(admin_api, make_api):
    create(admin_api, isGlobalAdmin="yes")
    reseller = login(make_api(), RESELLER, RESELLER_PW)
    key = reseller.post("/api/apikey/script").json["_data"]["key"]
    other = make_api()
    other.set_cookie("mailapi_session", "x")
    login(other, RESELLER, RESELLER_PW)
    assert admin_api.delete(f"/api/admin/{RESELLER}").json == {"_success": True}
    assert rows(ApiKey.select().where(ApiKey.owner == RESELLER))[0]["revoked"] == 1
    assert [r for r in rows(Session.select()) if RESELLER in (r["data"] or "")] == []
    # The same address made again gets neither the old sessions nor the old key (once the
    # gateway's cache of them has run out, AUTH_CACHE_SECONDS).
    create(admin_api, isGlobalAdmin="yes")
    time.sleep(0.6)
    assert failure(reseller.get("/api/domains")) == "LOGIN_REQUIRED"
    bearer = {"Authorization": f"Bearer {key}"}
    assert failure(make_api().get("/api/domains", headers=bearer)) == "LOGIN_REQUIRED"


def test_admin_endpoints_are_for_global_admins(admin_api, make_api):
    create(admin_api)
    add_domain("a.org")
    add_domain_admin(RESELLER, "a.org")
    reseller = login(make_api(), RESELLER, RESELLER_PW)
    for method, path in (("get", f"/api/admin/{RESELLER}"), ("post", "/api/admin/x@partner.net"),
                         ("put", f"/api/admin/{RESELLER}"), ("delete", f"/api/admin/{ADMIN}"),
                         ("get", "/api/admins"),
                         ("post", f"/api/verify_password/admin/{ADMIN}")):  # fmt: skip
        answer = getattr(reseller, method)(path, {"password": "x"} if method == "post" else "")
        assert failure(answer) == "PERMISSION_DENIED", path


# -- the list (beyond) -----------------------------------------------------------------------
def test_admin_list(admin_api):
    create(admin_api, "b@partner.net", name="Bee")
    create(admin_api, "c@partner.net", accountStatus="disabled")
    add_domain("local.org")
    add_mailbox("postmaster@local.org", isadmin=1, name="Post")
    add_domain_admin("postmaster@local.org", "local.org")
    add_mailbox("user@local.org")
    answer = admin_api.get("/api/admins").json
    assert [a["username"] for a in answer["_data"]] == [ADMIN, "b@partner.net", "c@partner.net"]
    assert all("password" not in a for a in answer["_data"])
    assert admin_api.get("/api/admins?email_only=yes").json["_data"] == [
        ADMIN, "b@partner.net", "c@partner.net"]  # fmt: skip
    assert admin_api.get("/api/admins?email_only=yes&disabled_only=yes").json["_data"] == [
        "c@partner.net"
    ]
    both = admin_api.get("/api/admins?include_mailbox_admins=yes").json["_data"]
    assert [a["username"] for a in both] == [
        ADMIN, "b@partner.net", "c@partner.net", "postmaster@local.org"]  # fmt: skip
    assert both[-1]["mailbox"] is True and both[-1]["managed_domains"] == ["local.org"]
    assert "mailbox" not in both[0]


def test_admin_list_pages_and_search(admin_api):
    for n in range(7):
        create(admin_api, f"a{n}@partner.net", name=f"Name {n}")
    add_domain("local.org")
    add_mailbox("a3x@local.org", isadmin=1)
    seen, cursor = [], None
    while True:
        query = "limit=3&email_only=yes&include_mailbox_admins=yes&total=yes"
        answer = admin_api.get(f"/api/admins?{query}" + (f"&cursor={cursor}" if cursor else ""))
        page = answer.json
        assert page["_total"] == 9
        seen += page["_data"]
        cursor = page.get("_next")
        if not cursor:
            break
    expected = sorted([f"a{n}@partner.net" for n in range(7)] + ["a3x@local.org", ADMIN])
    assert seen == expected
    found = admin_api.get("/api/admins?search=A3&email_only=yes&include_mailbox_admins=yes")
    assert found.json["_data"] == ["a3@partner.net", "a3x@local.org"]
    by_name = admin_api.get("/api/admins?search=name%205&limit=10").json["_data"]
    assert [a["username"] for a in by_name] == ["a5@partner.net"]


# -- what a standalone admin may do, once logged in ---------------------------------------------
def test_a_global_standalone_admin_does_everything(admin_api, make_api):
    create(admin_api, isGlobalAdmin="yes")
    reseller = login(make_api(), RESELLER, RESELLER_PW)
    assert reseller.post("/api/domain/new.org").json == {"_success": True}
    assert reseller.post("/api/admin/x@partner.net", {"password": RESELLER_PW}).json["_success"]
    assert reseller.get("/api/throttle/global/inbound").json["_success"]
    assert admin_domains() == ["ALL"]  # a global creator gets no per-domain row


def test_a_domain_admin_without_creation_rights(admin_api, make_api):
    create(admin_api)
    add_domain("a.org")
    add_domain("b.org")
    add_domain_admin(RESELLER, "a.org")
    reseller = login(make_api(), RESELLER, RESELLER_PW)
    assert reseller.get("/api/domain/a.org").json["_success"]
    assert reseller.post("/api/user/u@a.org", {"password": RESELLER_PW}).json["_success"]
    assert failure(reseller.get("/api/domain/b.org")) == "PERMISSION_DENIED"
    assert failure(reseller.post("/api/domain/new.org")) == "PERMISSION_DENIED"
    assert failure(reseller.delete("/api/domain/a.org")) == "PERMISSION_DENIED"
    assert [d["domain"] for d in reseller.get("/api/domains").json["_data"]] == ["a.org"]


def test_a_domain_admin_with_creation_rights(admin_api, make_api):
    create(admin_api, maxDomains="2")
    reseller = login(make_api(), RESELLER, RESELLER_PW)
    assert reseller.post("/api/domain/one.org").json == {"_success": True}
    assert reseller.post("/api/domain/two.org").json == {"_success": True}
    assert failure(reseller.post("/api/domain/three.org")) == "EXCEED_LIMIT_DOMAIN"
    assert admin_domains() == ["one.org", "two.org"]
    assert reseller.post("/api/user/u@one.org", {"password": RESELLER_PW}).json["_success"]
    assert reseller.delete("/api/domain/two.org").json == {"_success": True}
    assert reseller.post("/api/domain/three.org").json == {"_success": True}


def test_a_disabled_admin_cannot_log_in_and_loses_its_session(admin_api, make_api):
    create(admin_api, isGlobalAdmin="yes")
    reseller = login(make_api(), RESELLER, RESELLER_PW)
    assert admin_api.put(f"/api/admin/{RESELLER}", {"accountStatus": "disabled"}).json["_success"]
    db.release_connections()
    time.sleep(0.6)  # the gateway's cache (AUTH_CACHE_SECONDS)
    assert failure(reseller.get("/api/domains")) == "LOGIN_REQUIRED"
    fresh = make_api()
    answer = fresh.post("/api/login", {"username": RESELLER, "password": RESELLER_PW})
    assert failure(answer) == "INVALID_CREDENTIALS"


# -- the limits when a normal admin creates or changes domains ----------------------------------
@pytest.fixture
def reseller(admin_api, make_api):
    def make(**limits):
        assert create(admin_api, **limits) == {"_success": True}
        return login(make_api(), RESELLER, RESELLER_PW)

    return make


def test_quota_limit(reseller):
    client = reseller(maxDomains="0", maxQuota="10", quotaUnit="GB")
    assert failure(client.post("/api/domain/a.org")) == "EXCEED_LIMIT_QUOTA"  # unlimited
    assert client.post("/api/domain/a.org", {"quota": "8192"}).json["_success"]
    assert failure(client.post("/api/domain/b.org", {"quota": "4096"})) == "EXCEED_LIMIT_QUOTA"
    assert client.post("/api/domain/b.org", {"quota": "2048"}).json["_success"]
    # A change of one of its domains counts the same way.
    assert failure(client.put("/api/domain/b.org", {"quota": "3000"})) == "EXCEED_LIMIT_QUOTA"
    assert client.put("/api/domain/a.org", {"quota": "1024"}).json["_success"]
    assert client.put("/api/domain/b.org", {"quota": "3000"}).json["_success"]


@pytest.mark.parametrize(
    "limit, column, code",
    [
        ("maxUsers", "numberOfUsers", "EXCEED_LIMIT_USERS"),
        ("maxAliases", "numberOfAliases", "EXCEED_LIMIT_ALIASES"),
        ("maxLists", "numberOfLists", "EXCEED_LIMIT_LISTS"),
    ],
)
def test_count_limits(reseller, limit, column, code):
    client = reseller(maxDomains="0", **{limit: "100"})
    assert failure(client.post("/api/domain/a.org")) == code  # 0 is unlimited
    assert client.post("/api/domain/a.org", {column: "60"}).json["_success"]
    assert failure(client.post("/api/domain/b.org", {column: "41"})) == code
    assert client.post("/api/domain/b.org", {column: "40"}).json["_success"]
    assert client.post("/api/domain/c.org", {column: "-1"}).json["_success"]  # none allowed
    assert failure(client.put("/api/domain/c.org", {column: "1"})) == code


def test_a_limit_of_minus_one_allows_none(reseller):
    client = reseller(maxDomains="0", maxUsers="-1")
    assert failure(client.post("/api/domain/a.org", {"numberOfUsers": "5"})) == (
        "EXCEED_LIMIT_USERS"
    )
    assert client.post("/api/domain/a.org", {"numberOfUsers": "-1"}).json["_success"]


def test_settings_written_by_iredadmin_are_honoured(admin_api, make_api):
    """iRedAdmin writes both keys; a hand-written create_max_domains alone still counts."""
    create(admin_api)
    Admin.update(settings="create_max_domains:1;").where(Admin.username == RESELLER).execute()
    db.release_connections()
    client = login(make_api(), RESELLER, RESELLER_PW)
    assert client.post("/api/domain/a.org").json["_success"]
    assert failure(client.post("/api/domain/b.org")) == "EXCEED_LIMIT_DOMAIN"
