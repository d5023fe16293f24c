"""Mail users (CONTRACT.md §4.3) through the gateway, with the rows they leave."""

from __future__ import annotations

import datetime

import pytest

from shared import db
from shared.errors import ApiError
from shared.models.iredadmin import Log
from shared.models.iredapd import Throttle, ThrottleTracking
from shared.models.vmail import (
    AliasDomain,
    DeletedMailbox,
    Domain,
    DomainAdmin,
    Forwarding,
    LastLogin,
    Mailbox,
    Moderator,
    RecipientBccUser,
    SenderBccDomain,
    SenderBccUser,
    SenderRelayhost,
    UsedQuota,
)
from shared.passwords import verify_password
from shared.timeutil import utcnow
from tests.conftest import login
from tests.helpers import add_domain, add_domain_admin, add_mailbox, failure, rows, run_together

PW = "Us3r-Passw0rd"


def mailbox(address="u@example.com") -> dict:
    (row,) = rows(Mailbox.select().where(Mailbox.username == address))
    return row


def forwardings(address) -> list[tuple]:
    return sorted(
        (r["forwarding"], r["is_forwarding"], r["is_alias"], r["is_list"], r["active"])
        for r in rows(Forwarding.select().where(Forwarding.address == address))
    )


@pytest.fixture
def domain(admin_api):
    assert admin_api.post("/api/domain/example.com", {"defaultQuota": "100"}).json["_success"]
    return "example.com"


def create(client, address="u@example.com", **params):
    params.setdefault("password", PW)
    return client.post(f"/api/user/{address}", params).json


def put(client, address, params):
    answer = client.put(f"/api/user/{address}", params).json
    assert answer == {"_success": True}, answer


# -- create ----------------------------------------------------------------------------------
def test_create_writes_a_working_mailbox(admin_api, domain):
    assert create(admin_api, "John.Doe@Example.com", name="John") == {"_success": True}
    row = mailbox("john.doe@example.com")
    assert verify_password(PW, row["password"]) and row["password"].startswith("{SSHA512}")
    assert (row["name"], row["quota"], row["domain"], row["active"]) == (
        "John", 100, "example.com", 1,
    )  # fmt: skip
    assert (row["storagebasedirectory"], row["storagenode"]) == ("/var/vmail", "vmail1")
    assert row["maildir"].startswith("example.com/j/o/h/john.doe-")
    stamp = row["maildir"].rsplit("-", 1)[1].rstrip("/")
    assert datetime.datetime.strptime(stamp, "%Y.%m.%d.%H.%M.%S")
    assert (row["mailboxformat"], row["mailboxfolder"]) == ("maildir", "Maildir")
    assert row["enabledeliver"] == row["enablelda"] == row["enablelmtp"] == row["enableimap"] == 1
    assert row["allow_nets"] is None
    assert row["created"].year > 2000 and row["passwordlastchange"].year > 2000
    assert forwardings("john.doe@example.com") == [("john.doe@example.com", 1, 0, 0, 1)]


def test_short_local_parts_are_padded_in_the_maildir(admin_api, domain):
    create(admin_api, "a.b@example.com")
    assert mailbox("a.b@example.com")["maildir"].startswith("example.com/a/_/b/a.b-")


def test_create_with_legacy_names_and_a_hash(admin_api, domain):
    answer = create(admin_api, password=None, password_hash="{PLAIN}secret", cn="Legacy",
                    mailQuota="42", preferredLanguage="de_DE")  # fmt: skip
    assert answer == {"_success": True}
    row = mailbox()
    assert (row["name"], row["quota"], row["language"], row["password"]) == (
        "Legacy", 42, "de_DE", "{PLAIN}secret",
    )  # fmt: skip


@pytest.mark.parametrize("scheme", ["BCRYPT", "SHA512-CRYPT", "SSHA"])
def test_create_with_other_schemes(make_api, global_admin, scheme):
    client = login(make_api(default_password_scheme=scheme))
    client.post("/api/domain/example.com")
    assert create(client) == {"_success": True}
    stored = mailbox()["password"]
    assert verify_password(PW, stored)
    assert stored.startswith({"BCRYPT": "{CRYPT}$2b$", "SHA512-CRYPT": "{SHA512-CRYPT}$6$",
                              "SSHA": "{SSHA}"}[scheme])  # fmt: skip


