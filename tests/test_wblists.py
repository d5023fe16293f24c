"""White/blacklists (CONTRACT §4.8, spec/amavisd.md §1.3) through the gateway: the rows in the
amavisd database on every backend (iRedAPD's answers: tests/test_antispam_iredapd.py)."""

from __future__ import annotations

import time

import pytest

from shared import db
from shared.models.amavisd import AmavisdUser, MailAddr, OutboundWblist, Wblist
from tests.conftest import login
from tests.helpers import (
    add_domain,
    add_domain_admin,
    add_mailbox,
    failure,
    ok,
    rows,
    run_together,
)

BASE = "/api/wblist"


def inbound_rows() -> set[tuple[str, str, str]]:
    query = (
        Wblist.select(AmavisdUser.email.alias("account"), MailAddr.email.alias("sender"), Wblist.wb)
        .join(AmavisdUser, on=Wblist.rid == AmavisdUser.id)
        .join(MailAddr, on=Wblist.sid == MailAddr.id, attr="m")
    )
    return {(_text(r["account"]), _text(r["sender"]), r["wb"]) for r in rows(query)}


def outbound_rows() -> set[tuple[str, str, str]]:
    query = (
        OutboundWblist.select(
            AmavisdUser.email.alias("account"), MailAddr.email.alias("rcpt"), OutboundWblist.wb
        )
        .join(AmavisdUser, on=OutboundWblist.sid == AmavisdUser.id)
        .join(MailAddr, on=OutboundWblist.rid == MailAddr.id, attr="m")
    )
    return {(_text(r["account"]), _text(r["rcpt"]), r["wb"]) for r in rows(query)}


def _text(value) -> str:
    return bytes(value).decode() if isinstance(value, bytes | memoryview) else value


@pytest.mark.parametrize(
    ("path", "account"),
    [("global", "@."), ("example.com", "@example.com"), ("u@example.com", "u@example.com"),
     ("U%40Example.COM", "u@example.com")],
)  # fmt: skip
def test_add_list_remove_inbound(accounts, path, account):
    api = accounts
    url = f"{BASE}/inbound/blacklist/{path}"
    assert api.get(url).json == {"_success": True, "_data": []}
    ok(api.post(url, {"addresses": "Spam@Bad.test, 192.0.2.7,@bad.test"}))
    assert api.get(url + "/").json["_data"] == ["192.0.2.7", "@bad.test", "spam@bad.test"]
    stored = ("spam@bad.test", "192.0.2.7", "@bad.test")
    assert inbound_rows() == {(account, address, "B") for address in stored}
    ok(api.put(url, {"addresses": "spam@bad.test,never@listed.test"}))
    assert api.get(url).json["_data"] == ["192.0.2.7", "@bad.test"]
    ok(api.delete(url))
    assert api.get(url).json["_data"] == []
    assert inbound_rows() == set()


def test_each_form_is_normalised_with_its_priority(accounts):
    api = accounts
    entries = {
        "USER@Example.ORG": ("user@example.org", 10),
        "2001:DB8:0:0::1": ("2001:db8::1", 9),
        "192.168.1.5/24": ("192.168.1.0/24", 7),  # iRedAPD ignores a network with host bits
        "2001:db8::7/64": ("2001:db8::/64", 7),
        "198.51.100.9/32": ("198.51.100.9", 9),  # a full prefix is an address
        "@Example.net": ("@example.net", 5),
        "@.example.net": ("@.example.net", 3),
        "@.com": ("@.com", 2),
        "@.": ("@.", 0),
    }
    ok(api.post(f"{BASE}/inbound/whitelist/u@example.com", {"addresses": ",".join(entries)}))
    stored = {_text(r["email"]): r["priority"] for r in rows(MailAddr.select().dicts())}
    assert stored == dict(entries.values())
    user = rows(AmavisdUser.select().where(AmavisdUser.email == "u@example.com"))
    assert [(u["priority"], u["policy_id"]) for u in user] == [(10, 0)]


@pytest.mark.parametrize(
    "entry",
    ["192.0.2.*", "192.0.2", "not an address", "@", "@@x.org", "a@b", "@.-x", "1.2.3.4/33",
     "x" * 250 + "@example.org", "fe80::1%eth0", "\x00", "١.٢.٣.٤", "user@*", "@.ex ample.com"],
)  # fmt: skip
def test_an_invalid_entry_fails_the_whole_request(accounts, entry):
    api = accounts
    response = api.post(f"{BASE}/inbound/blacklist/global", {"addresses": f"ok@fine.test,{entry}"})
    assert failure(response) == "INVALID_PARAM"
    assert entry[:40] in response.json["_detail"]
    assert api.get(f"{BASE}/inbound/blacklist/global").json["_data"] == []


