"""POST, GET and DELETE /api/domain/<domain> through the gateway, with the rows they leave."""

from __future__ import annotations

import datetime
import logging

import pytest

from shared import db
from shared.models.iredadmin import Log
from shared.models.iredapd import Throttle, ThrottleTracking
from shared.models.vmail import (
    Alias,
    AliasDomain,
    DeletedMailbox,
    Domain,
    DomainAdmin,
    Forwarding,
    Mailbox,
    RecipientBccDomain,
    SenderBccDomain,
    SenderRelayhost,
    UsedQuota,
)
from shared.timeutil import utcnow
from tests.conftest import login
from tests.helpers import add_domain, add_domain_admin, add_mailbox, failure, rows


def test_create_writes_the_domain_row(admin_api):
    answer = admin_api.post(
        "/api/domain/Example.com",
        {
            "name": "Example Inc.",
            "quota": "2048",
            "language": "de_DE",
            "defaultQuota": "100",
            "maxUserQuota": "500",
            "numberOfUsers": "20",
            "numberOfAliases": "-1",
            "numberOfLists": "3",
            "senderBcc": "archive@example.org",
            "recipientBcc": "Inbound@Example.org",
        },
    )
    assert answer.json == {"_success": True}
    (row,) = rows(Domain.select())
    assert row["domain"] == "example.com"
    assert row["description"] == "Example Inc."
    assert (row["maxquota"], row["mailboxes"], row["aliases"], row["maillists"]) == (
        2048, 20, -1, 3,
    )  # fmt: skip
    assert (row["transport"], row["active"], row["backupmx"]) == ("dovecot", 1, 0)
    assert row["settings"] == ("default_user_quota:100;max_user_quota:500;default_language:de_DE;")
    assert abs(row["created"] - utcnow()) < datetime.timedelta(minutes=1)
    assert row["modified"] == row["created"]
    assert rows(SenderBccDomain.select(SenderBccDomain.domain, SenderBccDomain.bcc_address)) == [
        {"domain": "example.com", "bcc_address": "archive@example.org"}
    ]
    assert rows(RecipientBccDomain.select(RecipientBccDomain.bcc_address)) == [
        {"bcc_address": "inbound@example.org"}
    ]


def test_get_answers_the_profile(admin_api):
    admin_api.post("/api/domain/example.com", {"cn": "Legacy name", "quota": "10"})
    data = admin_api.get("/api/domain/example.com").json["_data"]
    assert data["domain"] == "example.com"
    assert data["description"] == "Legacy name"
    assert data["maxquota"] == 10 and data["active"] == 1
    assert data["settings"] == {}
    assert data["expired"] == "9999-12-31 00:00:00"
    assert len(data["created"]) == 19


def test_create_with_parameters_in_the_query_string(admin_api):
    admin_api.post("/api/domain/example.com?name=From%20query&quota=5")
    (row,) = rows(Domain.select(Domain.description, Domain.maxquota))
    assert row == {"description": "From query", "maxquota": 5}


def test_create_with_a_json_body(admin_api):
    admin_api.post_json("/api/domain/example.com", {"name": "JSON", "numberOfUsers": 7})
    (row,) = rows(Domain.select(Domain.description, Domain.mailboxes))
    assert row == {"description": "JSON", "mailboxes": 7}


def test_body_wins_over_the_query_string(admin_api):
    admin_api.post("/api/domain/example.com?name=query", {"name": "body"})
    assert rows(Domain.select(Domain.description)) == [{"description": "body"}]


def test_create_records_an_audit_row(admin_api):
    admin_api.post("/api/domain/example.com")
    (entry,) = rows(Log.select())
    assert entry["admin"] == "admin@example.com"
    assert entry["domain"] == "example.com" and entry["event"] == "create"
    assert entry["ip"] == "127.0.0.1" and entry["msg"].startswith("[API] ")


def test_existing_domain(admin_api):
    add_domain("example.com")
    assert failure(admin_api.post("/api/domain/example.com")) == "ALREADY_EXISTS"


def test_existing_alias_domain(admin_api):
    add_domain("example.com")
    AliasDomain.insert(alias_domain="example.net", target_domain="example.com").execute()
    db.release_connections()
    assert failure(admin_api.post("/api/domain/example.net")) == "ALREADY_EXISTS"