def test_create_honours_disabled_mail_services(admin_api, domain):
    Domain.update(settings="disabled_mail_services:imap,smtp;").execute()
    db.release_connections()
    create(admin_api)
    row = mailbox()
    assert (row["enableimap"], row["enableimapsecured"], row["enablesmtp"]) == (0, 0, 0)
    assert row["enablepop3"] == 1


@pytest.mark.parametrize(
    "address",
    ["a+b@example.com", "with%20space@example.com", "two@@example.com", ".lead@example.com",
     "dou..ble@example.com", "x" * 250 + "@example.com", "nodomain", "trail.@example.com"],
)  # fmt: skip
def test_malformed_addresses(admin_api, domain, address):
    assert failure(admin_api.post(f"/api/user/{address}", {"password": PW})) == "INVALID_MAIL"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"password": None}, "PW_EMPTY"),
        ({"password": "short"}, "PW_SHORTER_THAN_MIN_LENGTH,PW_NO_UPPERCASE,"
                                "PW_NO_DIGIT_NUMBER,PW_NO_SPECIAL_CHAR"),
        ({"password": "alllowercase1!"}, "PW_NO_UPPERCASE"),
        ({"password": "NoDigits!!"}, "PW_NO_DIGIT_NUMBER"),
        ({"password": "NoSpecial12"}, "PW_NO_SPECIAL_CHAR"),
        ({"password": "12345678!"}, "PW_NO_LETTER,PW_NO_UPPERCASE"),
        ({"password": "ünicode-Pw1"}, "PW_NON_ASCII"),
        ({"password": None, "password_hash": "{MD5}abc"}, "INVALID_PASSWORD_SCHEME"),
        ({"quota": "-5"}, "INVALID_NUMBER"),
        ({"quota": "many"}, "INVALID_NUMBER"),
        ({"language": "english"}, "INVALID_LANGUAGE"),
        ({"mailboxFormat": "mbox"}, "INVALID_PARAM"),
    ],
)  # fmt: skip
def test_invalid_create(admin_api, domain, params, code):
    params = {k: v for k, v in {"password": PW, **params}.items() if v is not None}
    assert failure(admin_api.post("/api/user/u@example.com", params)) == code
    assert rows(Mailbox.select()) == []


def test_domain_password_length_overrides(admin_api, domain):
    admin_api.put("/api/domain/example.com", {"minPasswordLength": "16"})
    assert failure(admin_api.post("/api/user/u@example.com", {"password": PW})) == (
        "PW_SHORTER_THAN_MIN_LENGTH"
    )


def test_unknown_and_backup_mx_domains(admin_api, domain):
    assert failure(admin_api.post("/api/user/u@nowhere.org", {"password": PW})) == (
        "NO_SUCH_DOMAIN"
    )
    admin_api.post("/api/domain/backup.org")
    admin_api.put("/api/domain/backup.org", {"is_backupmx": "yes"})
    assert failure(admin_api.post("/api/user/u@backup.org", {"password": PW})) == "INVALID_PARAM"


@pytest.mark.parametrize("taken", ["mailbox", "alias", "forwarding", "plus"])
def test_address_taken(admin_api, domain, taken):
    if taken == "mailbox":
        create(admin_api)
    elif taken == "alias":
        from shared.models.vmail import Alias

        Alias.insert(address="u@example.com", domain="example.com").execute()
    else:
        Forwarding.insert(address="u@example.com", forwarding="x@y.org", domain="example.com",
                          dest_domain="y.org", is_alias=1).execute()  # fmt: skip
    db.release_connections()
    address = "u+tag@example.com" if taken == "plus" else "u@example.com"
    code = failure(admin_api.post(f"/api/user/{address}", {"password": PW}))
    assert code == ("INVALID_MAIL" if taken == "plus" else "ALREADY_EXISTS")


