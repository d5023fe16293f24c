"""Mail aliases and SQL mailing lists (CONTRACT.md §4.4) through the gateway, with their rows."""

from __future__ import annotations

import pytest

from shared import db
from shared.models.vmail import Alias, Forwarding, Moderator
from tests.helpers import add_user_rows, failure, rows


@pytest.fixture
def domain(admin_api):
    assert admin_api.post("/api/domain/example.com").json["_success"]
    add_user_rows("u@example.com")
    add_user_rows("v@example.com")
    return "example.com"


def members(address="team@example.com") -> list[tuple]:
    query = Forwarding.select().where(Forwarding.address == address)
    return sorted(
        (r["forwarding"], r["dest_domain"], r["is_list"], r["active"], r["domain"])
        for r in rows(query)
    )


def put(client, path, params):
    answer = client.put(path, params).json
    assert answer == {"_success": True}, answer


def test_create_and_read(admin_api, domain):
    answer = admin_api.post("/api/alias/Team@Example.com", {
        "name": "Team", "accessPolicy": "MembersOnly",
        "members": "u@example.com, x@elsewhere.org", "moderators": "boss@elsewhere.org",
    })  # fmt: skip
    assert answer.json == {"_success": True}
    (row,) = rows(Alias.select())
    assert (row["address"], row["name"], row["accesspolicy"], row["domain"], row["active"]) == (
        "team@example.com", "Team", "membersonly", "example.com", 1,
    )  # fmt: skip
    assert row["created"].year > 2000
    assert members() == [
        ("u@example.com", "example.com", 1, 1, "example.com"),
        ("x@elsewhere.org", "elsewhere.org", 1, 1, "example.com"),
    ]
    data = admin_api.get("/api/alias/team@example.com").json["_data"]
    assert data["members"] == ["u@example.com", "x@elsewhere.org"]
    assert data["moderators"] == ["boss@elsewhere.org"]
    assert data["accesspolicy"] == "membersonly"


def test_default_policy_is_public(admin_api, domain):
    admin_api.post("/api/alias/team@example.com")
    assert rows(Alias.select(Alias.accesspolicy)) == [{"accesspolicy": "public"}]


def test_update_members_moderators_status(admin_api, domain):
    admin_api.post("/api/alias/team@example.com", {"members": "u@example.com"})
    put(admin_api, "/api/alias/team@example.com", {"addMember": "v@example.com,y@x.org",
                                                   "removeMember": "u@example.com",
                                                   "name": "Renamed",
                                                   "accessPolicy": "domain",
                                                   "moderators": "m1@x.org,m2@x.org"})  # fmt: skip
    assert [m[0] for m in members()] == ["v@example.com", "y@x.org"]
    (row,) = rows(Alias.select())
    assert (row["name"], row["accesspolicy"]) == ("Renamed", "domain")
    put(admin_api, "/api/alias/team@example.com", {"removeModerator": "m1@x.org"})
    assert [r["moderator"] for r in rows(Moderator.select())] == ["m2@x.org"]
    put(admin_api, "/api/alias/team@example.com", {"accountStatus": "disabled"})
    assert {m[3] for m in members()} == {0}
    assert rows(Alias.select(Alias.active)) == [{"active": 0}]
    put(admin_api, "/api/alias/team@example.com", {"addMember": "u@example.com"})
    assert {m[3] for m in members()} == {0}
    put(admin_api, "/api/alias/team@example.com", {"accountStatus": "active", "members": ""})
    assert members() == []


def test_list(admin_api, domain):
    for name in ("b", "a", "c"):
        admin_api.post(f"/api/alias/{name}@example.com")
    put(admin_api, "/api/alias/c@example.com", {"accountStatus": "disabled"})
    data = admin_api.get("/api/aliases/example.com").json["_data"]
    assert [a["address"] for a in data] == ["a@example.com", "b@example.com", "c@example.com"]
    assert admin_api.get("/api/aliases/example.com?email_only=yes&disabled_only=yes").json == {
        "_success": True, "_data": ["c@example.com"],
    }  # fmt: skip
    page = admin_api.get("/api/aliases/example.com?email_only=yes&limit=2&total=yes").json
    assert page["_data"] == ["a@example.com", "b@example.com"] and page["_total"] == 3
    assert failure(admin_api.get("/api/aliases/nowhere.org")) == "NO_SUCH_DOMAIN"


