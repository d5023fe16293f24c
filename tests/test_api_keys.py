"""API keys through the gateway (CONTRACT §3, §4.7): one test per rule."""

from __future__ import annotations

import datetime
import hashlib
import time

import pytest

from shared import db
from shared.cli import main as mailapi
from shared.models.iredadmin import ApiKey, Log
from shared.models.vmail import Admin, DomainAdmin
from shared.timeutil import utcnow
from tests.conftest import ADMIN, login
from tests.helpers import add_domain, add_domain_admin, failure, rows

OWNER, OWNER_PW = "reseller@partner.net", "R3seller-Passw0rd"
CACHE = 0.6  # a little over the gateway's AUTH_CACHE_SECONDS


@pytest.fixture
def domains():
    for name in ("a.org", "b.org", "c.org"):
        add_domain(name)


@pytest.fixture
def owner(admin_api, domains):
    """A normal standalone admin of a.org and b.org, logged in."""
    answer = admin_api.post(f"/api/admin/{OWNER}", {"password": OWNER_PW}).json
    assert answer == {"_success": True}
    add_domain_admin(OWNER, "a.org")
    add_domain_admin(OWNER, "b.org")
    return admin_api


def make_key(client, name="script", **params) -> str:
    answer = client.post(f"/api/apikey/{name}", params).json
    assert answer["_success"], answer
    return answer["_data"]["key"]


def with_key(make_api, key, header="bearer", **environ):
    client = make_api(**environ)
    if header == "bearer":
        client.authorization = ("Bearer", key)
    else:
        client.extra_environ["HTTP_X_API_KEY"] = key
    return client


def key_row(name="script") -> dict:
    return rows(ApiKey.select().where(ApiKey.name == name))[0]


def test_a_key_is_shown_once_and_stored_as_a_hash(admin_api):
    answer = admin_api.post("/api/apikey/script", {"access": "rw"}).json
    key = answer["_data"]["key"]
    assert key.startswith("mak_") and len(key) >= 4 + 43  # 256 random bits
    assert answer["_data"]["owner"] == ADMIN and answer["_data"]["access"] == "rw"
    row = key_row()
    assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(row)
    listed = admin_api.get("/api/apikeys").json["_data"]
    assert [k["name"] for k in listed] == ["script"]
    assert "key" not in listed[0] and "key_hash" not in listed[0]
    assert key not in admin_api.get("/api/apikeys").text
    assert failure(admin_api.post("/api/apikey/script")) == "ALREADY_EXISTS"


@pytest.mark.parametrize("header", ["bearer", "x-api-key"])
def test_a_key_instead_of_the_cookie(admin_api, make_api, header):
    client = with_key(make_api, make_key(admin_api, access="rw"), header)
    assert client.post("/api/domain/new.org").json == {"_success": True}
    assert client.get("/api/domain/new.org").json["_success"]
    assert failure(with_key(make_api, "mak_wrong", header).get("/api/domains")) == (
        "LOGIN_REQUIRED"
    )


def test_the_owner_demoted_takes_the_key_with_it(owner, make_api):
    Admin.update(settings="").execute()
    global_key = make_key(owner, "g", access="rw")
    client = with_key(make_api, global_key)
    assert client.get("/api/domain/c.org").json["_success"]
    DomainAdmin.delete().where(
        (DomainAdmin.username == ADMIN) & (DomainAdmin.domain == "ALL")
    ).execute()
    add_domain_admin(ADMIN, "a.org")  # now an admin of a.org only
    time.sleep(CACHE)
    assert failure(client.get("/api/domain/c.org")) == "PERMISSION_DENIED"
    assert client.get("/api/domain/a.org").json["_success"]


@pytest.mark.parametrize("change", ["disable", "delete"])
def test_a_disabled_or_deleted_owner_takes_its_keys(owner, make_api, change):
    reseller = login(make_api(), OWNER, OWNER_PW)
    client = with_key(make_api, make_key(reseller))
    assert client.get("/api/domain/a.org").json["_success"]
    if change == "disable":
        Admin.update(active=0).where(Admin.username == OWNER).execute()
    else:
        Admin.delete().where(Admin.username == OWNER).execute()
    db.release_connections()
    time.sleep(CACHE)
    assert failure(client.get("/api/domain/a.org")) == "LOGIN_REQUIRED"