def test_limits(admin_api, domain):
    admin_api.put("/api/domain/example.com", {"numberOfUsers": "1", "maxUserQuota": "200",
                                              "quota": "250"})  # fmt: skip
    assert failure(admin_api.post("/api/user/a@example.com", {"password": PW, "quota": "300"})) \
        == "EXCEEDED_MAX_USER_QUOTA"  # fmt: skip
    assert create(admin_api, "a@example.com", quota="200") == {"_success": True}
    assert failure(admin_api.post("/api/user/b@example.com", {"password": PW})) == (
        "EXCEEDED_DOMAIN_ACCOUNT_LIMIT"
    )
    admin_api.put("/api/domain/example.com", {"numberOfUsers": "0"})
    assert failure(admin_api.post("/api/user/b@example.com", {"password": PW, "quota": "100"})) \
        == "EXCEEDED_DOMAIN_QUOTA_SIZE"  # fmt: skip
    # 0 (unlimited) counts as max_user_quota (200): 200 + 200 > 250
    assert failure(admin_api.post("/api/user/b@example.com", {"password": PW, "quota": "0"})) \
        == "EXCEEDED_DOMAIN_QUOTA_SIZE"  # fmt: skip
    assert create(admin_api, "b@example.com", quota="50") == {"_success": True}
    admin_api.put("/api/domain/example.com", {"numberOfUsers": "-1"})
    assert failure(admin_api.post("/api/user/c@example.com", {"password": PW})) == "NOT_ALLOWED"


# -- read ------------------------------------------------------------------------------------
def test_profile(admin_api, domain):
    create(admin_api, name="U")
    UsedQuota.insert(
        username="u@example.com", bytes=2048, messages=3, domain="example.com"
    ).execute()
    LastLogin.insert(username="u@example.com", domain="example.com", imap=1_700_000_000).execute()
    db.release_connections()
    data = admin_api.get("/api/user/u@example.com").json["_data"]
    assert "password" not in data
    assert (data["username"], data["name"], data["quota"]) == ("u@example.com", "U", 100)
    assert data["forwardings"] == [] and data["aliases"] == [] and data["member_of"] == []
    assert (data["stored_bytes"], data["stored_messages"]) == (2048, 3)
    assert data["last_login"] == "2023-11-14 22:13:20"
    assert data["enablelib-storage"] == 1 and data["settings"] == {}
    assert failure(admin_api.get("/api/user/ghost@example.com")) == "NO_SUCH_ACCOUNT"
    assert failure(admin_api.get("/api/user/no-at-sign")) == "INVALID_MAIL"


def test_hidden_fields_can_be_shown(make_api, global_admin):
    client = login(make_api(api_hidden_user_profiles=()))
    client.post("/api/domain/example.com")
    create(client)
    assert client.get("/api/user/u@example.com").json["_data"]["password"].startswith("{SSHA512}")


def test_list_users(admin_api, domain):
    for name in ("c", "a", "b"):
        create(admin_api, f"{name}@example.com")
    put(admin_api, "c@example.com", {"accountStatus": "disabled"})
    data = admin_api.get("/api/users/example.com").json["_data"]
    assert [u["username"] for u in data] == ["a@example.com", "b@example.com", "c@example.com"]
    assert all("password" not in u for u in data)
    assert admin_api.get("/api/users/example.com?email_only=yes").json["_data"] == [
        "a@example.com", "b@example.com", "c@example.com",
    ]  # fmt: skip
    assert admin_api.get("/api/users/example.com?email_only=yes&disabled_only=yes").json == {
        "_success": True, "_data": ["c@example.com"],
    }  # fmt: skip
    page = admin_api.get("/api/users/example.com?email_only=yes&limit=2&total=yes").json
    assert page["_data"] == ["a@example.com", "b@example.com"] and page["_total"] == 3
    assert failure(admin_api.get("/api/users/nowhere.org")) == "NO_SUCH_DOMAIN"