@pytest.mark.parametrize(
    "name",
    [
        "nodot",
        "with%20space.com",
        "double..dot.com",
        "-leading.com",
        "a" * 64 + ".com",
        ("a" * 60 + ".") * 5 + "com",
        "b%C3%BCcher.de",
        "example.c",
        "under_score.com",
    ],
)
def test_invalid_domain_name(admin_api, name):
    assert failure(admin_api.post(f"/api/domain/{name}")) == "INVALID_DOMAIN_NAME"
    assert failure(admin_api.get(f"/api/domain/{name}")) == "INVALID_DOMAIN_NAME"


def test_idna_domain_is_accepted(admin_api):
    assert admin_api.post("/api/domain/xn--bcher-kva.de").json["_success"] is True


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"quota": "-1"}, "INVALID_NUMBER"),
        ({"quota": "lots"}, "INVALID_NUMBER"),
        ({"quota": "99999999999999999999999"}, "INVALID_NUMBER"),
        ({"defaultQuota": "-5"}, "INVALID_NUMBER"),
        ({"numberOfUsers": "-2"}, "INVALID_NUMBER"),
        ({"language": "klingon"}, "INVALID_LANGUAGE"),
        ({"transport": "bad transport"}, "INVALID_TRANSPORT"),
        ({"senderBcc": "not-an-address"}, "INVALID_MAIL"),
    ],
)
def test_invalid_create_parameters(admin_api, params, code):
    assert failure(admin_api.post("/api/domain/example.com", params)) == code
    assert rows(Domain.select()) == []


def test_missing_domain(admin_api):
    assert failure(admin_api.get("/api/domain/example.com")) == "NO_SUCH_DOMAIN"
    assert failure(admin_api.delete("/api/domain/example.com")) == "NO_SUCH_DOMAIN"


def _populate(domain: str) -> None:
    add_domain(domain)
    add_mailbox(f"alice@{domain}")
    add_mailbox(f"bob@{domain}")
    UsedQuota.insert(username=f"alice@{domain}", bytes=1234, messages=5, domain=domain).execute()
    Forwarding.insert_many(
        [
            {"address": f"alice@{domain}", "forwarding": f"alice@{domain}", "domain": domain,
             "dest_domain": domain, "is_forwarding": 1},
            {"address": f"team@{domain}", "forwarding": f"bob@{domain}", "domain": domain,
             "dest_domain": domain, "is_list": 1},
            {"address": "x@elsewhere.org", "forwarding": f"bob@{domain}",
             "domain": "elsewhere.org", "dest_domain": domain, "is_forwarding": 1},
            {"address": "y@elsewhere.org", "forwarding": "z@elsewhere.org",
             "domain": "elsewhere.org", "dest_domain": "elsewhere.org", "is_forwarding": 1},
        ]
    ).execute()  # fmt: skip
    Alias.insert(address=f"team@{domain}", domain=domain).execute()
    AliasDomain.insert(alias_domain="alias-of.org", target_domain=domain).execute()
    SenderRelayhost.insert_many(
        [{"account": "@" + domain, "relayhost": "smtp:[10.0.0.1]:25"},
         {"account": f"alice@{domain}", "relayhost": "smtp:[10.0.0.2]:25"}]
    ).execute()  # fmt: skip
    throttle = Throttle.insert(account="@" + domain, kind="outbound", priority=60, period=60)
    tid = throttle.execute()
    ThrottleTracking.insert(tid=tid, account="@" + domain).execute()
    Throttle.insert(account="@.", kind="outbound", priority=0, period=60).execute()
    db.release_connections()
    add_domain_admin(f"alice@{domain}", domain)


@pytest.mark.parametrize(("path", "days"), [("", None), ("/keep_mailbox_days/30", 30),
                                            ("/keep_mailbox_days/0", None)])  # fmt: skip
def test_delete_cascades(admin_api, path, days):
    _populate("example.com")
    assert admin_api.delete(f"/api/domain/example.com{path}").json == {"_success": True}
    for model in (Domain, Mailbox, Alias, AliasDomain, UsedQuota):
        assert rows(model.select()) == [], model
    assert rows(DomainAdmin.select().where(DomainAdmin.domain != "ALL")) == []
    assert [r["address"] for r in rows(Forwarding.select())] == ["y@elsewhere.org"]
    assert rows(SenderRelayhost.select()) == []
    assert [r["account"] for r in rows(Throttle.select())] == ["@."]
    assert rows(ThrottleTracking.select()) == []
    deleted = {r["username"]: r for r in rows(DeletedMailbox.select())}
    assert set(deleted) == {"alice@example.com", "bob@example.com"}
    alice = deleted["alice@example.com"]
    assert alice["maildir"] == "/var/vmail/vmail1/example.com/a/alice-2026.01.01.00.00.00/"
    assert (alice["bytes"], alice["messages"], alice["admin"]) == (1234, 5, "admin@example.com")
    expected = utcnow().date() + datetime.timedelta(days=days) if days else None
    assert alice["delete_date"] == expected
    assert deleted["bob@example.com"]["bytes"] == 0


