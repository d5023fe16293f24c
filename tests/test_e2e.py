"""End to end: the Procfile's real gunicorn processes on loopback ports, called over HTTP."""

from __future__ import annotations

import concurrent.futures
import json
import shlex
import socket
import sys
from pathlib import Path

import pytest
import urllib3

from tests.processes import Client, running_processes, start, stop, wait_for_port

pytestmark = pytest.mark.e2e


def test_calls_through_the_gateway(processes):
    running, _, _, ports = processes
    client = Client(ports["gateway"])
    assert client.call("GET", "/api/domain/example.com") == {
        "_success": False,
        "_msg": "LOGIN_REQUIRED",
    }
    client.login()
    assert client.call("POST", "/api//domain/example.com/", {"name": "E2E"}) == {"_success": True}
    data = client.call("GET", "/iredadmin/api/domain/example.com")["_data"]
    assert data["description"] == "E2E"
    assert client.call("DELETE", "/api/domain/example.com") == {"_success": True}
    assert client.call("GET", "/api/domain/example.com")["_msg"] == "NO_SUCH_DOMAIN"
    assert client.call("GET", "/api/users/example.com")["_msg"] == "NO_SUCH_DOMAIN"
    # Bytes that are not UTF-8 in the path answer a clean code (WebTest cannot send these).
    assert client.call("GET", "/api/domain/%ff%fe")["_msg"] == "INVALID_DOMAIN_NAME"
    assert client.call("POST", "/api/user/u@example.com/change_email/%ff")["_msg"] == (
        "INVALID_MAIL"
    )


def test_a_stopped_service_answers_cleanly_and_heals(processes):
    running, lines, env, ports = processes
    client = Client(ports["gateway"])
    client.login()
    client.call("POST", "/api/domain/example.com")
    stop(running["domain"])
    assert client.call("GET", "/api/domain/example.com") == {
        "_success": False,
        "_msg": "SERVICE_UNAVAILABLE",
        "_detail": "the domain service is unavailable",
    }
    assert client.call("POST", "/api/domain/other.com")["_msg"] == "SERVICE_UNAVAILABLE"
    running["domain"] = start(lines["domain"], env)
    wait_for_port(ports["domain"])
    assert client.call("GET", "/api/domain/example.com")["_data"]["domain"] == "example.com"


def test_a_service_port_reached_directly_grants_nothing(processes):
    _, _, _, ports = processes
    http = urllib3.PoolManager(retries=False)
    response = http.request("GET", f"http://127.0.0.1:{ports['domain']}/domain/example.com")
    assert response.json() == {
        "_success": False,
        "_msg": "NOT_AUTHORIZED",
        "_detail": "the request was not signed by the gateway",
    }


def test_honcho_starts_the_whole_procfile(environment, tmp_path):
    env, ports = environment
    honcho = str(Path(sys.executable).parent / "honcho")
    empty_env_file = tmp_path / "empty.env"  # a developer's .env must not override the test's
    empty_env_file.write_text("")
    log = tmp_path / "honcho.log"
    process = start(f"exec {shlex.quote(honcho)} -e {empty_env_file} start", env, log)
    try:
        for port in ports.values():
            try:
                wait_for_port(port)
            except AssertionError:
                raise AssertionError(log.read_text()[-3000:]) from None
        client = Client(ports["gateway"])
        client.login()
        assert client.call("POST", "/api/domain/example.com") == {"_success": True}
        assert client.call("GET", "/api/domain/example.com")["_data"]["active"] == 1
    finally:
        stop(process)
    for port in ports.values():
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()