def test_a_listed_user_shows_its_times_as_its_own_read_does(admin_api, domain):
    """A streamed list writes each datetime from the driver's text (no parsing per value):
    the same 'YYYY-MM-DD HH:MM:SS' as GET /api/user, a fraction dropped, on every backend."""
    create(admin_api, "t@example.com")
    moment = datetime.datetime(2031, 2, 3, 4, 5, 6, 789000)
    Mailbox.update(created=moment, passwordlastchange=moment.replace(microsecond=0)).where(
        Mailbox.username == "t@example.com"
    ).execute()
    one = admin_api.get("/api/user/t@example.com").json["_data"]
    (listed,) = admin_api.get("/api/users/example.com").json["_data"]
    times = ("created", "modified", "expired", "passwordlastchange")
    assert {name: listed[name] for name in times} == {name: one[name] for name in times}
    assert listed["created"] == "2031-02-03 04:05:06"
    assert listed["passwordlastchange"] == "2031-02-03 04:05:06"


SEARCHED = {
    "john_doe@example.com": "Zed", "john.smith@example.com": "Alpha", "johnny@example.com": "Beta",
    "mary@example.com": "John Mary", "pat@example.com": "Patricia Johnson", "o@example.com": "",
}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("john", ["john.smith@", "john_doe@", "johnny@", "mary@"]),  # address or name start
        ("JOHN_", ["john_doe@"]),  # case-insensitive; `_` and `.` are no wildcards
        ("john.", ["john.smith@"]),
        ("john.smith@example.com", ["john.smith@"]),
        ("patricia j", ["pat@"]),  # the name's start, spaces included
        ("johnson", []),  # a prefix search: not inside a word
        ("%", []),
        ("example.com", []),
    ],
)
def test_search_matches_the_start_of_the_address_or_of_the_name(admin_api, domain, text, found):
    for address, name in SEARCHED.items():
        add_mailbox(address, name=name)
    add_domain("other.org")
    add_mailbox("john@other.org")
    expected = [f"{local}example.com" for local in found]
    params = {"email_only": "yes", "limit": "50", "search": text, "total": "yes"}
    page = admin_api.get("/api/users/example.com", params).json
    assert sorted(page["_data"]) == expected and page["_total"] == len(expected)
    streamed = admin_api.get("/api/users/example.com", {"email_only": "yes", "search": text})
    assert streamed.json["_data"] == page["_data"]  # in the database's order, as pages are


def test_search_pages_merge_address_and_name_matches(admin_api, domain):
    for address, name in SEARCHED.items():
        add_mailbox(address, name=name)
    seen, cursor = [], None
    while True:
        params = {"limit": "1", "search": "john", **({"cursor": cursor} if cursor else {})}
        page = admin_api.get("/api/users/example.com", params).json
        seen += [user["username"] for user in page["_data"]]
        if "_next" not in page:
            break
        cursor = page["_next"]
    whole = admin_api.get("/api/users/example.com", {"limit": "50", "search": "john"}).json
    assert seen == [user["username"] for user in whole["_data"]]
    assert sorted(seen) == ["john.smith@example.com", "john_doe@example.com",
                            "johnny@example.com", "mary@example.com"]  # fmt: skip


def test_search_pages_find_names_near_and_far_from_the_cursor(admin_api, domain):
    """Name matches among the next keys and far past them: SQLite first walks `limit * 10` keys
    in order, and only when they hold too few matches reads the name index."""
    matches = {2, 5, 25, 39}
    for i in range(40):
        add_mailbox(f"a{i:02d}@example.com", name="Match" if i in matches else "Other")
    expected = [f"a{i:02d}@example.com" for i in sorted(matches)]
    for limit in ("1", "2", "3"):
        seen, cursor = [], None
        while True:
            params = {"email_only": "yes", "limit": limit, "search": "MATCH",
                      **({"cursor": cursor} if cursor else {})}  # fmt: skip
            page = admin_api.get("/api/users/example.com", params).json
            seen += page["_data"]
            if "_next" not in page:
                break
            cursor = page["_next"]
        assert seen == expected, limit
    page = admin_api.get(
        "/api/users/example.com", {"email_only": "yes", "limit": "3", "search": "oth"}
    ).json
    assert page["_data"] == ["a00@example.com", "a01@example.com", "a03@example.com"]