def test_adding_to_one_list_moves_off_the_other(accounts):
    api = accounts
    url = f"{BASE}/outbound/{{}}/u@example.com"
    ok(api.post(url.format("blacklist"), {"addresses": "rcpt@ext.test,other@ext.test"}))
    ok(api.post(url.format("whitelist"), {"addresses": "rcpt@ext.test"}))
    assert outbound_rows() == {
        ("u@example.com", "rcpt@ext.test", "W"),
        ("u@example.com", "other@ext.test", "B"),
    }
    # Removing from the blacklist leaves the whitelist alone; adding again is a no-op.
    ok(api.put(url.format("blacklist"), {"addresses": "rcpt@ext.test"}))
    ok(api.post(url.format("whitelist"), {"addresses": "rcpt@ext.test"}))
    assert api.get(url.format("whitelist")).json["_data"] == ["rcpt@ext.test"]
    assert api.get(url.format("blacklist")).json["_data"] == ["other@ext.test"]
    # Inbound and outbound are separate lists.
    assert api.get(f"{BASE}/inbound/whitelist/u@example.com").json["_data"] == []


def test_parameters_and_paths(accounts):
    api = accounts
    assert failure(api.post(f"{BASE}/inbound/blacklist/global")) == "MISSING_PARAM"
    ok(api.post(f"{BASE}/inbound/blacklist/global", {"addresses": ""}))  # empty: nothing to do
    ok(api.post(f"{BASE}/inbound/blacklist/global?addresses=q@query.test"))  # query string
    ok(api.post_json(f"{BASE}/inbound/blacklist/global", {"addresses": ["j@json.test"]}))
    assert api.get(f"{BASE}/inbound/blacklist/global").json["_data"] == [
        "j@json.test", "q@query.test",
    ]  # fmt: skip
    assert failure(api.get(f"{BASE}/sideways/blacklist/global")) == "NOT_FOUND"
    assert failure(api.get(f"{BASE}/inbound/greylist/global")) == "NOT_FOUND"
    assert failure(api.get(f"{BASE}/inbound/blacklist/nowhere.org")) == "NO_SUCH_DOMAIN"
    assert failure(api.get(f"{BASE}/inbound/blacklist/x@example.com")) == "NO_SUCH_ACCOUNT"
    assert failure(api.get(f"{BASE}/inbound/blacklist/not_a_domain")) == "INVALID_DOMAIN_NAME"
    assert failure(api.get(f"{BASE}/inbound/blacklist/a b@example.com")) == "INVALID_MAIL"


def test_nothing_without_login(api):
    add_domain("example.com")
    assert failure(api.get(f"{BASE}/inbound/blacklist/global")) == "LOGIN_REQUIRED"
    assert failure(api.get(f"{BASE}/inbound/nolist/global")) == "NOT_FOUND"


def test_domain_admins(api):
    add_domain("mine.org")
    add_domain("theirs.org")
    add_mailbox("boss@mine.org", password="B0ss-Passw0rd", isadmin=1)
    add_mailbox("u@theirs.org")
    add_domain_admin("boss@mine.org", "mine.org")
    login(api, "boss@mine.org", "B0ss-Passw0rd")
    for path in ("mine.org", "boss@mine.org"):
        ok(api.post(f"{BASE}/inbound/blacklist/{path}", {"addresses": "x@bad.test"}))
    # Another tenant's accounts, existing or not, and global: refused before any lookup.
    for path in ("theirs.org", "u@theirs.org", "nobody@theirs.org", "nowhere.org", "global"):
        for method in ("get", "delete"):
            assert failure(getattr(api, method)(f"{BASE}/inbound/blacklist/{path}")) == (
                "PERMISSION_DENIED"
            )
        response = api.post(f"{BASE}/inbound/blacklist/{path}", {"addresses": "x@bad.test"})
        assert failure(response) == "PERMISSION_DENIED"


def test_five_thousand_addresses_in_one_post(accounts):
    api = accounts
    addresses = [f"sender{n:05d}@bulk{n % 50}.test" for n in range(5000)]
    url = f"{BASE}/inbound/blacklist/u@example.com"
    started = time.perf_counter()
    ok(api.post(url, {"addresses": ",".join(addresses)}))
    elapsed = time.perf_counter() - started
    print(f"\nPOST of 5,000 addresses: {elapsed * 1000:.0f} ms")
    assert len(api.get(url).json["_data"]) == 5000
    ok(api.post(f"{BASE}/inbound/whitelist/u@example.com", {"addresses": ",".join(addresses)}))
    assert api.get(url).json["_data"] == []
    assert len(inbound_rows()) == 5000


def test_concurrent_posts_of_one_address_to_many_accounts(make_api, accounts):
    """Many users blacklisting the same sender at once (found by bench/antispam_bench.py on
    MariaDB: INSERT IGNORE of one new mailaddr row in racing transactions deadlocked, and the
    driver's error was not mapped, so the loser answered INTERNAL_ERROR). The pools are as wide
    as the threads, as gunicorn.conf.py requires of a real process."""
    accounts = login(make_api(db_pool_size=12))
    for n in range(12):
        add_mailbox(f"r{n}@example.com")
    answers = []

    def post(n):
        path = f"{BASE}/inbound/blacklist/r{n}@example.com"
        return lambda: answers.append(
            accounts.post(path, {"addresses": f"x@bad.test,@bad.test,s{n % 3}@bad.test"}).json
        )

    for _ in range(3):  # a few rounds: each one races on new and on existing mailaddr rows
        answers.clear()
        run_together(*(post(n) for n in range(12)), timeout=60)
        assert answers == [{"_success": True}] * 12, answers
        Wblist.delete().execute()
        MailAddr.delete().execute()
        db.release_connections()
    assert accounts.get(f"{BASE}/inbound/blacklist/r0@example.com").json["_success"]
