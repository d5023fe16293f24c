"""Spam policies (CONTRACT §4.8, spec/amavisd.md §1.2, §2.3) through the gateway: the `policy`
and `users` rows on every backend, and what Amavisd's lookup makes of them (its rules, spec
§2.4: per field, the most specific account whose policy sets it wins, then amavisd.conf)."""

from __future__ import annotations

import pytest

from shared.models.amavisd import AmavisdUser, Policy, Wblist
from shared.schema_amavisd import DEFAULT_GLOBAL_POLICY
from tests.conftest import login
from tests.helpers import (
    add_domain,
    add_domain_admin,
    add_mailbox,
    failure,
    ok,
    rows,
)

BASE = "/api/spampolicy"
SETTINGS = ("bypass_spam_checks", "bypass_virus_checks", "bypass_banned_checks",
            "bypass_header_checks", "quarantine_spam", "quarantine_virus", "quarantine_banned",
            "quarantine_bad_header", "prefix_spam_in_subject", "always_insert_x_spam_headers",
            "spam_score", "banned_rulenames", "message_size_limit")  # fmt: skip
# amavisd.conf as iRedMail writes it (what a NULL column falls through to).
AMAVISD_CONF = {
    "spam_lover": "N", "virus_lover": "N", "banned_files_lover": "N", "bad_header_lover": "N",
    "spam_quarantine_to": "spam-quarantine", "spam_subject_tag2": None,
    "spam_tag_level": 2.0, "spam_tag2_level": 6.2, "spam_kill_level": 6.9,
}  # fmt: skip


def policy_of(account: str) -> dict:
    (row,) = rows(Policy.select().where(Policy.policy_name == account))
    return row


def effective(address: str) -> dict:
    """Amavisd's SQL lookup for a recipient: the users rows of its keys (`u@d`, `@d`, `@.d`…,
    `@.`) joined with their policies, by priority; each field from the first row setting it."""
    domain = address.split("@")[1]
    keys = [address, "@" + domain, "@." + domain, "@." + domain.split(".")[-1], "@."]
    users = rows(AmavisdUser.select().where(AmavisdUser.email.in_(keys)))
    users.sort(key=lambda u: u["priority"], reverse=True)
    policies = [rows(Policy.select().where(Policy.id == u["policy_id"])) for u in users]
    result = {}
    for name, fallback in AMAVISD_CONF.items():
        values = [p[0][name] for p in policies if p and p[0][name] is not None]
        result[name] = values[0] if values else fallback
    return result


def test_the_global_policy_of_a_new_server(accounts):
    data = accounts.get(f"{BASE}/global").json["_data"]
    assert data["account"] == "@." and data["priority"] == 0
    assert {k: data[k] for k in SETTINGS} == {
        "bypass_spam_checks": "no", "bypass_virus_checks": "no", "bypass_banned_checks": "no",
        "bypass_header_checks": "no", "quarantine_spam": "no", "quarantine_virus": "yes",
        "quarantine_banned": "yes", "quarantine_bad_header": "no",
        "prefix_spam_in_subject": None, "always_insert_x_spam_headers": "no",
        "spam_score": None, "banned_rulenames": [], "message_size_limit": None,
    }  # fmt: skip
    assert {k: policy_of("@.")[k] for k in DEFAULT_GLOBAL_POLICY} == DEFAULT_GLOBAL_POLICY


@pytest.mark.parametrize(
    ("path", "account", "priority"),
    [("domain/example.com", "@example.com", 5), ("user/u@example.com", "u@example.com", 10),
     ("user/U@EXAMPLE.com", "u@example.com", 10)],
)  # fmt: skip
def test_create_read_update_delete(accounts, path, account, priority):
    api = accounts
    url = f"{BASE}/{path}"
    assert api.get(url).json == {"_success": True, "_data": {}}
    ok(api.put(url, {"quarantine_spam": "yes", "spam_score": "4.5"}))
    row = policy_of(account)
    assert row["spam_lover"] == "N" and row["spam_quarantine_to"] == "spam-quarantine"
    assert row["spam_tag2_level"] == row["spam_kill_level"] == 4.5
    # The vendor's defaults for what the first PUT left out.
    assert (row["virus_lover"], row["virus_quarantine_to"]) == ("N", "virus-quarantine")
    assert (row["banned_files_lover"], row["banned_quarantine_to"]) == ("Y", "")
    assert row["bypass_spam_checks"] == "N" and row["spam_subject_tag2"] == ""
    assert row["spam_tag_level"] is None and row["banned_rulenames"] is None
    (user,) = rows(AmavisdUser.select().where(AmavisdUser.email == account))
    assert (user["priority"], user["policy_id"]) == (priority, row["id"])
    data = api.get(url).json["_data"]
    assert data["quarantine_spam"] == "yes" and data["spam_score"] == 4.5
    assert data["account"] == account and data["priority"] == priority
    # A PUT keeps what it leaves out (the PHP client sends one parameter at a time).
    ok(api.put(url, {"prefix_spam_in_subject": "yes"}))
    data = api.get(url).json["_data"]
    assert data["prefix_spam_in_subject"] == "yes" and data["quarantine_spam"] == "yes"
    assert data["spam_score"] == 4.5
    assert policy_of(account)["spam_subject_tag2"] == "[SPAM] "
    ok(api.delete(url))
    assert api.get(url).json == {"_success": True, "_data": {}}
    assert rows(Policy.select().where(Policy.policy_name == account)) == []
    assert rows(AmavisdUser.select().where(AmavisdUser.email == account)) == []
    ok(api.delete(url))  # idempotent


