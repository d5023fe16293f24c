"""White/blacklists and greylisting as the real iRedAPD 6.1 enforces them, after API calls only
(its `amavisd_wblist` and `greylisting` plugins; MariaDB and PostgreSQL). The cases are the
tables of spec/amavisd.md §4.1 and spec/greylisting-mlmmj.md §3.3."""

from __future__ import annotations

import pytest

from tests.helpers import ok

pytestmark = pytest.mark.server_db
PW = "Us3r-Passw0rd"
USER = "user@example.com"
WB = "/api/wblist"
REJECT = "REJECT Blacklisted"


@pytest.fixture
def mailbox(admin_api):
    ok(admin_api.post("/api/domain/example.com"))
    ok(admin_api.post(f"/api/user/{USER}", {"password": PW}))
    return admin_api


def test_inbound_lists(mailbox, iredapd):
    api = mailbox

    def answer(sender="spam@bad.test", client="203.0.113.5"):
        return iredapd.rcpt(sender, USER, client)

    assert answer() == "DUNNO"
    ok(api.post(f"{WB}/inbound/blacklist/{USER}", {"addresses": "spam@bad.test"}))
    assert answer() == REJECT
    ok(api.post(f"{WB}/inbound/whitelist/{USER}", {"addresses": "spam@bad.test"}))  # moves it
    assert answer() == "OK"
    ok(api.delete(f"{WB}/inbound/whitelist/{USER}"))
    ok(api.post(f"{WB}/inbound/blacklist/example.com", {"addresses": "@bad.test"}))
    assert answer() == REJECT  # the domain's list
    ok(api.post(f"{WB}/inbound/whitelist/{USER}", {"addresses": "spam@bad.test"}))
    assert answer() == "OK"  # the user's list beats the domain's
    ok(api.delete(f"{WB}/inbound/blacklist/example.com"))
    ok(api.delete(f"{WB}/inbound/whitelist/{USER}"))
    ok(api.post(f"{WB}/inbound/blacklist/global", {"addresses": "203.0.113.0/24"}))
    assert answer("x@other.test") == REJECT  # a network
    ok(api.post(f"{WB}/inbound/whitelist/global", {"addresses": "203.0.113.5"}))
    assert answer("x@other.test") == "OK"  # an address (9) beats a network (7)
    assert answer("x@other.test", client="203.0.113.6") == REJECT
    ok(api.delete(f"{WB}/inbound/blacklist/global"))
    ok(api.delete(f"{WB}/inbound/whitelist/global"))
    ok(api.post(f"{WB}/inbound/blacklist/{USER}", {"addresses": "@.bad.test"}))
    assert answer("a@mx.bad.test") == REJECT  # the sub-domain form
    assert answer("a@notbad.test") == "DUNNO"
    ok(api.put(f"{WB}/inbound/blacklist/{USER}", {"addresses": "@.bad.test"}))
    assert answer("a@mx.bad.test") == "DUNNO"
    # A network with host bits is stored as its network, and matches.
    ok(api.post(f"{WB}/inbound/blacklist/{USER}", {"addresses": "192.168.1.5/24"}))
    assert answer("x@other.test", client="192.168.1.77") == REJECT
    # iRedAPD 6.1 matches single IPv6 addresses but no IPv6 network (stored all the same).
    ok(api.post(f"{WB}/inbound/blacklist/{USER}", {"addresses": "2001:DB8:0::9,2001:db8:1::/48"}))
    assert answer("x@other.test", client="2001:db8::9") == REJECT
    assert answer("x@other.test", client="2001:db8:1::5") == "DUNNO"
    assert answer(USER) == "DUNNO"  # sender = recipient is never checked