def test_a_domain_admin_of_many_domains_passes_the_real_servers(processes):
    """The signed identity lists every managed domain: 800 of them make a ~20 kB header."""
    from shared import db
    from shared.models.vmail import Domain, DomainAdmin
    from shared.timeutil import utcnow
    from tests.helpers import add_mailbox

    now = utcnow()
    names = [f"customer-domain-{n:04d}.example.org" for n in range(800)]
    Domain.insert_many([{"domain": n, "created": now, "modified": now} for n in names]).execute()
    DomainAdmin.insert_many(
        [{"username": "boss@example.org", "domain": n} for n in names]
    ).execute()
    db.release_connections()
    add_mailbox("boss@example.org", password="B0ss-Passw0rd", isadmin=1)
    _, _, _, ports = processes
    client = Client(ports["gateway"])
    answer = client.call(
        "POST", "/api/login", {"username": "boss@example.org", "password": "B0ss-Passw0rd"}
    )
    assert answer == {"_success": True}
    assert client.call("GET", f"/api/domain/{names[-1]}")["_data"]["domain"] == names[-1]
    assert len(client.call("GET", "/api/domains?name_only=yes")["_data"]) == 800


def _concurrently(ports, cookie, calls) -> list[str]:
    """Run (method, path, fields) calls at once, each on its own connection; their outcomes."""

    def one(call):
        client = Client(ports["gateway"])
        client.cookie = cookie
        answer = client.call(*call)
        return "ok" if answer["_success"] else answer["_msg"]

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(one, calls))


def test_concurrent_creates_never_exceed_the_limit(processes):
    _, _, _, ports = processes
    client = Client(ports["gateway"])
    client.login()
    assert client.call("POST", "/api/domain/example.com", {"numberOfUsers": "20"})["_success"]
    calls = [("POST", f"/api/user/u{n}@example.com", {"password": "Us3r-Passw0rd"})
             for n in range(50)]  # fmt: skip
    outcomes = _concurrently(ports, client.cookie, calls)
    assert outcomes.count("ok") == 20, outcomes
    assert outcomes.count("EXCEEDED_DOMAIN_ACCOUNT_LIMIT") == 30, outcomes
    users = client.call("GET", "/api/users/example.com?email_only=yes")["_data"]
    assert len(users) == 20


def _reseller(client, **limits) -> Client:
    """A normal standalone admin with these limits, logged in on a client of its own."""
    fields = {"password": "R3seller-Passw0rd", **limits}
    assert client.call("POST", "/api/admin/reseller@partner.net", fields) == {"_success": True}
    reseller = Client(int(client.base.rsplit(":", 1)[1]))
    answer = reseller.call(
        "POST", "/api/login", {"username": "reseller@partner.net", "password": fields["password"]}
    )
    assert answer == {"_success": True}
    return reseller


def test_concurrent_domain_creates_never_pass_an_admins_limit(processes):
    """maxDomains=2: of 12 creates at once, exactly two pass (the admin's row is locked)."""
    _, _, _, ports = processes
    client = Client(ports["gateway"])
    client.login()
    reseller = _reseller(client, maxDomains="2")
    calls = [("POST", f"/api/domain/d{n}.org", {}) for n in range(12)]
    outcomes = _concurrently(ports, reseller.cookie, calls)
    assert outcomes.count("ok") == 2, outcomes
    assert outcomes.count("EXCEED_LIMIT_DOMAIN") == 10, outcomes
    assert len(client.call("GET", "/api/domains?name_only=yes")["_data"]) == 2


@pytest.mark.parametrize(
    "limit, column, code",
    [
        ("maxQuota", "quota", "EXCEED_LIMIT_QUOTA"),
        ("maxUsers", "numberOfUsers", "EXCEED_LIMIT_USERS"),
        ("maxAliases", "numberOfAliases", "EXCEED_LIMIT_ALIASES"),
        ("maxLists", "numberOfLists", "EXCEED_LIMIT_LISTS"),
    ],
)
def test_concurrent_domain_creates_never_pass_an_admins_sums(processes, limit, column, code):
    """A limit of 3 GB (or 3,072 users, aliases, lists) and ten creates of 1,024 at once."""
    _, _, _, ports = processes
    client = Client(ports["gateway"])
    client.login()
    limits = {"maxDomains": "0", limit: "3072"}
    if limit == "maxQuota":
        limits.update({limit: "3", "quotaUnit": "GB"})
    reseller = _reseller(client, **limits)
    calls = [("POST", f"/api/domain/q{n}.org", {column: "1024"}) for n in range(10)]
    outcomes = _concurrently(ports, reseller.cookie, calls)
    assert outcomes.count("ok") == 3, outcomes
    assert outcomes.count(code) == 7, outcomes