def test_bypass_and_quarantine_pairs(accounts):
    api = accounts
    url = f"{BASE}/user/u@example.com"
    ok(api.put(url, {"quarantine_spam": "yes", "bypass_spam_checks": "yes"}))
    row = policy_of("u@example.com")
    # Bypassing wins for the lover flag (a bypassing recipient still gets the message).
    assert (row["bypass_spam_checks"], row["spam_lover"]) == ("Y", "Y")
    assert row["spam_quarantine_to"] == "spam-quarantine"
    assert api.get(url).json["_data"]["quarantine_spam"] == "yes"
    ok(api.put(url, {"bypass_spam_checks": "no"}))  # the pair is recomputed
    assert policy_of("u@example.com")["spam_lover"] == "N"
    ok(api.put(url, {"quarantine_virus": "no", "quarantine_bad_header": "yes"}))
    row = policy_of("u@example.com")
    assert (row["virus_lover"], row["virus_quarantine_to"]) == ("Y", "")
    assert (row["bad_header_lover"], row["bad_header_quarantine_to"]) == (
        "N", "bad-header-quarantine",
    )  # fmt: skip


def test_what_amavisd_makes_of_the_levels(accounts):
    """User beats domain beats global beats amavisd.conf, field by field."""
    api = accounts
    assert effective("u@example.com")["spam_lover"] == "Y"  # iRedMail's global policy
    assert effective("u@example.com")["spam_tag2_level"] == 6.2  # amavisd.conf
    ok(api.put(f"{BASE}/global", {"spam_score": "8", "always_insert_x_spam_headers": "yes"}))
    ok(api.put(f"{BASE}/domain/example.com", {"quarantine_spam": "yes", "spam_score": "5"}))
    result = effective("u@example.com")
    assert (result["spam_lover"], result["spam_quarantine_to"]) == ("N", "spam-quarantine")
    assert result["spam_tag2_level"] == 5
    # The domain's new policy has "no" for the headers: NULL, so the global -999 counts.
    assert result["spam_tag_level"] == -999
    ok(api.put(f"{BASE}/user/u@example.com", {"quarantine_spam": "no", "spam_score": ""}))
    result = effective("u@example.com")
    # "no" is written as 'Y'/'' (never NULL, which would fall through to amavisd.conf's
    # spam-quarantine); an empty score is NULL: the domain's 5 counts.
    assert (result["spam_lover"], result["spam_quarantine_to"]) == ("Y", "")
    assert result["spam_tag2_level"] == 5
    ok(api.delete(f"{BASE}/user/u@example.com"))
    assert effective("u@example.com")["spam_lover"] == "N"
    ok(api.delete(f"{BASE}/global"))  # the @. row stays for the global lists
    assert effective("u@example.com")["spam_tag_level"] == 2.0  # amavisd.conf again
    anchor = rows(AmavisdUser.select().where(AmavisdUser.email == "@."))
    assert [u["policy_id"] for u in anchor] == [0]