def test_delete_keeps_a_standalone_admin_whose_address_is_in_the_domain(admin_api):
    add_domain("example.com")  # the global admin is admin@example.com, a standalone admin
    assert admin_api.delete("/api/domain/example.com").json == {"_success": True}
    assert rows(DomainAdmin.select(DomainAdmin.username, DomainAdmin.domain)) == [
        {"username": "admin@example.com", "domain": "ALL"}
    ]
    assert failure(admin_api.get("/api/domain/example.com")) == "NO_SUCH_DOMAIN"


def test_delete_gives_the_self_row_back_to_mailboxes_that_forwarded_there(admin_api):
    _populate("example.com")
    add_domain("other.org")
    add_mailbox("carol@other.org")
    Forwarding.insert(
        address="carol@other.org", forwarding="alice@example.com", domain="other.org",
        dest_domain="example.com", is_forwarding=1,
    ).execute()  # fmt: skip
    db.release_connections()
    admin_api.delete("/api/domain/example.com")
    carol = rows(Forwarding.select().where(Forwarding.address == "carol@other.org"))
    assert [(r["forwarding"], r["is_forwarding"], r["active"]) for r in carol] == [
        ("carol@other.org", 1, 1)
    ]


def test_delete_keeps_other_domains(admin_api):
    _populate("example.com")
    add_domain("other.org")
    add_mailbox("carol@other.org")
    admin_api.delete("/api/domain/example.com")
    assert [r["domain"] for r in rows(Domain.select())] == ["other.org"]
    assert [r["username"] for r in rows(Mailbox.select())] == ["carol@other.org"]


@pytest.mark.parametrize("days", ["-1", "abc", "36501", "99999999999999999999"])
def test_delete_with_an_invalid_day_count(admin_api, days):
    add_domain("example.com")
    code = failure(admin_api.delete(f"/api/domain/example.com/keep_mailbox_days/{days}"))
    assert code == "INVALID_NUMBER"
    assert len(rows(Domain.select())) == 1


# -- domain admins ----------------------------------------------------------------------------
@pytest.fixture
def domain_admin_api(api):
    add_domain("mine.org")
    add_domain("theirs.org")
    add_mailbox("boss@mine.org", password="B0ss-Passw0rd", isadmin=1)
    add_domain_admin("boss@mine.org", "mine.org")
    return login(api, "boss@mine.org", "B0ss-Passw0rd")


def test_domain_admin_reads_its_domain_only(domain_admin_api):
    assert domain_admin_api.get("/api/domain/mine.org").json["_success"] is True
    assert failure(domain_admin_api.get("/api/domain/theirs.org")) == "PERMISSION_DENIED"


def test_domain_admin_cannot_create_or_delete(domain_admin_api):
    assert failure(domain_admin_api.post("/api/domain/new.org")) == "PERMISSION_DENIED"
    assert failure(domain_admin_api.delete("/api/domain/mine.org")) == "PERMISSION_DENIED"
    assert len(rows(Domain.select())) == 2


class StatementCounter(logging.Handler):
    """Counts the SQL statements peewee runs, leaving out the gateway's authentication.

    The gateway reads the session and the identity again whenever its short cache has run out
    (under CI load that can fall between two requests of a test), and the pool's own messages are
    not statements; neither is part of what a delete costs.
    """

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record):
        if record.name != "peewee" or not isinstance(record.msg, tuple):
            return
        sql = record.msg[0]
        if "sessions" in sql or "UNION ALL" in sql:
            return
        self.count += 1


def _statements_to_delete(admin_api, mailboxes: int) -> int:
    add_domain("big.org")
    for n in range(mailboxes):
        add_mailbox(f"user{n}@big.org")
    assert admin_api.get("/api/domain/big.org").json["_success"]
    counter = StatementCounter()
    logger = logging.getLogger("peewee")
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    try:
        assert admin_api.delete("/api/domain/big.org").json == {"_success": True}
    finally:
        logger.removeHandler(counter)
        logger.setLevel(logging.NOTSET)
    assert len(rows(DeletedMailbox.select())) == mailboxes
    DeletedMailbox.delete().execute()
    return counter.count


def test_delete_issues_the_same_statements_whatever_the_size(admin_api):
    assert _statements_to_delete(admin_api, 2) == _statements_to_delete(admin_api, 40)