def test_an_api_key_through_the_processes(processes):
    _, _, _, ports = processes
    client = Client(ports["gateway"])
    client.login()
    key = client.call("POST", "/api/apikey/e2e", {"access": "rw"})["_data"]["key"]
    http = urllib3.PoolManager(retries=False, timeout=10)
    base = f"http://127.0.0.1:{ports['gateway']}"
    answer = http.request(
        "POST", base + "/api/domain/key.org", headers={"Authorization": f"Bearer {key}"}
    ).json()
    assert answer == {"_success": True}
    listed = http.request("GET", base + "/api/domains?name_only=yes",
                          headers={"X-API-Key": key}).json()  # fmt: skip
    assert listed["_data"] == ["key.org"]


def test_concurrent_creates_of_one_address(processes):
    _, _, _, ports = processes
    client = Client(ports["gateway"])
    client.login()
    client.call("POST", "/api/domain/example.com")
    calls = [("POST", "/api/user/same@example.com", {"password": "Us3r-Passw0rd"})] * 20
    outcomes = _concurrently(ports, client.cookie, calls)
    assert outcomes.count("ok") == 1, outcomes
    assert outcomes.count("ALREADY_EXISTS") == 19, outcomes


def test_concurrent_alias_creates_never_exceed_the_limit(processes):
    _, _, _, ports = processes
    client = Client(ports["gateway"])
    client.login()
    assert client.call("POST", "/api/domain/example.com", {"numberOfAliases": "10"})["_success"]
    calls = [("POST", f"/api/alias/a{n}@example.com", None) for n in range(30)]
    outcomes = _concurrently(ports, client.cookie, calls)
    assert outcomes.count("ok") == 10, outcomes
    assert outcomes.count("EXCEEDED_DOMAIN_ALIAS_LIMIT") == 20, outcomes


def test_concurrent_throttle_posts_make_one_row(processes):
    _, _, _, ports = processes
    client = Client(ports["gateway"])
    client.login()
    calls = [("POST", "/api/throttle/global/outbound", {"period": "60", "max_msgs": str(n)})
             for n in range(1, 21)]  # fmt: skip
    outcomes = _concurrently(ports, client.cookie, calls)
    assert outcomes == ["ok"] * 20, outcomes
    answer = client.call("GET", "/api/throttle/global/outbound")["_data"]
    assert answer["account"] == "@." and 1 <= answer["max_msgs"] <= 20
    from shared import db
    from shared.models.iredapd import Throttle

    assert Throttle.select().count() == 1
    db.release_connections()


def test_concurrent_first_anti_spam_writes_of_one_account(processes):
    """Racing first writes of a new account's spam policy, lists and greylisting setting: every
    one succeeds, and the account has one `users` row, one policy, every address, one setting."""
    _, _, _, ports = processes
    client = Client(ports["gateway"])
    client.login()
    assert client.call("POST", "/api/domain/example.com")["_success"]
    assert client.call("POST", "/api/user/u@example.com", {"password": "Us3r-Passw0rd"})["_success"]
    calls = [("PUT", "/api/spampolicy/user/u@example.com", {"spam_score": str(n)})
             for n in range(1, 7)]  # fmt: skip
    calls += [("POST", "/api/wblist/inbound/blacklist/u@example.com",
               {"addresses": f"s{n}@bad.test,@shared.test"}) for n in range(8)]  # fmt: skip
    calls += [("POST", "/api/greylisting/u@example.com", {"status": "disable"})] * 6
    outcomes = _concurrently(ports, client.cookie, calls)
    assert outcomes == ["ok"] * len(calls), outcomes
    listed = client.call("GET", "/api/wblist/inbound/blacklist/u@example.com")["_data"]
    assert listed == sorted([f"s{n}@bad.test" for n in range(8)] + ["@shared.test"])
    policy = client.call("GET", "/api/spampolicy/user/u@example.com")["_data"]
    assert 1 <= policy["spam_score"] <= 6
    from shared import db
    from shared.models.amavisd import AmavisdUser, Policy
    from shared.models.iredapd import Greylisting

    assert AmavisdUser.select().where(AmavisdUser.email == "u@example.com").count() == 1
    assert Policy.select().where(Policy.policy_name == "u@example.com").count() == 1
    assert Greylisting.select().count() == 1
    db.release_connections()


