"""The gateway's checks, in the contract's order, each failure asserting the envelope."""

from __future__ import annotations

import datetime
import json
import time

import falcon.testing
import pytest

from gateway.sessions import AUTH_CACHE_SECONDS
from services.domain.app import create_app as create_domain
from shared import db, identity
from shared.models.iredadmin import LoginFailure, Session, Setting
from shared.models.vmail import Admin
from tests.conftest import ADMIN, ADMIN_PASSWORD, login
from tests.helpers import add_domain, add_mailbox, failure


# -- paths ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path",
    [
        "/api/domain/example.net",
        "/api//domain/example.net",
        "/api/domain/example.net/",
        "/iredadmin/api/domain/example.net",
        "/iredadmin/api//domain//example.net/",
        "/api/domain/EXAMPLE.net",
        "/api/domain/example%2Enet",
    ],
)
def test_path_forms_reach_the_same_endpoint(admin_api, path):
    add_domain("example.net", description="Net")
    body = admin_api.get(path).json
    assert body["_success"] is True, body
    assert body["_data"]["domain"] == "example.net"


def test_login_with_double_slash_and_query_string_parameters(api, global_admin):
    answer = api.post(f"/api//login?username={ADMIN}&password={ADMIN_PASSWORD}")
    assert answer.json == {"_success": True}
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie


def test_session_cookie_is_valid_under_every_prefix(admin_api):
    add_domain("example.net")
    assert admin_api.get("/iredadmin/api/domain/example.net").json["_success"] is True


def test_secure_cookie_flag_follows_the_setting(make_api, global_admin):
    answer = make_api(session_cookie_secure=True).post(
        "/api/login", {"username": ADMIN, "password": ADMIN_PASSWORD}
    )
    assert "Secure" in answer.headers["Set-Cookie"]


def test_path_outside_the_prefixes_is_not_found(api):
    assert failure(api.get("/elsewhere")) == "NOT_FOUND"


# -- order of checks ----------------------------------------------------------------------
def test_api_disabled(make_api):
    assert failure(make_api(enable_restful_api=False).get("/api/domain/x.org")) == "API_DISABLED"


def test_body_size_is_checked_before_the_api_switch(make_api):
    client = make_api(enable_restful_api=False, api_max_body_bytes=100)
    assert failure(client.post("/api/login", {"username": "a" * 200})) == "REQUEST_TOO_LARGE"


def test_oversized_body(make_api, global_admin):
    client = make_api(api_max_body_bytes=64)
    answer = client.post("/api/login", {"username": ADMIN, "password": "x" * 100})
    assert failure(answer) == "REQUEST_TOO_LARGE"


def test_the_query_string_may_hold_as_much_as_a_body(make_api, global_admin):
    client = login(make_api(api_max_body_bytes=1000))
    add_domain("example.net")
    query = "name=Q&pad=" + "p" * (1000 - 11)
    assert client.put(f"/api/domain/example.net?{query}").json == {"_success": True}
    assert failure(client.put(f"/api/domain/example.net?{query}p")) == "REQUEST_TOO_LARGE"
    assert failure(make_api(enable_restful_api=False, api_max_body_bytes=10).get(
        "/api/domains?" + "x" * 11)) == "REQUEST_TOO_LARGE"  # fmt: skip


def test_disabled_is_checked_before_the_ip(make_api):
    client = make_api(
        enable_restful_api=False,
        restrict_api_access=True,
        restful_api_clients=("10.0.0.0/8",),
        remote_addr="192.0.2.1",
    )
    assert failure(client.get("/api/domain/x.org")) == "API_DISABLED"


def test_ip_is_checked_before_the_route(make_api):
    client = make_api(restrict_api_access=True, restful_api_clients=(), remote_addr="192.0.2.1")
    assert failure(client.get("/api/no/such/route")) == "NOT_AUTHORIZED"


def test_unknown_route(api):
    assert failure(api.get("/api/no/such/route")) == "NOT_FOUND"