def test_delete_removes_everything_that_routes_to_it(admin_api, domain):
    admin_api.post("/api/alias/team@example.com", {"members": "u@example.com",
                                                   "moderators": "m@x.org"})  # fmt: skip
    admin_api.post("/api/alias/all@example.com", {"members": "team@example.com,v@example.com"})
    put(admin_api, "/api/user/u@example.com", {"forwarding": "team@example.com"})
    assert admin_api.delete("/api/alias/team@example.com").json == {"_success": True}
    assert rows(Alias.select(Alias.address)) == [{"address": "all@example.com"}]
    assert members() == [] and rows(Moderator.select()) == []
    assert [m[0] for m in members("all@example.com")] == ["v@example.com"]
    assert members("u@example.com") == [("u@example.com", "example.com", 0, 1, "example.com")]
    assert failure(admin_api.delete("/api/alias/team@example.com")) == "NO_SUCH_ALIAS"


def test_rename(admin_api, domain):
    admin_api.post("/api/alias/team@example.com", {"members": "u@example.com",
                                                   "moderators": "m@x.org"})  # fmt: skip
    admin_api.post("/api/alias/all@example.com", {"members": "team@example.com"})
    answer = admin_api.post("/api/alias/team@example.com/change_email/crew@example.com")
    assert answer.json == {"_success": True}
    assert rows(Alias.select(Alias.address).order_by(Alias.address)) == [
        {"address": "all@example.com"}, {"address": "crew@example.com"},
    ]  # fmt: skip
    assert [m[0] for m in members("crew@example.com")] == ["u@example.com"]
    assert [m[0] for m in members("all@example.com")] == ["crew@example.com"]
    assert [r["address"] for r in rows(Moderator.select())] == ["crew@example.com"]
    assert failure(admin_api.post("/api/alias/crew@example.com/change_email/x@other.org")) == (
        "DOMAIN_NAME_MISMATCH"
    )
    assert failure(admin_api.post("/api/alias/crew@example.com/change_email/u@example.com")) == (
        "ALREADY_EXISTS"
    )


@pytest.mark.parametrize(
    ("address", "params", "code"),
    [
        ("bad address@example.com", {}, "INVALID_MAIL"),
        ("a+b@example.com", {}, "INVALID_MAIL"),
        ("team@example.com", {"members": "not-an-address"}, "INVALID_MAIL"),
        ("team@example.com", {"members": "ghost@example.com"}, "NO_SUCH_ACCOUNT"),
        ("team@example.com", {"members": "team@example.com"}, "INVALID_PARAM"),
        ("u@example.com", {}, "ALREADY_EXISTS"),
        ("team@example.com", {"accessPolicy": "everyone"}, "INVALID_ACCESS_POLICY"),
        ("team@nowhere.org", {}, "NO_SUCH_DOMAIN"),
        ("team@example.com", {"moderators": "x@@y.org"}, "INVALID_MAIL"),
    ],
)
def test_invalid_creates(admin_api, domain, address, params, code):
    assert failure(admin_api.post(f"/api/alias/{address}", params)) == code
    assert rows(Alias.select()) == []


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"members": "a@x.org", "addMember": "b@x.org"}, "INVALID_PARAM"),
        ({"moderators": "a@x.org", "removeModerator": "b@x.org"}, "INVALID_PARAM"),
        ({"addMember": "ghost@example.com"}, "NO_SUCH_ACCOUNT"),
        ({"accessPolicy": "nobody"}, "INVALID_ACCESS_POLICY"),
        ({"accountStatus": "maybe"}, "INVALID_PARAM"),
    ],
)
def test_invalid_updates_change_nothing(admin_api, domain, params, code):
    admin_api.post("/api/alias/team@example.com", {"members": "u@example.com"})
    before = (rows(Alias.select()), members())
    assert failure(admin_api.put("/api/alias/team@example.com", params)) == code
    assert (rows(Alias.select()), members()) == before
    assert failure(admin_api.put("/api/alias/ghost@example.com", {"name": "x"})) == (
        "NO_SUCH_ALIAS"
    )