def test_concurrent_list_creates_keep_the_domains_limit(environment, mlmmjadmin):
    """Subscribable lists through the real processes and mlmmjadmin: racing creates in a domain
    allowed two lists make exactly two, rows and files."""
    env, ports = environment
    env.update({"MLMMJADMIN_API_BASE_URL": mlmmjadmin.url,
                "MLMMJADMIN_API_AUTH_TOKEN": mlmmjadmin.token})  # fmt: skip
    with running_processes(env, ports):
        client = Client(ports["gateway"])
        client.login()
        assert client.call("POST", "/api/domain/example.com", {"numberOfLists": "2"})["_success"]
        calls = [("POST", f"/api/ml/l{n}@example.com", {"owner": "o@example.org"})
                 for n in range(8)]  # fmt: skip
        outcomes = _concurrently(ports, client.cookie, calls)
        assert sorted(outcomes) == ["EXCEEDED_DOMAIN_LIST_LIMIT"] * 6 + ["ok"] * 2, outcomes
        made = client.call("GET", "/api/mls/example.com?email_only=yes")["_data"]
        assert len(made) == 2
        on_disk = sorted(
            p.name + "@example.com" for p in (mlmmjadmin.spool / "example.com").iterdir()
        )
        assert on_disk == made
        assert mlmmjadmin.owners(made[0]) == {"o@example.org"}


def raw_exchange(port: int, request: bytes) -> tuple[int, dict, bytes]:
    """Send raw bytes, read the answer until the server closes: (status, headers, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


def test_long_request_lines_and_what_gunicorn_refuses_answer_the_envelope(processes):
    _, _, _, ports = processes
    client = Client(ports["gateway"])
    client.login()
    client.call("POST", "/api/domain/example.com")
    # A client that sends every PUT parameter in the query string: 900 kB of them.
    junk = "&".join(f"unused{n}=" + "v" * 80 for n in range(10_000))
    answer = client.call("PUT", f"/api/domain/example.com?name=From-the-query&{junk}")
    assert answer == {"_success": True}
    assert client.call("GET", "/api/domain/example.com")["_data"]["description"] == (
        "From-the-query"
    )
    # Beyond the limit, and for what gunicorn cannot parse: the envelope, HTTP 200 (compat).
    port = ports["gateway"]
    too_long = b"GET /api/domains?q=" + b"x" * (1024 * 1024 + 9000) + b" HTTP/1.1\r\n\r\n"
    huge_header = b"GET /api/domains HTTP/1.1\r\nCookie: " + b"c" * 20_000 + b"\r\n\r\n"
    for request, code in (
        (too_long, "REQUEST_TOO_LARGE"),
        (huge_header, "REQUEST_TOO_LARGE"),
        (b"GARBAGE\r\n\r\n", "MALFORMED_BODY"),
        (b"GET /api/domains HTTP/9.9\r\n\r\n", "MALFORMED_BODY"),
        (b"GET /api/domains HTTP/1.1\r\nBad Header\r\n\r\n", "MALFORMED_BODY"),
    ):
        status, headers, body = raw_exchange(port, request)
        assert status == 200 and headers["Content-Type"].startswith("application/json"), body
        assert json.loads(body)["_msg"] == code
    # Just over API_MAX_BODY_BYTES of query string (but a line gunicorn takes): the gateway's
    # own check answers.
    over = "q=" + "x" * (1024 * 1024)
    assert client.call("GET", f"/api/domains?{over}")["_msg"] == "REQUEST_TOO_LARGE"