# -- update ----------------------------------------------------------------------------------
def test_update_identity_password_quota_status(admin_api, domain):
    create(admin_api)
    before = mailbox()
    put(admin_api, "u@example.com", {"name": "New", "gn": "Given", "sn": "Sur",
                                     "employeeid": "E1", "password": "N3w-Passw0rd",
                                     "quota": "50", "language": "fr_FR", "transport": "lmtp:x",
                                     "accountStatus": "disabled"})  # fmt: skip
    row = mailbox()
    assert (row["name"], row["first_name"], row["last_name"], row["employeeid"]) == (
        "New", "Given", "Sur", "E1",
    )  # fmt: skip
    assert verify_password("N3w-Passw0rd", row["password"])
    assert row["passwordlastchange"] >= before["passwordlastchange"]
    assert (row["quota"], row["language"], row["transport"], row["active"]) == (
        50, "fr_FR", "lmtp:x", 0,
    )  # fmt: skip
    assert forwardings("u@example.com") == [("u@example.com", 1, 0, 0, 0)]
    put(admin_api, "u@example.com", {"accountStatus": "active"})
    assert forwardings("u@example.com") == [("u@example.com", 1, 0, 0, 1)]


def test_forwarding_keeps_the_self_row_rule(admin_api, domain):
    create(admin_api)
    create(admin_api, "v@example.com")
    put(admin_api, "u@example.com", {"forwarding": "x@elsewhere.org"})
    assert forwardings("u@example.com") == [("x@elsewhere.org", 1, 0, 0, 1)]
    put(admin_api, "u@example.com", {"addForwarding": "u@example.com,v@example.com"})
    assert [f[0] for f in forwardings("u@example.com")] == [
        "u@example.com", "v@example.com", "x@elsewhere.org",
    ]  # fmt: skip
    data = admin_api.get("/api/user/u@example.com").json["_data"]
    assert data["forwardings"] == ["u@example.com", "v@example.com", "x@elsewhere.org"]
    put(
        admin_api,
        "u@example.com",
        {"removeForwarding": "u@example.com,v@example.com,x@elsewhere.org"},
    )
    assert forwardings("u@example.com") == [("u@example.com", 1, 0, 0, 1)]
    put(admin_api, "u@example.com", {"forwarding": ""})
    assert forwardings("u@example.com") == [("u@example.com", 1, 0, 0, 1)]


def test_bcc_relay_and_global_admin(admin_api, domain):
    create(admin_api)
    put(admin_api, "u@example.com", {"senderBcc": "s@archive.org", "recipientBcc": "r@archive.org",
                                     "outboundRelay": "smtp:[10.0.0.9]:25",
                                     "isGlobalAdmin": "yes"})  # fmt: skip
    assert [(r["username"], r["bcc_address"], r["domain"]) for r in rows(SenderBccUser.select())] \
        == [("u@example.com", "s@archive.org", "example.com")]  # fmt: skip
    assert [r["bcc_address"] for r in rows(RecipientBccUser.select())] == ["r@archive.org"]
    assert rows(SenderRelayhost.select(SenderRelayhost.account, SenderRelayhost.relayhost)) == [
        {"account": "u@example.com", "relayhost": "smtp:[10.0.0.9]:25"}
    ]
    assert mailbox()["isglobaladmin"] == 1
    assert {"username": "u@example.com", "domain": "ALL"} in rows(
        DomainAdmin.select(DomainAdmin.username, DomainAdmin.domain)
    )
    put(admin_api, "u@example.com", {"senderBcc": "", "outboundRelay": "", "isGlobalAdmin": "no"})
    assert rows(SenderBccUser.select()) == [] and rows(SenderRelayhost.select()) == []
    assert mailbox()["isglobaladmin"] == 0
    assert rows(DomainAdmin.select().where(DomainAdmin.username == "u@example.com")) == []


def test_alias_addresses(admin_api, domain):
    create(admin_api)
    admin_api.put("/api/domain/example.com", {"aliasDomains": "example.net"})
    put(admin_api, "u@example.com", {"aliases": "x@example.com,y@example.net"})
    got = rows(Forwarding.select().where(Forwarding.is_alias == 1))
    assert sorted((r["address"], r["forwarding"], r["domain"], r["dest_domain"]) for r in got) == [
        ("x@example.com", "u@example.com", "example.com", "example.com"),
        ("y@example.net", "u@example.com", "example.net", "example.com"),
    ]
    put(admin_api, "u@example.com", {"removeAlias": "x@example.com", "addAlias": "z@example.com"})
    data = admin_api.get("/api/user/u@example.com").json["_data"]
    assert data["aliases"] == ["y@example.net", "z@example.com"]