@pytest.mark.parametrize(
    "path",
    ["/api/throttle/global/sideways", "/api/throttle/example.net/sideways",
     "/api/throttle/u@example.net/Inbound", "/api/throttle/global/inbound/extra"],
)  # fmt: skip
def test_unknown_throttle_direction_before_authentication(api, path):
    """The catalogue admits only inbound/outbound: no session is looked at for anything else."""
    for method in ("get", "post", "delete"):
        assert failure(getattr(api, method)(path)) == "NOT_FOUND"


@pytest.mark.parametrize("account", ["global", "example.net", "u@example.net"])
@pytest.mark.parametrize("direction", ["inbound", "outbound"])
def test_known_throttle_directions_need_a_session(api, account, direction):
    assert failure(api.get(f"/api/throttle/{account}/{direction}")) == "LOGIN_REQUIRED"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("patch", "/api/domain/example.net"),
        ("options", "/api/domain/example.net"),
        ("put", "/api/domains"),
        ("delete", "/api/domain/admins/example.net"),
    ],
)
def test_wrong_method_before_authentication(api, method, path):
    answer = getattr(api, method)(path)
    assert failure(answer) == "METHOD_NOT_ALLOWED"


def test_login_is_post_only(api):
    assert failure(api.get("/api/login")) == "METHOD_NOT_ALLOWED"


# -- IP allow-list --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("clients", "remote", "allowed"),
    [
        (("192.0.2.7",), "192.0.2.7", True),
        (("192.0.2.7",), "192.0.2.8", False),
        (("10.0.0.0/8",), "10.20.30.40", True),
        (("10.0.0.0/8",), "11.0.0.1", False),
        (("2001:db8::/32",), "2001:db8::5", True),
        (("2001:db8::/32",), "2001:db9::5", False),
        (("2001:db8::1",), "2001:db8::1", True),
        (("192.0.2.7",), "::ffff:192.0.2.7", True),
        ((), "127.0.0.1", False),
    ],
)
def test_ip_allow_list(make_api, clients, remote, allowed):
    client = make_api(restrict_api_access=True, restful_api_clients=clients, remote_addr=remote)
    code = failure(client.get("/api/domain/example.net"))
    assert code == ("LOGIN_REQUIRED" if allowed else "NOT_AUTHORIZED")


def test_forged_forwarded_for_from_an_untrusted_peer_is_ignored(make_api):
    client = make_api(
        restrict_api_access=True, restful_api_clients=("10.0.0.1",), remote_addr="192.0.2.9"
    )
    answer = client.get("/api/domain/example.net", headers={"X-Forwarded-For": "10.0.0.1"})
    assert failure(answer) == "NOT_AUTHORIZED"


def test_forwarded_for_from_a_trusted_proxy_names_the_client(make_api):
    client = make_api(
        restrict_api_access=True,
        restful_api_clients=("198.51.100.0/24",),
        trusted_proxies=("127.0.0.1",),
        remote_addr="127.0.0.1",
    )
    allowed = client.get(
        "/api/domain/example.net", headers={"X-Forwarded-For": "10.9.9.9, 198.51.100.4"}
    )
    assert failure(allowed) == "LOGIN_REQUIRED"
    # The client itself cannot prepend an allowed address: the right-most untrusted hop counts.
    refused = client.get(
        "/api/domain/example.net", headers={"X-Forwarded-For": "198.51.100.4, 203.0.113.5"}
    )
    assert failure(refused) == "NOT_AUTHORIZED"


def test_allow_list_from_the_iredadmin_settings_table(make_api, config):
    Setting.insert(
        account="global", k="restful_api_clients", v=json.dumps({"value": ["203.0.113.0/24"]})
    ).execute()
    db.release_connections()
    client = make_api(restrict_api_access=True, remote_addr="203.0.113.9")
    assert failure(client.get("/api/domain/example.net")) == "LOGIN_REQUIRED"
    other = make_api(restrict_api_access=True, remote_addr="198.51.100.1")
    assert failure(other.get("/api/domain/example.net")) == "NOT_AUTHORIZED"


