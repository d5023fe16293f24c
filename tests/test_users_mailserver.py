"""Users as Dovecot and Postfix see them, after API calls only (MariaDB)."""

from __future__ import annotations

import subprocess

import pytest

from tests.test_users import PW, create, mailbox, put

pytestmark = pytest.mark.server_db


@pytest.fixture
def domain(admin_api):
    assert admin_api.post("/api/domain/example.com").json["_success"]
    return "example.com"


@pytest.mark.parametrize("scheme", ["SSHA512", "BCRYPT", "SHA512-CRYPT", "SSHA"])
def test_dovecot_logs_in_a_user_of_each_scheme(make_api, global_admin, dovecot, scheme):
    from tests.conftest import login

    client = login(make_api(default_password_scheme=scheme))
    client.post("/api/domain/example.com")
    assert create(client) == {"_success": True}
    assert dovecot.auth("u@example.com", PW)
    assert not dovecot.auth("u@example.com", PW + "x")


@pytest.mark.parametrize("scheme", ["SHA512-CRYPT", "SSHA512", "BLF-CRYPT"])
def test_dovecot_accepts_a_hash_made_by_doveadm(admin_api, domain, dovecot, scheme):
    made = subprocess.run(["doveadm", "pw", "-s", scheme, "-p", "Hash-Passw0rd"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    assert create(admin_api, password=None, password_hash=made) == {"_success": True}
    assert dovecot.auth("u@example.com", "Hash-Passw0rd")
    assert admin_api.post("/api/verify_password/user/u@example.com",
                          {"password": "Hash-Passw0rd"}).json == {"_success": True}  # fmt: skip


def test_status_services_and_password_changes(admin_api, domain, dovecot):
    create(admin_api)
    assert dovecot.auth("u@example.com", PW, "imap") and dovecot.auth("u@example.com", PW, "pop3")
    put(admin_api, "u@example.com", {"removeService": "imap"})
    assert not dovecot.auth("u@example.com", PW, "imap")
    assert dovecot.auth("u@example.com", PW, "pop3")
    put(admin_api, "u@example.com", {"addService": "imap"})
    assert dovecot.auth("u@example.com", PW, "imap")
    put(admin_api, "u@example.com", {"accountStatus": "disabled"})
    assert not dovecot.auth("u@example.com", PW, "pop3")
    put(admin_api, "u@example.com", {"accountStatus": "active", "password": "Chang3d-Passw0rd"})
    assert dovecot.auth("u@example.com", "Chang3d-Passw0rd")
    assert not dovecot.auth("u@example.com", PW)
    admin_api.put("/api/users/example.com", {"password": "Bulk-Passw0rd1"})
    assert dovecot.auth("u@example.com", "Bulk-Passw0rd1")
    admin_api.put("/api/domain/example.com", {"accountStatus": "disabled"})
    assert not dovecot.auth("u@example.com", "Bulk-Passw0rd1")


def test_dovecot_user_home_and_quota(admin_api, domain, dovecot):
    create(admin_api, "Ab@example.com", quota="250")
    fields = dovecot.user("ab@example.com")
    row = mailbox("ab@example.com")
    assert fields["home"] == f"/var/vmail/vmail1/{row['maildir']}".lower()
    assert fields["home"].startswith("/var/vmail/vmail1/example.com/a/b/_/ab-")
    assert fields["quota_rule"] == f"*:bytes={250 * 1048576}"
    put(admin_api, "ab@example.com", {"quota": "0"})
    assert dovecot.user("ab@example.com")["quota_rule"] == "*:bytes=0"


def test_postfix_routes_the_user(admin_api, domain, postfix):
    create(admin_api)
    create(admin_api, "v@example.com")
    row = mailbox()
    assert postfix.lookup("virtual_mailbox_maps", "u@example.com") == [
        f"vmail1/{row['maildir']}/Maildir/"
    ]
    assert postfix.resolve_alias("u@example.com") == ["u@example.com"]
    assert postfix.lookup("sender_login_maps", "u@example.com") == ["u@example.com"]
    put(admin_api, "u@example.com", {
        "forwarding": "u@example.com,x@elsewhere.org", "aliases": "info@example.com",
        "senderBcc": "out@archive.org", "recipientBcc": "in@archive.org",
        "outboundRelay": "smtp:[192.0.2.7]:25",
    })  # fmt: skip
    assert postfix.resolve_alias("u@example.com") == ["u@example.com", "x@elsewhere.org"]
    assert postfix.resolve_alias("info@example.com") == ["u@example.com"]
    assert postfix.lookup("sender_bcc_maps_user", "u@example.com") == ["out@archive.org"]
    assert postfix.lookup("recipient_bcc_maps_user", "u@example.com") == ["in@archive.org"]
    assert postfix.lookup("sender_dependent_relayhost_maps", "u@example.com") == [
        "smtp:[192.0.2.7]:25"
    ]
    put(admin_api, "u@example.com", {"removeService": "smtp"})
    assert postfix.lookup("sender_login_maps", "u@example.com") is None
    put(admin_api, "v@example.com", {"forwarding": "u@example.com"})
    assert admin_api.delete("/api/user/u@example.com").json == {"_success": True}
    for table in ("virtual_mailbox_maps", "sender_bcc_maps_user", "recipient_bcc_maps_user",
                  "sender_dependent_relayhost_maps", "sender_login_maps"):  # fmt: skip
        assert postfix.lookup(table, "u@example.com") is None, table
    assert postfix.resolve_alias("u@example.com") is None
    assert postfix.resolve_alias("info@example.com") is None
    assert postfix.resolve_alias("v@example.com") == ["v@example.com"]


def test_user_at_an_alias_domain_reaches_the_mailbox(admin_api, domain, postfix):
    create(admin_api)
    admin_api.put("/api/domain/example.com", {"aliasDomains": "example.net",
                                              "catchall": "u@example.com"})  # fmt: skip
    create(admin_api, "v@example.com")
    assert postfix.resolve_alias("v@example.net") == ["v@example.com"]
    assert postfix.resolve_alias("v@example.com") == ["v@example.com"]
    assert postfix.resolve_alias("nobody@example.com") == ["u@example.com"]