def test_values_and_errors(accounts):
    api = accounts
    url = f"{BASE}/user/u@example.com"
    ok(api.put(url, {"banned_rulenames": "ALLOW_MS_WORD,ALLOW_MS_EXCEL",
                     "message_size_limit": "10485760"}))  # fmt: skip
    data = api.get(url).json["_data"]
    assert data["banned_rulenames"] == ["ALLOW_MS_WORD", "ALLOW_MS_EXCEL"]
    assert data["message_size_limit"] == 10485760
    assert policy_of("u@example.com")["banned_rulenames"] == "ALLOW_MS_WORD,ALLOW_MS_EXCEL"
    for params, code in [
        ({"quarantine_spam": "maybe"}, "INVALID_PARAM"),
        ({"spam_score": "lots"}, "INVALID_NUMBER"),
        ({"spam_score": "1000"}, "INVALID_NUMBER"),
        ({"spam_score": "nan"}, "INVALID_NUMBER"),
        ({"banned_rulenames": "ALLOW_EVERYTHING"}, "INVALID_PARAM"),
        ({"message_size_limit": "-1"}, "INVALID_NUMBER"),
    ]:
        assert failure(api.put(url, params)) == code, params
    ok(api.put(url, {"banned_rulenames": "", "message_size_limit": ""}))
    row = policy_of("u@example.com")
    assert row["banned_rulenames"] is None and row["message_size_limit"] is None
    assert failure(api.get(f"{BASE}/domain/nowhere.org")) == "NO_SUCH_DOMAIN"
    assert failure(api.get(f"{BASE}/user/x@example.com")) == "NO_SUCH_ACCOUNT"
    assert failure(api.get(f"{BASE}/user/example.com")) == "INVALID_MAIL"
    assert failure(api.get(f"{BASE}/domain/u@example.com")) == "INVALID_DOMAIN_NAME"
    assert failure(api.post(f"{BASE}/global")) == "METHOD_NOT_ALLOWED"


def test_site_ban_rules(make_api, global_admin):
    api = login(make_api(amavisd_ban_rules=("ALLOW_ZIP",)))
    add_domain("example.com")
    ok(api.put(f"{BASE}/domain/example.com", {"banned_rulenames": "ALLOW_ZIP,ALLOW_MS_PPT"}))
    assert policy_of("@example.com")["banned_rulenames"] == "ALLOW_ZIP,ALLOW_MS_PPT"


def test_a_policy_linked_by_default_is_not_edited(accounts):
    """`users.policy_id` defaults to 1 in iRedMail's schema: a row another tool made without
    it points at the global policy, which a user's PUT must leave alone."""
    AmavisdUser.insert(email="u@example.com", priority=10,
                       policy_id=policy_of("@.")["id"]).execute()  # fmt: skip
    ok(accounts.put(f"{BASE}/user/u@example.com", {"quarantine_spam": "yes"}))
    assert policy_of("@.")["spam_lover"] == "Y"
    assert policy_of("u@example.com")["spam_lover"] == "N"


def test_delete_keeps_the_row_of_an_account_with_lists(accounts):
    api = accounts
    ok(api.put(f"{BASE}/user/u@example.com", {"quarantine_spam": "yes"}))
    ok(api.post("/api/wblist/inbound/blacklist/u@example.com", {"addresses": "x@bad.test"}))
    ok(api.delete(f"{BASE}/user/u@example.com"))
    (user,) = rows(AmavisdUser.select().where(AmavisdUser.email == "u@example.com"))
    assert user["policy_id"] == 0
    assert len(rows(Wblist.select())) == 1


def test_the_php_clients_calls(accounts):
    """Bezlaj/PHPiRedAdminProAPI: get_*_spampolicy is a GET, set_*_spampolicy a PUT of one
    form parameter."""
    api = accounts
    for path in ("global", "domain/example.com", "user/u@example.com"):
        ok(api.put(f"{BASE}/{path}", "quarantine_banned=no",
                   content_type="application/x-www-form-urlencoded"))  # fmt: skip
        assert api.get(f"{BASE}/{path}").json["_data"]["quarantine_banned"] == "no"


def test_domain_admins(api):
    add_domain("mine.org")
    add_domain("theirs.org")
    add_mailbox("boss@mine.org", password="B0ss-Passw0rd", isadmin=1)
    add_domain_admin("boss@mine.org", "mine.org")
    login(api, "boss@mine.org", "B0ss-Passw0rd")
    ok(api.put(f"{BASE}/domain/mine.org", {"quarantine_spam": "yes"}))
    ok(api.put(f"{BASE}/user/boss@mine.org", {"quarantine_spam": "no"}))
    for path in ("global", "domain/theirs.org", "user/u@theirs.org", "domain/nowhere.org"):
        assert failure(api.get(f"{BASE}/{path}")) == "PERMISSION_DENIED"
        assert failure(api.put(f"{BASE}/{path}", {"quarantine_spam": "no"})) == (
            "PERMISSION_DENIED"
        )
