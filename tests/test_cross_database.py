"""Writes across databases survive a failure between their steps (shared/rules/cascade.py).

The failure is real: the `iredapd` database is unreachable (a URL where nothing answers) for the
call that fails, after `vmail` committed its step. Nothing a later create makes inherits what
was left, a retry of the call finishes it, and so does the next cross-database write."""

from __future__ import annotations

import datetime

import pytest

from shared import db
from shared.models.iredadmin import PendingCascade
from shared.models.iredapd import Throttle, ThrottleTracking
from shared.models.vmail import Domain, Mailbox
from tests.conftest import UNREACHABLE as UNREACHABLE_URL
from tests.conftest import login
from tests.helpers import failure, rows

PW = "Us3r-Passw0rd"
UNREACHABLE = UNREACHABLE_URL.format("iredapd")


def ok(response) -> None:
    assert response.json == {"_success": True}, response.json


def throttle_accounts() -> list[str]:
    return sorted(row["account"] for row in rows(Throttle.select()))


def journal() -> list[dict]:
    return rows(PendingCascade.select())


@pytest.fixture
def server(admin_api):
    """example.com with u@example.com, each with an outbound throttle (and iRedAPD tracking)."""
    ok(admin_api.post("/api/domain/example.com"))
    ok(admin_api.post("/api/user/u@example.com", {"password": PW}))
    ok(admin_api.post("/api/throttle/example.com/outbound", {"period": "60", "max_msgs": "10"}))
    ok(admin_api.post("/api/throttle/u@example.com/outbound", {"period": "60", "max_msgs": "5"}))
    for row in rows(Throttle.select()):
        ThrottleTracking.insert(tid=row["id"], account=row["account"], cur_msgs=3).execute()
    db.release_connections()
    return admin_api


@pytest.fixture
def broken(make_api, server):
    """Calls whose `iredapd` cannot be reached; `healthy()` gives a working client back."""
    client = login(make_api(iredapd_db_url=UNREACHABLE))

    def healthy():
        return login(make_api())

    client.healthy = healthy
    return client


def test_an_interrupted_domain_delete_is_not_inherited_by_the_next_domain(broken):
    assert failure(broken.delete("/api/domain/example.com")) == "DATABASE_UNAVAILABLE"
    api = broken.healthy()
    assert rows(Domain.select()) == []  # vmail's step committed
    assert throttle_accounts() == ["@example.com", "u@example.com"]  # left behind
    assert [e["operation"] for e in journal()] == ["delete_domain"]
    ok(api.post("/api/domain/example.com"))
    assert api.get("/api/throttle/example.com/outbound").json == {"_success": True, "_data": {}}
    ok(api.post("/api/user/u@example.com", {"password": PW}))
    assert api.get("/api/throttle/u@example.com/outbound").json["_data"] == {}
    assert throttle_accounts() == [] and rows(ThrottleTracking.select()) == []
    assert journal() == []


def test_a_retry_of_the_domain_delete_finishes_it(broken):
    assert failure(broken.delete("/api/domain/example.com")) == "DATABASE_UNAVAILABLE"
    api = broken.healthy()
    ok(api.delete("/api/domain/example.com"))
    assert throttle_accounts() == [] and rows(ThrottleTracking.select()) == [] and journal() == []
    assert failure(api.delete("/api/domain/example.com")) == "NO_SUCH_DOMAIN"  # once finished


def test_an_interrupted_user_delete_is_not_inherited_and_a_retry_finishes_it(broken):
    assert failure(broken.delete("/api/user/u@example.com")) == "DATABASE_UNAVAILABLE"
    api = broken.healthy()
    assert rows(Mailbox.select().where(Mailbox.username == "u@example.com")) == []
    assert throttle_accounts() == ["@example.com", "u@example.com"]
    ok(api.delete("/api/user/u@example.com"))  # the retry
    assert throttle_accounts() == ["@example.com"] and journal() == []
    assert failure(api.delete("/api/user/u@example.com")) == "NO_SUCH_ACCOUNT"


@pytest.mark.parametrize("next_create", ["user", "alias"])
def test_a_new_account_at_a_deleted_users_address_starts_clean(broken, next_create):
    assert failure(broken.delete("/api/user/u@example.com")) == "DATABASE_UNAVAILABLE"
    api = broken.healthy()
    params = {"password": PW} if next_create == "user" else {}
    ok(api.post(f"/api/{next_create}/u@example.com", params))
    assert throttle_accounts() == ["@example.com"] and journal() == []