def test_alias_limit(admin_api, domain):
    admin_api.put("/api/domain/example.com", {"numberOfAliases": "1"})
    assert admin_api.post("/api/alias/a@example.com").json == {"_success": True}
    assert failure(admin_api.post("/api/alias/b@example.com")) == "EXCEEDED_DOMAIN_ALIAS_LIMIT"
    admin_api.put("/api/domain/example.com", {"numberOfAliases": "-1"})
    assert failure(admin_api.post("/api/alias/b@example.com")) == "NOT_ALLOWED"


def test_thousands_of_members(admin_api, domain):
    local = [f"m{n}@example.com" for n in range(300)]
    for address in local:
        add_user_rows(address)
    external = [f"e{n}@elsewhere.org" for n in range(2700)]
    answer = admin_api.post("/api/alias/big@example.com", {"members": ",".join(local + external)})
    assert answer.json == {"_success": True}
    assert len(members("big@example.com")) == 3000
    put(admin_api, "/api/alias/big@example.com", {"removeMember": ",".join(external[:1000])})
    assert len(admin_api.get("/api/alias/big@example.com").json["_data"]["members"]) == 2000


def test_maillist_names_on_sql(admin_api, domain):
    path = "/api/maillist/list@example.com"
    assert failure(admin_api.get(path)) == "NO_SUCH_ALIAS"
    created = {"name": "List", "accessPolicy": "public", "members": "u@example.com"}
    assert admin_api.post(path, created).json == {"_success": True}
    put(admin_api, path, {"addMember": "v@example.com", "removeMember": "u@example.com"})
    data = admin_api.get(path).json["_data"]
    assert (data["name"], data["members"]) == ("List", ["v@example.com"])
    assert admin_api.get("/api/alias/list@example.com").json["_data"]["members"] == [
        "v@example.com"
    ]
    assert admin_api.delete(path).json == {"_success": True}
    assert failure(admin_api.get(path)) == "NO_SUCH_ALIAS"


def test_users_and_aliases_share_one_address_space(admin_api, domain):
    admin_api.post("/api/alias/team@example.com")
    answer = admin_api.post("/api/user/team@example.com", {"password": "Us3r-Passw0rd"})
    assert failure(answer) == "ALREADY_EXISTS"
    db.release_connections()


# -- Postfix ---------------------------------------------------------------------------------
@pytest.mark.server_db
def test_postfix_resolves_aliases(admin_api, domain, postfix):
    admin_api.post("/api/alias/team@example.com", {"members": "u@example.com,x@elsewhere.org"})
    assert postfix.resolve_alias("team@example.com") == ["u@example.com", "x@elsewhere.org"]
    put(admin_api, "/api/alias/team@example.com", {"addMember": "v@example.com",
                                                   "removeMember": "x@elsewhere.org"})  # fmt: skip
    assert postfix.resolve_alias("team@example.com") == ["u@example.com", "v@example.com"]
    put(admin_api, "/api/alias/team@example.com", {"accountStatus": "disabled"})
    assert postfix.resolve_alias("team@example.com") is None
    put(admin_api, "/api/alias/team@example.com", {"accountStatus": "active"})
    admin_api.post("/api/alias/team@example.com/change_email/crew@example.com")
    assert postfix.resolve_alias("team@example.com") is None
    assert postfix.resolve_alias("crew@example.com") == ["u@example.com", "v@example.com"]
    admin_api.delete("/api/alias/crew@example.com")
    assert postfix.resolve_alias("crew@example.com") is None
