"""What Postfix itself answers (`postmap -q` on mysql: maps) after domain API calls."""

from __future__ import annotations

import pytest

from tests.helpers import add_user_rows

pytestmark = pytest.mark.server_db


@pytest.fixture
def domain(admin_api):
    assert admin_api.post("/api/domain/example.com").json == {"_success": True}
    return "example.com"


def put(client, path, params):
    assert client.put(path, params).json == {"_success": True}


def test_created_domain_is_a_mailbox_domain_and_a_disabled_one_is_not(admin_api, postfix):
    assert postfix.lookup("virtual_mailbox_domains", "example.com") is None
    admin_api.post("/api/domain/example.com")
    assert postfix.lookup("virtual_mailbox_domains", "example.com") == ["example.com"]
    assert postfix.lookup("transport_maps_domain", "example.com") == ["dovecot"]
    put(admin_api, "/api/domain/example.com", {"accountStatus": "disabled"})
    assert postfix.lookup("virtual_mailbox_domains", "example.com") is None
    put(admin_api, "/api/domain/example.com", {"accountStatus": "active"})
    assert postfix.lookup("virtual_mailbox_domains", "example.com") == ["example.com"]


def test_alias_domain_resolves_to_the_target(admin_api, domain, postfix):
    add_user_rows("x@example.com")
    put(admin_api, "/api/domain/example.com", {"aliasDomains": "example.net"})
    assert postfix.resolve_alias("x@example.net") == ["x@example.com"]
    assert postfix.resolve_alias("nobody@example.net") is None
    put(admin_api, "/api/domain/example.com", {"removeAliasDomain": "example.net"})
    assert postfix.resolve_alias("x@example.net") is None


def test_catchall_catches_unknown_addresses_only(admin_api, domain, postfix):
    add_user_rows("x@example.com")
    put(admin_api, "/api/domain/example.com", {"catchall": "x@example.com,y@elsewhere.org"})
    assert postfix.resolve_alias("unknown@example.com") == ["x@example.com", "y@elsewhere.org"]
    assert postfix.resolve_alias("x@example.com") == ["x@example.com"]
    assert postfix.resolve_alias("unknown+tag@example.com") is None
    put(admin_api, "/api/domain/example.com", {"catchall": ""})
    assert postfix.resolve_alias("unknown@example.com") is None


def test_catchall_through_an_alias_domain(admin_api, domain, postfix):
    add_user_rows("x@example.com")
    put(admin_api, "/api/domain/example.com", {"catchall": "x@example.com",
                                               "aliasDomains": "example.net"})  # fmt: skip
    assert postfix.resolve_alias("whoever@example.net") == ["x@example.com"]


def test_domain_bcc(admin_api, domain, postfix):
    put(admin_api, "/api/domain/example.com", {"senderBcc": "out@archive.org",
                                               "recipientBcc": "in@archive.org"})  # fmt: skip
    assert postfix.lookup("sender_bcc_maps_domain", "anyone@example.com") == ["out@archive.org"]
    assert postfix.lookup("recipient_bcc_maps_domain", "anyone@example.com") == ["in@archive.org"]
    put(admin_api, "/api/domain/example.com", {"senderBcc": ""})
    assert postfix.lookup("sender_bcc_maps_domain", "anyone@example.com") is None


def test_outbound_relay(admin_api, domain, postfix):
    put(admin_api, "/api/domain/example.com", {"outboundRelay": "smtp:[192.0.2.25]:587"})
    assert postfix.lookup("sender_dependent_relayhost_maps", "@example.com") == [
        "smtp:[192.0.2.25]:587"
    ]


def test_backup_mx_is_a_relay_domain_not_a_mailbox_domain(admin_api, domain, postfix):
    put(admin_api, "/api/domain/example.com", {"is_backupmx": "yes", "primarymx": "192.0.2.1"})
    assert postfix.lookup("relay_domains", "example.com") == ["example.com"]
    assert postfix.lookup("virtual_mailbox_domains", "example.com") is None
    assert postfix.lookup("transport_maps_domain", "example.com") == ["relay:[192.0.2.1]"]
    put(admin_api, "/api/domain/example.com", {"is_backupmx": "no"})
    assert postfix.lookup("relay_domains", "example.com") is None
    assert postfix.lookup("virtual_mailbox_domains", "example.com") == ["example.com"]


def test_nothing_resolves_after_delete(admin_api, domain, postfix):
    add_user_rows("x@example.com")
    put(admin_api, "/api/domain/example.com", {
        "catchall": "x@example.com", "aliasDomains": "example.net", "senderBcc": "a@b.org",
        "recipientBcc": "c@d.org", "outboundRelay": "smtp:[192.0.2.1]:25",
    })  # fmt: skip
    assert postfix.lookup("virtual_mailbox_maps", "x@example.com") is not None
    assert admin_api.delete("/api/domain/example.com").json == {"_success": True}
    for table, key in [
        ("virtual_mailbox_domains", "example.com"),
        ("virtual_mailbox_maps", "x@example.com"),
        ("transport_maps_domain", "example.com"),
        ("sender_bcc_maps_domain", "x@example.com"),
        ("recipient_bcc_maps_domain", "x@example.com"),
        ("sender_dependent_relayhost_maps", "@example.com"),
        ("sender_login_maps", "x@example.com"),
    ]:
        assert postfix.lookup(table, key) is None, table
    for address in ("x@example.com", "unknown@example.com", "x@example.net"):
        assert postfix.resolve_alias(address) is None, address