def test_an_interrupted_rename_is_finished_by_its_retry(broken):
    answer = broken.post("/api/user/u@example.com/change_email/w@example.com")
    assert failure(answer) == "DATABASE_UNAVAILABLE"
    api = broken.healthy()
    assert rows(Mailbox.select(Mailbox.username).where(Mailbox.domain == "example.com")) == [
        {"username": "w@example.com"}
    ]
    assert throttle_accounts() == ["@example.com", "u@example.com"]  # still the old name's
    ok(api.post("/api/user/u@example.com/change_email/w@example.com"))
    assert throttle_accounts() == ["@example.com", "w@example.com"] and journal() == []
    tracked = rows(ThrottleTracking.select().where(ThrottleTracking.account == "w@example.com"))
    assert [t["cur_msgs"] for t in tracked] == [3]
    assert api.get("/api/throttle/w@example.com/outbound").json["_data"]["max_msgs"] == 5


def test_the_old_name_of_an_interrupted_rename_starts_clean(broken):
    answer = broken.post("/api/user/u@example.com/change_email/w@example.com")
    assert failure(answer) == "DATABASE_UNAVAILABLE"
    api = broken.healthy()
    ok(api.post("/api/user/u@example.com", {"password": PW}))  # the old name, taken again
    assert api.get("/api/throttle/u@example.com/outbound").json["_data"] == {}
    assert api.get("/api/throttle/w@example.com/outbound").json["_data"]["max_msgs"] == 5


def test_the_next_cross_database_write_finishes_an_old_interruption(broken):
    assert failure(broken.delete("/api/domain/example.com")) == "DATABASE_UNAVAILABLE"
    api = broken.healthy()
    PendingCascade.update(created=datetime.datetime(2026, 1, 1)).execute()
    db.release_connections()
    ok(api.post("/api/domain/other.com"))
    ok(api.post("/api/user/x@other.com", {"password": PW}))
    ok(api.delete("/api/user/x@other.com"))  # an unrelated delete finishes the old entry
    assert throttle_accounts() == [] and journal() == []


def test_a_main_step_that_is_refused_leaves_no_journal_entry(server):
    assert failure(server.delete("/api/domain/nowhere.com")) == "NO_SUCH_DOMAIN"
    assert failure(server.delete("/api/user/ghost@example.com")) == "NO_SUCH_ACCOUNT"
    answer = server.post("/api/user/u@example.com/change_email/u@other.org")
    assert failure(answer) == "DOMAIN_NAME_MISMATCH"
    assert journal() == [] and throttle_accounts() == ["@example.com", "u@example.com"]


def test_an_entry_whose_main_step_never_committed_changes_nothing(server):
    """A request that died before vmail committed: the account still exists, so its rows stay;
    the entry is dropped once abandoned."""
    PendingCascade.insert(
        operation="delete_user", account="u@example.com", new_account="",
        created=datetime.datetime(2026, 1, 1),
    ).execute()  # fmt: skip
    db.release_connections()
    ok(server.post("/api/domain/other.com"))
    ok(server.post("/api/user/x@other.com", {"password": PW}))
    ok(server.delete("/api/user/x@other.com"))
    assert throttle_accounts() == ["@example.com", "u@example.com"] and journal() == []


@pytest.mark.server_db
def test_iredapd_does_not_apply_an_old_domains_throttle_to_the_new_one(server, make_api, iredapd):
    """The real iRedAPD: the old domain's message-size limit (1,000 bytes) is gone."""
    ok(server.post("/api/throttle/example.com/outbound", {"msg_size": "1000"}))
    assert iredapd.end_of_message("u@example.com", size=2000).startswith("REJECT")
    broken = login(make_api(iredapd_db_url=UNREACHABLE))
    assert failure(broken.delete("/api/domain/example.com")) == "DATABASE_UNAVAILABLE"
    api = login(make_api())
    ok(api.post("/api/domain/example.com"))
    ok(api.post("/api/user/u@example.com", {"password": PW}))
    assert iredapd.end_of_message("u@example.com", size=2000) == "DUNNO"
