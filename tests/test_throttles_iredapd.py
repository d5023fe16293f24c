"""Throttle settings as the real iRedAPD enforces them, after API calls only (MariaDB)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.server_db
PW = "Us3r-Passw0rd"


def ok(response) -> None:
    assert response.json == {"_success": True}, response.json


@pytest.fixture
def sender(admin_api):
    ok(admin_api.post("/api/domain/example.com"))
    ok(admin_api.post("/api/user/u@example.com", {"password": PW}))
    return "u@example.com"


def test_iredapd_enforces_the_settings_the_api_writes(admin_api, sender, iredapd):
    assert iredapd.end_of_message(sender, size=2000) == "DUNNO"
    ok(admin_api.post("/api/throttle/example.com/outbound", {"period": "60", "msg_size": "1000"}))
    assert iredapd.end_of_message(sender, size=2000).startswith("REJECT")
    assert iredapd.end_of_message(sender, size=500) == "DUNNO"
    ok(admin_api.post("/api/throttle/u@example.com/outbound", {"period": "60", "msg_size": "5000"}))
    assert iredapd.end_of_message(sender, size=2000) == "DUNNO"  # the user's setting wins
    assert iredapd.end_of_message(sender, size=6000).startswith("REJECT")
    ok(admin_api.delete("/api/throttle/u@example.com/outbound"))
    assert iredapd.end_of_message(sender, size=2000).startswith("REJECT")
    ok(admin_api.post("/api/throttle/global/outbound", {"period": "60", "max_rcpts": "3"}))
    assert iredapd.end_of_message(sender, size=500, recipients=4).startswith("REJECT")
    assert iredapd.end_of_message(sender, size=500, recipients=3) == "DUNNO"
