"""The API on databases iRedMail's installer made (its own schema files, not the project's DDL),
on MariaDB and PostgreSQL: `init-db` adds only the API's tables, and the mail-server checks of
the other modules (Postfix's maps, Dovecot's passdb/userdb, iRedAPD's throttle) pass unchanged,
re-run here against those databases."""

from __future__ import annotations

import pytest

from shared import db
from shared.schema import init_databases
from tests.conftest import TEST_DB, make_config
from tests.dovecot import dovecot_samples, start_dovecot, stop_dovecot
from tests.iredapd import running_iredapd
from tests.iredmail_schema import iredmail_databases
from tests.test_antispam_iredapd import mailbox, test_inbound_lists  # noqa: F401
from tests.test_domains_postfix import (  # noqa: F401
    test_alias_domain_resolves_to_the_target,
    test_backup_mx_is_a_relay_domain_not_a_mailbox_domain,
    test_catchall_catches_unknown_addresses_only,
    test_created_domain_is_a_mailbox_domain_and_a_disabled_one_is_not,
    test_domain_bcc,
    test_nothing_resolves_after_delete,
    test_outbound_relay,
)
from tests.test_spam_policies import test_bypass_and_quarantine_pairs  # noqa: F401
from tests.test_throttles_iredapd import (  # noqa: F401
    sender,
    test_iredapd_enforces_the_settings_the_api_writes,
)
from tests.test_users_mailserver import (  # noqa: F401
    test_dovecot_accepts_a_hash_made_by_doveadm,
    test_dovecot_logs_in_a_user_of_each_scheme,
    test_dovecot_user_home_and_quota,
    test_postfix_routes_the_user,
    test_status_services_and_password_changes,
    test_user_at_an_alias_domain_reaches_the_mailbox,
)

# The checks, re-collected in this module with its fixtures (below) in place of conftest's.
from tests.upstream import server_backend

pytestmark = pytest.mark.server_db
API_TABLES = {"iredadmin": ["api_keys", "api_login_failures", "api_pending_cascades"]}


@pytest.fixture
def database_urls(request):
    """This test's databases, made by iRedMail's own files."""
    roles = None
    if TEST_DB == "pgsql":
        roles = {
            name: user for name, (user, _) in request.getfixturevalue("database_roles").items()
        }
    with iredmail_databases(TEST_DB, roles) as urls:
        yield urls
        db.close_pools()


@pytest.fixture
def domain(admin_api):
    assert admin_api.post("/api/domain/example.com").json["_success"]
    return "example.com"


@pytest.fixture
def dovecot_server(database_urls, database_roles):
    """Dovecot on this test's databases (conftest's lives for the run's own databases)."""
    server, folder = start_dovecot(
        database_urls["vmail"], dovecot_samples(server_backend(database_urls["vmail"])),
        database_roles["vmail"],
    )  # fmt: skip
    yield server
    stop_dovecot(server, folder)


@pytest.fixture
def iredapd_server(database_urls, database_roles):
    login = database_roles["iredapd"] if TEST_DB == "pgsql" else None
    with running_iredapd(database_urls, login) as server:
        yield server


def test_init_db_adds_only_the_apis_own_tables(database_urls):
    created = init_databases(make_config(database_urls))
    db.release_connections()
    assert created == {
        "vmail": [],
        "iredapd": [],
        "iredadmin": API_TABLES["iredadmin"],
        "amavisd": [],
    }
    assert init_databases(make_config(database_urls)) == {name: [] for name in created}
    db.release_connections()


def test_postfix_resolves_an_alias_and_its_moderated_members(admin_api, domain, postfix):
    for user in ("u@example.com", "v@example.com"):
        assert admin_api.post(f"/api/user/{user}", {"password": "Us3r-Passw0rd"}).json == {
            "_success": True
        }
    answer = admin_api.post("/api/alias/team@example.com",
                            {"members": "u@example.com,x@elsewhere.org"}).json  # fmt: skip
    assert answer == {"_success": True}
    assert postfix.resolve_alias("team@example.com") == ["u@example.com", "x@elsewhere.org"]
    admin_api.put("/api/alias/team@example.com",
                  {"addMember": "v@example.com", "removeMember": "x@elsewhere.org"})  # fmt: skip
    assert postfix.resolve_alias("team@example.com") == ["u@example.com", "v@example.com"]
    admin_api.delete("/api/alias/team@example.com")
    assert postfix.resolve_alias("team@example.com") is None
