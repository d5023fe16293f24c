"""Throttle settings (CONTRACT.md §4.5) through the gateway, and iRedAPD's reading of them."""

from __future__ import annotations

import pytest

from shared.models.iredapd import Throttle, ThrottleTracking
from tests.conftest import login
from tests.helpers import (
    add_domain,
    add_domain_admin,
    add_mailbox,
    failure,
    rows,
    run_together,
)

FIELDS = ("period", "msg_size", "max_msgs", "max_quota", "max_rcpts", "account", "kind",
          "priority")  # fmt: skip


def throttles() -> list[dict]:
    query = Throttle.select(*(getattr(Throttle, f) for f in FIELDS)).order_by(
        Throttle.account, Throttle.kind
    )
    return rows(query)


@pytest.mark.parametrize(
    ("path", "account", "priority"),
    [("global", "@.", 0), ("example.com", "@example.com", 60),
     ("u@example.com", "u@example.com", 100), ("U%40Example.com", "u@example.com", 100)],
)  # fmt: skip
def test_create_read_update_delete(accounts, path, account, priority):
    api = accounts
    url = f"/api/throttle/{path}/outbound"
    assert api.get(url).json == {"_success": True, "_data": {}}
    assert api.post(url, {"period": "3600", "max_msgs": "100"}).json == {"_success": True}
    expected = {
        "period": 3600,
        "msg_size": -1,
        "max_msgs": 100,
        "max_quota": -1,
        "max_rcpts": -1,
        "account": account,
        "kind": "outbound",
        "priority": priority,
    }
    assert throttles() == [expected]
    assert api.get(url).json == {"_success": True, "_data": expected}
    # A repeated POST updates the one row; values left out keep what is stored.
    api.post(url + "/", {"msg_size": "10485760", "max_rcpts": "0"})
    expected.update(msg_size=10485760, max_rcpts=0)
    assert throttles() == [expected]
    assert api.delete(url).json == {"_success": True}
    assert throttles() == []


def test_inbound_and_outbound_are_separate_rows(accounts):
    accounts.post("/api/throttle/example.com/inbound", {"period": "60", "max_msgs": "5"})
    accounts.post("/api/throttle/example.com/outbound", {"period": "60", "max_msgs": "7"})
    assert [(t["kind"], t["max_msgs"]) for t in throttles()] == [("inbound", 5), ("outbound", 7)]


def test_query_string_parameters(accounts):
    assert accounts.post("/api/throttle/global/inbound?period=60&max_quota=1000").json == {
        "_success": True
    }
    assert throttles()[0]["max_quota"] == 1000


def test_delete_removes_tracking_rows_first(accounts):
    accounts.post("/api/throttle/u@example.com/outbound", {"period": "60"})
    ThrottleTracking.insert(tid=Throttle.get().id, account="u@example.com", cur_msgs=3).execute()
    accounts.delete("/api/throttle/u@example.com/outbound")
    assert rows(ThrottleTracking.select()) == [] and throttles() == []


def test_deleting_a_user_or_domain_removes_its_throttles(accounts):
    api = accounts
    api.post("/api/throttle/u@example.com/outbound", {"period": "60"})
    api.post("/api/throttle/example.com/inbound", {"period": "60"})
    api.post("/api/throttle/global/outbound", {"period": "60"})
    api.delete("/api/user/u@example.com")
    assert [t["account"] for t in throttles()] == ["@.", "@example.com"]
    api.delete("/api/domain/example.com")
    assert [t["account"] for t in throttles()] == ["@."]


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("example.com/outbound", {}, "MISSING_PARAM"),
        ("example.com/outbound", {"max_msgs": "5"}, "MISSING_PARAM"),
        ("example.com/outbound", {"period": "0"}, "INVALID_NUMBER"),
        ("example.com/outbound", {"period": "-1"}, "INVALID_NUMBER"),
        ("example.com/outbound", {"period": "soon"}, "INVALID_NUMBER"),
        ("example.com/outbound", {"period": "4294967296"}, "INVALID_NUMBER"),
        ("example.com/outbound", {"period": "60", "max_msgs": "-2"}, "INVALID_NUMBER"),
        ("example.com/outbound", {"period": "60", "msg_size": "1.5"}, "INVALID_NUMBER"),
        ("example.com/outbound", {"period": "60", "max_quota": str(2**63)}, "INVALID_NUMBER"),
        ("example.com/sideways", {"period": "60"}, "NOT_FOUND"),
        ("bad_domain/outbound", {"period": "60"}, "INVALID_DOMAIN_NAME"),
        ("a+b@example.com/outbound", {"period": "60"}, "INVALID_MAIL"),
        ("nowhere.org/outbound", {"period": "60"}, "NO_SUCH_DOMAIN"),
        ("ghost@example.com/outbound", {"period": "60"}, "NO_SUCH_ACCOUNT"),
    ],
)
def test_bad_input(accounts, path, params, code):
    assert failure(accounts.post(f"/api/throttle/{path}", params)) == code
    assert throttles() == []