def test_a_key_scoped_to_two_domains(owner, make_api):
    key = make_key(owner, domains="a.org,b.org")  # the global admin's key
    client = with_key(make_api, key)
    assert client.get("/api/domain/a.org").json["_success"]
    assert failure(client.get("/api/domain/c.org")) == "PERMISSION_DENIED"
    # A key with domains is never global, even when its owner is.
    assert failure(client.get("/api/throttle/global/inbound")) == "PERMISSION_DENIED"
    assert [d["domain"] for d in client.get("/api/domains").json["_data"]] == ["a.org", "b.org"]
    # A normal admin's key gets its domains: its owner cannot give it another.
    reseller = login(make_api(), OWNER, OWNER_PW)
    assert failure(reseller.post("/api/apikey/more", {"domains": "c.org"})) == ("PERMISSION_DENIED")
    narrow = with_key(make_api, make_key(reseller, "narrow", domains="b.org"))
    assert failure(narrow.get("/api/domain/a.org")) == "PERMISSION_DENIED"
    assert narrow.get("/api/domain/b.org").json["_success"]
    # The owner losing b.org takes it from the key too.
    DomainAdmin.delete().where(DomainAdmin.username == OWNER).execute()
    db.release_connections()
    time.sleep(CACHE)
    assert failure(narrow.get("/api/domain/b.org")) == "PERMISSION_DENIED"


def test_a_read_only_key_writes_nothing(admin_api, make_api, domains):
    admin_api.post("/api/user/u@a.org", {"password": OWNER_PW})
    client = with_key(make_api, make_key(admin_api))  # ro is the default
    assert client.get("/api/domain/a.org").json["_success"]
    assert client.get("/api/users/a.org").json["_success"]
    verify = client.post("/api/verify_password/user/u@a.org", {"password": OWNER_PW})
    assert verify.json == {"_success": True}
    for method, path in (("post", "/api/domain/new.org"), ("put", "/api/domain/a.org"),
                         ("delete", "/api/user/u@a.org"), ("post", "/api/apikey/other"),
                         ("delete", "/api/apikey/script")):  # fmt: skip
        assert failure(getattr(client, method)(path, {"name": "x"})) == "PERMISSION_DENIED"
    assert rows(Log.select().where(Log.event != "create")) == []


def test_a_key_outside_its_networks(admin_api, make_api):
    key = make_key(admin_api, networks="10.0.0.0/8, 2001:db8::/32")
    inside = with_key(make_api, key, remote_addr="10.1.2.3")
    assert inside.get("/api/domains").json["_success"]
    assert with_key(make_api, key, remote_addr="2001:db8::5").get("/api/domains").json["_success"]
    outside = with_key(make_api, key, remote_addr="127.0.0.1")
    assert failure(outside.get("/api/domains")) == "NOT_AUTHORIZED"
    assert key_row()["allowed_networks"] == "10.0.0.0/8,2001:db8::/32"


def test_a_revoked_key(admin_api, make_api):
    client = with_key(make_api, make_key(admin_api))
    assert client.get("/api/domains").json["_success"]
    assert admin_api.delete("/api/apikey/script").json == {"_success": True}
    time.sleep(CACHE)
    assert failure(client.get("/api/domains")) == "LOGIN_REQUIRED"
    assert failure(admin_api.delete("/api/apikey/script")) == "NO_SUCH_API_KEY"
    assert admin_api.get("/api/apikeys").json["_data"][0]["revoked"] == 1
    # The name may be used again.
    assert with_key(make_api, make_key(admin_api)).get("/api/domains").json["_success"]


def test_an_expired_key(admin_api, make_api):
    client = with_key(make_api, make_key(admin_api, expires="3600"))
    assert client.get("/api/domains").json["_success"]
    expires = key_row()["expires"]
    assert abs((expires - utcnow()).total_seconds() - 3600) < 10
    ApiKey.update(expires=utcnow() - datetime.timedelta(seconds=1)).execute()
    db.release_connections()
    time.sleep(CACHE)
    assert failure(client.get("/api/domains")) == "LOGIN_REQUIRED"
    day = make_key(admin_api, "dated", expires=str(datetime.date.today()))
    assert with_key(make_api, day).get("/api/domains").json["_success"]  # through the day


@pytest.mark.parametrize(
    "name, params",
    [
        ("bad name", {}),
        ("x" * 65, {}),
        ("ok", {"access": "admin"}),
        ("ok", {"networks": "10.0.0.300"}),
        ("ok", {"expires": "2020-01-01"}),
        ("ok", {"expires": "tomorrow"}),
        ("ok", {"expires": "0"}),
    ],
)
def test_invalid_key_parameters(admin_api, name, params):
    assert failure(admin_api.post(f"/api/apikey/{name}", params)) == "INVALID_PARAM"
    assert rows(ApiKey.select()) == []