def test_services(admin_api, domain):
    create(admin_api)
    put(admin_api, "u@example.com", {"removeService": "imap,pop3tls,smtptls"})
    row = mailbox()
    assert (row["enableimap"], row["enableimapsecured"], row["enableimaptls"]) == (0, 0, 0)
    assert (row["enablepop3"], row["enablepop3tls"]) == (1, 0)
    put(admin_api, "u@example.com", {"services": "imap,deliver,lda,lmtp"})
    row = mailbox()
    assert (row["enableimap"], row["enabledeliver"], row["enablepop3"], row["enablesmtp"]) == (
        1, 1, 0, 0,
    )  # fmt: skip
    assert row["enabledoveadm"] == row["enablelib_storage"] == row["enableinternal"] == 1
    put(admin_api, "u@example.com", {"addService": "imaptls"})
    assert mailbox()["enableimaptls"] == 1


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"forwarding": "not-an-address"}, "INVALID_MAIL"),
        ({"forwarding": "ghost@example.com"}, "NO_SUCH_ACCOUNT"),
        ({"forwarding": "a@x.org", "addForwarding": "b@x.org"}, "INVALID_PARAM"),
        ({"aliases": "other@foreign.org"}, "DOMAIN_NAME_MISMATCH"),
        ({"aliases": "v@example.com"}, "ALREADY_EXISTS"),
        ({"aliases": "bad alias@example.com"}, "INVALID_MAIL"),
        ({"services": "telnet"}, "INVALID_SERVICE"),
        ({"senderBcc": "x@@y.org"}, "INVALID_MAIL"),
        ({"accountStatus": "zombie"}, "INVALID_PARAM"),
        ({"password": "weak"}, "PW_SHORTER_THAN_MIN_LENGTH,PW_NO_UPPERCASE,PW_NO_DIGIT_NUMBER,"
                               "PW_NO_SPECIAL_CHAR"),
        ({"maildir": "../escape"}, "INVALID_PARAM"),
        ({"quota": "1000", "_domain_quota": "500"}, "EXCEEDED_DOMAIN_QUOTA_SIZE"),
    ],
)  # fmt: skip
def test_invalid_updates_change_nothing(admin_api, domain, params, code):
    create(admin_api)
    create(admin_api, "v@example.com")
    if "_domain_quota" in params:
        admin_api.put("/api/domain/example.com", {"quota": params.pop("_domain_quota")})
    before = (mailbox(), forwardings("u@example.com"))
    assert failure(admin_api.put("/api/user/u@example.com", params)) == code
    assert (mailbox(), forwardings("u@example.com")) == before


def test_update_a_missing_user(admin_api, domain):
    assert failure(admin_api.put("/api/user/ghost@example.com", {"name": "x"})) == (
        "NO_SUCH_ACCOUNT"
    )


def test_only_global_admins_grant_global_rights(api):
    add_domain("mine.org")
    add_mailbox("boss@mine.org", password="B0ss-Passw0rd", isadmin=1)
    add_mailbox("u@mine.org")
    add_domain_admin("boss@mine.org", "mine.org")
    login(api, "boss@mine.org", "B0ss-Passw0rd")
    assert failure(api.put("/api/user/u@mine.org", {"isGlobalAdmin": "yes"})) == (
        "PERMISSION_DENIED"
    )
    assert failure(api.get("/api/user/someone@theirs.org")) == "PERMISSION_DENIED"
    assert failure(api.post("/api/verify_password/user/u@mine.org", {"password": "x"})) == (
        "PERMISSION_DENIED"
    )