# -- login and sessions ---------------------------------------------------------------------
def test_no_session(api):
    assert failure(api.get("/api/domain/example.net")) == "LOGIN_REQUIRED"


def test_forged_cookie(api, config):
    api.set_cookie(config.session_cookie_name, "forged-session-id")
    assert failure(api.get("/api/domain/example.net")) == "LOGIN_REQUIRED"


def test_login_stores_only_a_hash_of_the_session_id(api, global_admin, config):
    login(api)
    token = api.cookies[config.session_cookie_name]
    stored = [row.session_id for row in Session.select()]
    db.release_connections()
    assert len(stored) == 1 and token not in stored[0] and len(stored[0]) == 128


def test_expired_session(admin_api, config):
    add_domain("example.net")
    long_ago = datetime.datetime(2000, 1, 1)
    Session.update(atime=long_ago).execute()
    db.release_connections()
    assert failure(admin_api.get("/api/domain/example.net")) == "SESSION_EXPIRED"
    # An expired session is gone: the next call needs a login again.
    assert failure(admin_api.get("/api/domain/example.net")) == "LOGIN_REQUIRED"


def test_activity_slides_the_session(admin_api, config):
    add_domain("example.net")
    almost = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(
        seconds=config.session_timeout - 60
    )
    Session.update(atime=almost).execute()
    db.release_connections()
    assert admin_api.get("/api/domain/example.net").json["_success"] is True
    atime = Session.select().first().atime
    db.release_connections()
    assert atime > almost + datetime.timedelta(seconds=30)


def _age_session(seconds: float) -> None:
    """Move the session's last activity `seconds` into the past (time passing, with only a short
    wait). Time passing also ends what a gateway keeps of the session (AUTH_CACHE_SECONDS): kept,
    the unaged copy would answer the next request without refreshing the aged row, which then
    expired after the next aging (seen in CI under load, when a request came within the cache
    time of the one before)."""
    atime = Session.select().first().atime
    Session.update(atime=atime - datetime.timedelta(seconds=seconds)).execute()
    db.release_connections()
    time.sleep(AUTH_CACHE_SECONDS + 0.05)


@pytest.mark.parametrize(("timeout", "every"), [(20, 12), (3, 2), (1800, 900)])
def test_a_session_in_use_never_expires_whatever_the_timeout(
    make_api, global_admin, timeout, every
):
    """A client calling every `every` seconds (< SESSION_TIMEOUT) stays logged in."""
    client = login(make_api(session_timeout=timeout))
    add_domain("example.net")
    for _ in range(5):
        _age_session(every)
        assert client.get("/api/domain/example.net").json["_success"] is True


def test_logout_ends_the_session(admin_api):
    add_domain("example.net")
    assert admin_api.post("/api/logout").json == {"_success": True}
    assert failure(admin_api.get("/api/domain/example.net")) == "LOGIN_REQUIRED"
    assert failure(admin_api.post("/api/logout")) == "LOGIN_REQUIRED"


def test_logout_without_a_session(api):
    assert failure(api.post("/api/logout")) == "LOGIN_REQUIRED"


@pytest.mark.parametrize("params", [{"username": ADMIN}, {"password": "x"}, {}])
def test_login_missing_parameter(api, params):
    assert failure(api.post("/api/login", params)) == "MISSING_PARAM"


def test_login_with_a_json_body(api, global_admin):
    answer = api.post_json("/api/login", {"username": ADMIN, "password": ADMIN_PASSWORD})
    assert answer.json == {"_success": True}


def test_malformed_json_body(api):
    answer = api.post("/api/login", "{not json", content_type="application/json")
    assert failure(answer) == "MALFORMED_BODY"