def test_outbound_lists(mailbox, iredapd):
    api = mailbox

    def answer():
        return iredapd.rcpt(USER, "rcpt@ext.test", "192.0.2.10", sasl=USER)

    assert answer() == "DUNNO"
    ok(api.post(f"{WB}/outbound/blacklist/{USER}", {"addresses": "rcpt@ext.test"}))
    assert answer() == REJECT
    ok(api.delete(f"{WB}/outbound/blacklist/{USER}"))
    ok(api.post(f"{WB}/outbound/blacklist/global", {"addresses": "@ext.test"}))
    assert answer() == REJECT
    ok(api.post(f"{WB}/outbound/whitelist/{USER}", {"addresses": "rcpt@ext.test"}))
    assert answer().startswith("DUNNO")  # the user's whitelist beats the global blacklist
    ok(api.delete(f"{WB}/outbound/whitelist/{USER}"))
    assert answer() == REJECT
    ok(api.post(f"{WB}/outbound/blacklist/example.com", {"addresses": "rcpt@ext.test"}))
    ok(api.delete(f"{WB}/outbound/blacklist/global"))
    assert answer() == REJECT  # the domain's list


GREYLISTED = "451 4.7.1 Intentional policy rejection, please try again later"
GL = "/api/greylisting"


def test_greylisting_settings(mailbox, iredapd):
    api = mailbox
    ok(api.post("/api/user/other@example.com", {"password": PW}))
    clients = iter(f"198.18.0.{n}" for n in range(1, 250))  # a passed client skips greylisting

    def answer(recipient=USER, sender="a@ext.test"):
        return iredapd.rcpt(sender, recipient, next(clients))

    assert answer() == "DUNNO"  # no setting: nobody is greylisted
    ok(api.post(f"{GL}/global", {"status": "enable"}))
    assert answer() == GREYLISTED
    ok(api.post(f"{GL}/{USER}", {"status": "disable"}))
    assert answer() == "DUNNO"  # the user's "off" beats the global "on"
    assert answer("other@example.com") == GREYLISTED
    ok(api.post(f"{GL}/example.com", {"status": "disable"}))
    assert answer("other@example.com") == "DUNNO"  # the domain's "off"
    ok(api.post(f"{GL}/other@example.com", {"status": "enable"}))
    assert answer("other@example.com") == GREYLISTED  # the user's "on" beats the domain's
    ok(api.delete(f"{GL}/example.com"))
    ok(api.delete(f"{GL}/{USER}"))
    assert answer() == GREYLISTED  # the global setting again
    ok(api.post(f"{GL}/global", {"status": "disable"}))
    assert answer() == "DUNNO"
    ok(api.delete(f"{GL}/global"))
    assert answer("other@example.com") == GREYLISTED  # its own row is all that is left


def test_greylisting_whitelists(mailbox, iredapd):
    api = mailbox
    ok(api.post("/api/user/other@example.com", {"password": PW}))
    ok(api.post(f"{GL}/global", {"status": "enable"}))

    def answer(client, sender="a@ext.test", recipient=USER):
        return iredapd.rcpt(sender, recipient, client)

    ok(api.post(f"{GL}/global/whitelists", {"addSenders": "198.51.100.7,203.0.113.0/24"}))
    assert answer("198.51.100.7") == "DUNNO"
    assert answer("203.0.113.5") == "DUNNO"  # inside the network
    assert answer("198.51.100.8") == GREYLISTED
    ok(api.post(f"{GL}/global/whitelists", {"addSenders": "2001:DB8:0::/32"}))
    assert answer("2001:db8::5") == "DUNNO"  # stored as 2001:db8::/32, which iRedAPD matches
    ok(api.post(f"{GL}/{USER}/whitelists", {"senders": "@trusted.test,@.sub.test"}))
    assert answer("192.0.2.21", "x@trusted.test") == "DUNNO"
    assert answer("192.0.2.22", "x@trusted.test", "other@example.com") == GREYLISTED  # per user
    assert answer("192.0.2.23", "x@a.sub.test") == "DUNNO"  # the sub-domain form
    assert answer("192.0.2.24", "x@sub.test") == "DUNNO"
    ok(api.post(f"{GL}/example.com/whitelists", {"addSenders": "friend@ext2.test"}))
    assert answer("192.0.2.25", "friend@ext2.test", "other@example.com") == "DUNNO"
    ok(api.post(f"{GL}/example.com/whitelists", {"removeSenders": "friend@ext2.test"}))
    assert answer("192.0.2.26", "friend@ext2.test", "other@example.com") == GREYLISTED