def test_bulk_update(admin_api, domain):
    for name in ("a", "b"):
        create(admin_api, f"{name}@example.com")
    answer = admin_api.put("/api/users/example.com", {"accountStatus": "disabled",
                                                      "language": "it_IT",
                                                      "password": "Bulk-Passw0rd"})  # fmt: skip
    assert answer.json == {"_success": True}
    for row in rows(Mailbox.select()):
        assert (row["active"], row["language"]) == (0, "it_IT")
        assert verify_password("Bulk-Passw0rd", row["password"])
    assert {r["active"] for r in rows(Forwarding.select())} == {0}
    assert failure(admin_api.put("/api/users/example.com", {"quota": "5"})) == "INVALID_PARAM"


# -- verify, rename, delete ------------------------------------------------------------------
def test_verify_password(admin_api, domain):
    create(admin_api)
    assert admin_api.post("/api/verify_password/user/u@example.com", {"password": PW}).json == {
        "_success": True
    }
    answer = admin_api.post("/api/verify_password/user/u@example.com", {"password": "nope"})
    assert failure(answer) == "INVALID_CREDENTIALS"


def test_rename_rewrites_every_reference(admin_api, domain):
    create(admin_api)
    create(admin_api, "v@example.com")
    put(
        admin_api,
        "u@example.com",
        {"aliases": "alias-x@example.com", "senderBcc": "b@x.org", "outboundRelay": "smtp:[h]:25"},
    )
    put(admin_api, "v@example.com", {"forwarding": "u@example.com", "senderBcc": "u@example.com"})
    Moderator.insert(address="list@example.com", moderator="u@example.com",
                     domain="example.com", dest_domain="example.com").execute()  # fmt: skip
    SenderBccDomain.insert(domain="example.com", bcc_address="u@example.com").execute()
    UsedQuota.insert(username="u@example.com", bytes=1, domain="example.com").execute()
    tid = Throttle.insert(
        account="u@example.com", kind="outbound", priority=100, period=60
    ).execute()
    ThrottleTracking.insert(tid=tid, account="u@example.com").execute()
    db.release_connections()
    maildir = mailbox()["maildir"]
    answer = admin_api.post("/api/user/u@example.com/change_email/w@example.com")
    assert answer.json == {"_success": True}
    assert mailbox("w@example.com")["maildir"] == maildir
    assert rows(Mailbox.select().where(Mailbox.username == "u@example.com")) == []
    assert forwardings("w@example.com") == [("w@example.com", 1, 0, 0, 1)]
    assert forwardings("v@example.com") == [("w@example.com", 1, 0, 0, 1)]
    assert forwardings("alias-x@example.com") == [("w@example.com", 0, 1, 0, 1)]
    everything = [
        rows(Forwarding.select(Forwarding.address, Forwarding.forwarding)),
        rows(Moderator.select(Moderator.moderator)), rows(SenderBccUser.select()),
        rows(SenderBccDomain.select()), rows(SenderRelayhost.select()),
        rows(UsedQuota.select()), rows(Throttle.select()), rows(ThrottleTracking.select()),
    ]  # fmt: skip
    assert "u@example.com" not in repr(everything) and "w@example.com" in repr(everything)


@pytest.mark.parametrize(
    ("new", "code"),
    [("w@other.org", "DOMAIN_NAME_MISMATCH"), ("v@example.com", "ALREADY_EXISTS"),
     ("bad address@example.com", "INVALID_MAIL")],
)  # fmt: skip
def test_invalid_renames(admin_api, domain, new, code):
    create(admin_api)
    create(admin_api, "v@example.com")
    assert failure(admin_api.post(f"/api/user/u@example.com/change_email/{new}")) == code
    assert len(rows(Mailbox.select())) == 2