def test_keys_of_other_admins(owner, make_api):
    reseller = login(make_api(), OWNER, OWNER_PW)
    make_key(reseller, "mine")
    make_key(owner, "theirs", owner=OWNER)  # a global admin makes one for another admin
    assert failure(reseller.post("/api/apikey/x", {"owner": ADMIN})) == "PERMISSION_DENIED"
    assert [k["name"] for k in reseller.get("/api/apikeys").json["_data"]] == ["mine", "theirs"]
    assert failure(reseller.get(f"/api/apikeys?owner={ADMIN}")) == "PERMISSION_DENIED"
    make_key(owner, "own")
    assert len(owner.get("/api/apikeys").json["_data"]) == 3
    assert [k["name"] for k in owner.get(f"/api/apikeys?owner={OWNER}").json["_data"]] == [
        "mine", "theirs"]  # fmt: skip
    assert failure(reseller.delete("/api/apikey/own")) == "NO_SUCH_API_KEY"
    assert owner.delete(f"/api/apikey/mine?owner={OWNER}").json == {"_success": True}
    assert failure(owner.post("/api/apikey/x", {"owner": "nobody@partner.net"})) == (
        "NO_SUCH_ADMIN"
    )


def test_a_key_cannot_make_keys(admin_api, make_api):
    client = with_key(make_api, make_key(admin_api, access="rw"))
    assert failure(client.post("/api/apikey/child", {"access": "rw"})) == "PERMISSION_DENIED"


def test_the_audit_log_names_the_key_and_holds_no_secret(admin_api, make_api):
    key = make_key(admin_api, access="rw")
    client = with_key(make_api, key)
    assert client.post("/api/domain/new.org").json["_success"]
    messages = [row["msg"] for row in rows(Log.select().order_by(Log.id))]
    assert messages[-1] == "[API] Create domain: new.org (key: script)"
    assert messages[0] == f"[API] Create API key: script of {ADMIN}"
    assert all(key not in message and key[4:20] not in message for message in messages)


def test_wrong_keys_count_toward_the_client_address_limit(admin_api, make_api):
    key = make_key(admin_api)
    for _ in range(3):
        client = with_key(make_api, "mak_guess", login_max_failures=3, remote_addr="10.9.9.9")
        assert failure(client.get("/api/domains")) == "LOGIN_REQUIRED"
    blocked = with_key(make_api, key, login_max_failures=3, remote_addr="10.9.9.9")
    assert failure(blocked.get("/api/domains")) == "TOO_MANY_REQUESTS"
    elsewhere = with_key(make_api, key, login_max_failures=3, remote_addr="10.9.9.8")
    assert elsewhere.get("/api/domains").json["_success"]
    login_answer = make_api(login_max_failures=3, remote_addr="10.9.9.9").post(
        "/api/login", {"username": ADMIN, "password": "whatever"}
    )
    assert failure(login_answer) == "TOO_MANY_REQUESTS"


def test_last_used_is_written_at_most_once_a_minute(admin_api, make_api):
    client = with_key(make_api, make_key(admin_api))
    assert key_row()["last_used"] is None
    assert client.get("/api/domains").json["_success"]
    first = key_row()["last_used"]
    assert first is not None
    time.sleep(CACHE)
    assert client.get("/api/domains").json["_success"]  # read again, not written
    assert key_row()["last_used"] == first
    ApiKey.update(last_used=first - datetime.timedelta(seconds=61)).execute()
    db.release_connections()
    time.sleep(CACHE)
    assert client.get("/api/domains").json["_success"]
    assert key_row()["last_used"] > first - datetime.timedelta(seconds=61)


def test_the_command_line(admin_api, make_api, config, monkeypatch, capsys):
    monkeypatch.setattr("shared.config.Config.from_env", classmethod(lambda cls: config))
    assert mailapi(["api-key", "create", "cron", "--owner", ADMIN, "--access", "rw",
                    "--domains", "x.org", "--expires", "86400"]) == 0  # fmt: skip
    key = capsys.readouterr().out.splitlines()[1]
    client = with_key(make_api, key)
    assert client.post("/api/domain/x.org").json["_success"] is False  # scoped: not global
    assert client.get("/api/domains").json["_success"]
    assert mailapi(["api-key", "list"]) == 0
    listed = capsys.readouterr().out
    assert "cron" in listed and key not in listed
    assert mailapi(["api-key", "revoke", "cron", "--owner", ADMIN]) == 0
    assert mailapi(["api-key", "revoke", "cron", "--owner", ADMIN]) == 1
    assert "NO_SUCH_API_KEY" in capsys.readouterr().err
    assert mailapi(["api-key", "create", "x", "--owner", "nobody@partner.net"]) == 1