def test_malformed_multipart_body(api):
    answer = api.request(
        "/api/login",
        method="POST",
        body=b"garbage",
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert failure(answer) == "MALFORMED_BODY"


def test_login_with_a_multipart_body(api, global_admin):
    answer = api.post(
        "/api/login",
        {"username": ADMIN, "password": ADMIN_PASSWORD},
        content_type="multipart/form-data",
    )
    assert answer.json == {"_success": True}


def test_wrong_password(api, global_admin):
    assert failure(api.post("/api/login", {"username": ADMIN, "password": "nope"})) == (
        "INVALID_CREDENTIALS"
    )


def test_unknown_user(api):
    answer = api.post("/api/login", {"username": "ghost@example.com", "password": "x"})
    assert failure(answer) == "INVALID_CREDENTIALS"


def test_disabled_admin(api, global_admin):
    Admin.update(active=0).execute()
    db.release_connections()
    answer = api.post("/api/login", {"username": ADMIN, "password": ADMIN_PASSWORD})
    assert failure(answer) == "INVALID_CREDENTIALS"


def test_mailbox_that_is_not_an_admin(api):
    add_domain("example.net")
    add_mailbox("user@example.net", password="Us3r-Passw0rd")
    answer = api.post("/api/login", {"username": "user@example.net", "password": "Us3r-Passw0rd"})
    assert failure(answer) == "INVALID_CREDENTIALS"


def test_mailbox_global_admin_may_log_in(api):
    add_domain("example.net")
    add_mailbox("boss@example.net", password="B0ss-Passw0rd", isadmin=1, isglobaladmin=1)
    login(api, "boss@example.net", "B0ss-Passw0rd")
    add_domain("other.org")
    assert api.get("/api/domain/other.org").json["_success"] is True


def test_admin_disabled_after_login_loses_the_session(admin_api):
    add_domain("example.net")
    Admin.update(active=0).execute()
    db.release_connections()
    assert failure(admin_api.get("/api/domain/example.net")) == "LOGIN_REQUIRED"


def test_too_many_failed_logins_by_address(make_api, global_admin):
    client = make_api(login_max_failures=3)
    for _ in range(3):
        client.post("/api/login", {"username": ADMIN, "password": "wrong"})
    answer = client.post("/api/login", {"username": ADMIN, "password": ADMIN_PASSWORD})
    assert failure(answer) == "TOO_MANY_REQUESTS"


def test_too_many_failed_logins_by_username_from_many_addresses(make_api, global_admin):
    for n in range(3):
        make_api(login_max_failures=3, remote_addr=f"192.0.2.{n + 1}").post(
            "/api/login", {"username": ADMIN, "password": "wrong"}
        )
    client = make_api(login_max_failures=3, remote_addr="192.0.2.99")
    answer = client.post("/api/login", {"username": ADMIN, "password": ADMIN_PASSWORD})
    assert failure(answer) == "TOO_MANY_REQUESTS"


def test_failures_outside_the_window_do_not_count(make_api, global_admin):
    client = make_api(login_max_failures=2)
    for _ in range(2):
        client.post("/api/login", {"username": ADMIN, "password": "wrong"})
    LoginFailure.update(failed_at=datetime.datetime(2000, 1, 1)).execute()
    db.release_connections()
    assert login(client)


# -- services ---------------------------------------------------------------------------------
def test_service_unavailable(make_api, global_admin):
    client = login(make_api(services=("user", "alias", "throttle")))
    assert failure(client.get("/api/domain/example.net")) == "SERVICE_UNAVAILABLE"


def test_rest_status_codes(make_api, global_admin):
    client = make_api(api_error_status="rest")
    assert client.get("/api/domain/example.net", status=401).json["_msg"] == "LOGIN_REQUIRED"
    assert client.get("/api/nowhere", status=404).json["_msg"] == "NOT_FOUND"
    assert client.patch("/api/domain/example.net", status=405).json["_msg"] == (
        "METHOD_NOT_ALLOWED"
    )
    login(client)
    assert client.get("/api/domain/example.net", status=404).json["_msg"] == "NO_SUCH_DOMAIN"
    client.post("/api/domain/example.net", status=200)
    assert client.post("/api/domain/example.net", status=409).json["_msg"] == "ALREADY_EXISTS"


def test_compat_mode_answers_200_for_failures(api):
    assert api.get("/api/domain/example.net", status=200).json["_msg"] == "LOGIN_REQUIRED"


# -- a service reached directly ----------------------------------------------------------------
@pytest.fixture
def direct(config):
    return falcon.testing.TestClient(create_domain(config))


def _signed(config, method, target, **changes):
    caller = identity.Identity(admin=ADMIN, role=identity.GLOBAL, client_ip="127.0.0.1")
    headers = identity.sign(caller, method, target, config.internal_secret)
    headers.update(changes)
    return headers


def test_direct_request_without_signature_is_refused(direct):
    answer = direct.simulate_get("/domain/example.net")
    assert answer.json["_msg"] == "NOT_AUTHORIZED"


def test_direct_request_with_a_valid_signature_is_served(direct, config):
    add_domain("example.net")
    headers = _signed(config, "GET", "/domain/example.net")
    answer = direct.simulate_get("/domain/example.net", headers=headers)
    assert answer.json["_data"]["domain"] == "example.net"


@pytest.mark.parametrize(
    "tamper",
    [
        {"X-Mailapi-Signature": "0" * 64},
        {"X-Mailapi-Role": "domain"},
        {"X-Mailapi-Admin": "someone@else.org"},
    ],
)
def test_direct_request_with_a_tampered_signature_is_refused(direct, config, tamper):
    headers = _signed(config, "GET", "/domain/example.net", **tamper)
    assert direct.simulate_get("/domain/example.net", headers=headers).json["_msg"] == (
        "NOT_AUTHORIZED"
    )


def test_signature_is_bound_to_the_path_and_method(direct, config):
    headers = _signed(config, "GET", "/domain/example.net")
    assert direct.simulate_get("/domain/other.net", headers=headers).json["_msg"] == (
        "NOT_AUTHORIZED"
    )
    assert direct.simulate_delete("/domain/example.net", headers=headers).json["_msg"] == (
        "NOT_AUTHORIZED"
    )


def test_signature_covers_the_body(direct, config):
    """A signed request seen on the loopback cannot be replayed with another body."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    caller = identity.Identity(admin=ADMIN, role=identity.GLOBAL, client_ip="127.0.0.1")
    target = "/domain/example.net"
    headers = {**identity.sign(caller, "POST", target, config.internal_secret, b"name=A"), **form}
    replayed = direct.simulate_post(target, headers=headers, body="name=B&quota=1")
    assert replayed.json["_msg"] == "NOT_AUTHORIZED"
    assert direct.simulate_post(target, headers=headers, body="").json["_msg"] == "NOT_AUTHORIZED"
    assert direct.simulate_post(target, headers=headers, body="name=A").json == {"_success": True}
    profile = direct.simulate_get(target, headers=_signed(config, "GET", target)).json["_data"]
    assert profile["description"] == "A" and profile["maxquota"] == 0


def test_old_signature_is_refused(direct, config):
    caller = identity.Identity(admin=ADMIN, role=identity.GLOBAL)
    headers = identity.sign(
        caller, "GET", "/domain/example.net", config.internal_secret, now=1_000_000
    )
    assert direct.simulate_get("/domain/example.net", headers=headers).json["_msg"] == (
        "NOT_AUTHORIZED"
    )


def test_a_non_json_upstream_answer_becomes_an_envelope(make_api, global_admin):
    def html_app(environ, start_response):
        start_response("400 Bad Request", [("Content-Type", "text/html")])
        return [b"<html>Request Header Fields Too Large</html>"]

    client = login(make_api(apps={"domain": html_app}))
    answer = client.get("/api/domain/example.net")
    assert failure(answer) == "SERVICE_UNAVAILABLE"