@pytest.mark.parametrize(("suffix", "days"), [("", None), ("/keep_mailbox_days/7", 7)])
def test_delete_cascade(admin_api, domain, suffix, days):
    create(admin_api)
    create(admin_api, "v@example.com")
    put(admin_api, "u@example.com", {"aliases": "a@example.com", "senderBcc": "b@x.org",
                                     "recipientBcc": "c@x.org", "outboundRelay": "smtp:[h]:25",
                                     "forwarding": "u@example.com,x@y.org"})  # fmt: skip
    put(
        admin_api, "v@example.com", {"forwarding": "u@example.com", "recipientBcc": "u@example.com"}
    )
    Moderator.insert(address="l@example.com", moderator="u@example.com").execute()
    UsedQuota.insert(username="u@example.com", bytes=10, messages=1, domain="example.com").execute()
    LastLogin.insert(username="u@example.com", domain="example.com").execute()
    tid = Throttle.insert(account="u@example.com", kind="inbound", priority=100, period=9).execute()
    ThrottleTracking.insert(tid=tid, account="u@example.com").execute()
    db.release_connections()
    put(admin_api, "u@example.com", {"isGlobalAdmin": "yes"})
    assert admin_api.delete(f"/api/user/u@example.com{suffix}").json == {"_success": True}
    leftovers = [
        rows(Mailbox.select().where(Mailbox.username == "u@example.com")),
        rows(Forwarding.select().where((Forwarding.address == "u@example.com")
                                       | (Forwarding.forwarding == "u@example.com")
                                       | (Forwarding.address == "a@example.com"))),
        rows(SenderBccUser.select()), rows(RecipientBccUser.select()),
        rows(SenderRelayhost.select()), rows(Moderator.select()), rows(UsedQuota.select()),
        rows(LastLogin.select()), rows(Throttle.select()), rows(ThrottleTracking.select()),
        rows(DomainAdmin.select().where(DomainAdmin.username == "u@example.com")),
    ]  # fmt: skip
    assert leftovers == [[]] * len(leftovers)
    assert forwardings("v@example.com") == [("v@example.com", 1, 0, 0, 1)]
    (deleted,) = rows(DeletedMailbox.select())
    assert deleted["username"] == "u@example.com" and deleted["bytes"] == 10
    expected = utcnow().date() + datetime.timedelta(days=days) if days else None
    assert deleted["delete_date"] == expected
    assert len(rows(Log.select().where(Log.event == "delete"))) == 1
    assert failure(admin_api.delete("/api/user/u@example.com")) == "NO_SUCH_ACCOUNT"


def test_alias_domain_rows_do_not_block_users(admin_api, domain):
    AliasDomain.insert(alias_domain="example.net", target_domain="example.com").execute()
    db.release_connections()
    assert create(admin_api) == {"_success": True}


def test_a_create_waits_for_a_transaction_holding_the_domain(admin_api, domain, config):
    """The limit is checked under the domain row lock (FOR UPDATE / SQLite's write lock):
    a create that starts while another transaction fills the last slot must see it."""
    import threading
    import time

    from shared.identity import GLOBAL, Identity
    from shared.params import Params
    from shared.rules import users as rules

    admin_api.put("/api/domain/example.com", {"numberOfUsers": "1"})
    locked, outcome = threading.Event(), {}

    def holder():
        with db.vmail_db.atomic():
            rules.locked_domain("example.com")
            locked.set()
            time.sleep(0.5)
            Mailbox.insert(username="first@example.com", domain="example.com").execute()
        db.release_connections()

    def contender():
        locked.wait()
        try:
            rules.create_user(Identity(admin="a@b.cc", role=GLOBAL), "second@example.com",
                              Params([("password", PW)], []), config)  # fmt: skip
            outcome["code"] = "ok"
        except ApiError as exc:
            outcome["code"] = exc.code
        finally:
            db.release_connections()

    run_together(holder, contender)
    assert outcome["code"] == "EXCEEDED_DOMAIN_ACCOUNT_LIMIT"
    assert [r["username"] for r in rows(Mailbox.select())] == ["first@example.com"]


def test_account_writes_are_audited_without_secrets(admin_api, domain):
    create(admin_api)
    put(admin_api, "u@example.com", {"password": "N3w-Passw0rd", "name": "X"})
    admin_api.post("/api/alias/team@example.com", {"members": "u@example.com"})
    entries = rows(Log.select().where(Log.username != "").order_by(Log.id))
    assert [(e["event"], e["domain"], e["username"]) for e in entries] == [
        ("create", "example.com", "u@example.com"),
        ("update", "example.com", "u@example.com"),
        ("create", "example.com", "team@example.com"),
    ]
    assert entries[1]["msg"] == "[API] Update user: u@example.com (name, password)"
    assert all("N3w-Passw0rd" not in e["msg"] and PW not in e["msg"] for e in entries)
