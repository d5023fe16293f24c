"""Spam policies as the real Amavisd applies them (MariaDB and PostgreSQL), after API calls only:
a message with a banned attachment is quarantined into SQL or delivered, as the recipient's,
its domain's or the global policy says (user beats domain beats global)."""

from __future__ import annotations

import pytest

from shared.models.amavisd import Msgs
from tests.helpers import ok, rows

pytestmark = pytest.mark.server_db
PW = "Us3r-Passw0rd"
USER = "user@example.com"
SP = "/api/spampolicy"


@pytest.fixture
def mailbox(admin_api):
    ok(admin_api.post("/api/domain/example.com"))
    for user in (USER, "other@example.com"):
        ok(admin_api.post(f"/api/user/{user}", {"password": PW}))
    return admin_api


def quarantined() -> int:
    return len(rows(Msgs.select().where(Msgs.quar_type == "Q")))


def test_banned_files_quarantined_or_passed(mailbox, amavisd):
    api = mailbox
    # iRedMail's global policy quarantines banned files.
    delivered, line = amavisd.send_banned(USER)
    assert not delivered and "Blocked BANNED" in line and "Quarantined" in line, line
    assert quarantined() == 1
    # The user bypasses the check: delivered, nothing quarantined.
    ok(api.put(f"{SP}/user/{USER}", {"bypass_banned_checks": "yes"}))
    delivered, line = amavisd.send_banned(USER)
    assert delivered and "Passed" in line, line
    assert quarantined() == 1
    # Another user of the domain still has the global policy ...
    delivered, line = amavisd.send_banned("other@example.com")
    assert not delivered and "Blocked BANNED" in line, line
    # ... until the domain stops quarantining: then it is delivered (the lover flag).
    ok(api.put(f"{SP}/domain/example.com", {"quarantine_banned": "no"}))
    delivered, line = amavisd.send_banned("other@example.com")
    assert delivered and "Passed BANNED" in line, line
    assert quarantined() == 2
    # The user's own policy beats the domain's: quarantining again.
    ok(api.put(f"{SP}/user/other@example.com", {"quarantine_banned": "yes"}))
    delivered, line = amavisd.send_banned("other@example.com")
    assert not delivered and "Blocked BANNED" in line, line
    assert quarantined() == 3
    ok(api.delete(f"{SP}/user/other@example.com"))
    delivered, _ = amavisd.send_banned("other@example.com")
    assert delivered  # the domain's policy again