def test_unknown_direction_on_get(accounts):
    assert failure(accounts.get("/api/throttle/global/sideways")) == "NOT_FOUND"


def test_domain_admins(api):
    add_domain("mine.org")
    add_domain("theirs.org")
    add_mailbox("boss@mine.org", password="B0ss-Passw0rd", isadmin=1)
    add_mailbox("u@theirs.org")
    add_domain_admin("boss@mine.org", "mine.org")
    login(api, "boss@mine.org", "B0ss-Passw0rd")
    assert api.post("/api/throttle/mine.org/outbound", {"period": "60"}).json["_success"]
    assert api.post("/api/throttle/boss@mine.org/outbound", {"period": "60"}).json["_success"]
    for path in ("theirs.org", "u@theirs.org", "global"):
        assert failure(api.post(f"/api/throttle/{path}/outbound", {"period": "60"})) == (
            "PERMISSION_DENIED"
        )
        assert failure(api.get(f"/api/throttle/{path}/outbound")) == "PERMISSION_DENIED"


# -- iRedAPD's reading ---------------------------------------------------------------------------
def effective_limits(account_rows: list[dict]) -> dict[str, int | None]:
    """iRedAPD's resolution: highest priority first, -1 falls through, 0 stops (no limit), rows
    with period 0 are ignored. None: no limit at all."""
    limits = {}
    ordered = sorted((r for r in account_rows if r["period"] > 0),
                     key=lambda r: r["priority"], reverse=True)  # fmt: skip
    for name in ("msg_size", "max_msgs", "max_quota", "max_rcpts"):
        limits[name] = None
        for row in ordered:
            if row[name] == -1:
                continue
            limits[name] = row[name] or None
            break
    return limits


def test_effective_limits_as_iredapd_resolves_them(accounts):
    api = accounts
    api.post("/api/throttle/global/outbound", {"period": "86400", "msg_size": "1000",
                                               "max_msgs": "500", "max_quota": "9000",
                                               "max_rcpts": "50"})  # fmt: skip
    api.post("/api/throttle/example.com/outbound", {"period": "3600", "max_msgs": "100",
                                                    "max_quota": "0"})  # fmt: skip
    api.post("/api/throttle/u@example.com/outbound", {"period": "60", "msg_size": "2000"})
    answers = [api.get(f"/api/throttle/{p}/outbound").json["_data"]
               for p in ("u@example.com", "example.com", "global")]  # fmt: skip
    assert answers == sorted(throttles(), key=lambda r: -r["priority"])
    limits = effective_limits(answers)
    assert limits == {"msg_size": 2000, "max_msgs": 100, "max_quota": None, "max_rcpts": 50}
    # A user row with period 0 is ignored: the domain and global rows decide.
    Throttle.update(period=0).where(Throttle.account == "u@example.com").execute()
    answers = [api.get(f"/api/throttle/{p}/outbound").json["_data"]
               for p in ("u@example.com", "example.com", "global")]  # fmt: skip
    assert effective_limits(answers)["msg_size"] == 1000


def test_a_first_post_waits_for_another_first_post_of_the_same_setting(config):
    """iRedAPD's PostgreSQL schema has no unique (account, kind) key: a first write of a setting
    locks the key (db.lock_key), so a second one that starts meanwhile updates the row the first
    made instead of adding another. (MySQL and SQLite: the unique key or the write lock.)"""
    import threading
    import time

    from shared import db
    from shared.rules import throttles as rules

    locked, errors = threading.Event(), []

    def holder():
        with db.iredapd_db.atomic():
            db.lock_key(db.iredapd_db, "throttle", "@.", "outbound")
            locked.set()
            time.sleep(0.5)
            # A first writer that found no row: it inserts (MySQL: ignored when the contender,
            # not held back there, was first; the unique key keeps one row).
            Throttle.insert(account="@.", kind="outbound", period=60).on_conflict_ignore().execute()
        db.release_connections()

    def contender():
        locked.wait()
        try:
            rules.set_throttle("@.", "outbound", 0, {"period": 60, "max_msgs": 5})
        except Exception as exc:  # noqa: BLE001  (reported by the assertion below)
            errors.append(exc)
        finally:
            db.release_connections()

    run_together(holder, contender)
    assert errors == []
    assert [(r["account"], r["max_msgs"]) for r in throttles()] == [("@.", 5)]
