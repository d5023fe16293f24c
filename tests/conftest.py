"""Fixtures: fresh databases per test (SQLite files; MariaDB with TEST_DB=mysql; PostgreSQL
with TEST_DB=pgsql), the services and gateway built in-process from a test config, and
logged-in WebTest clients."""

from __future__ import annotations

import dataclasses
import os
import uuid

# Every parameter an endpoint reads must be declared (shared/api_params.py): set before the
# project's modules are imported, and inherited by the processes the tests start.
os.environ.setdefault("MAILAPI_STRICT_PARAMS", "1")

import pymysql  # noqa: E402
import pytest
import webtest
from playhouse import db_url

from gateway.app import create_app as create_gateway
from gateway.upstream import InProcessTransport
from services.admin.app import create_app as create_admin_service
from services.alias.app import create_app as create_alias
from services.amavisd.app import create_app as create_amavisd
from services.domain.app import create_app as create_domain
from services.ldif.app import create_app as create_ldif
from services.mlmmj.app import create_app as create_mlmmj
from services.throttle.app import create_app as create_throttle
from services.user.app import create_app as create_user
from shared import db
from shared.config import Config
from shared.models import MODELS_BY_DATABASE
from shared.models.amavisd import Policy
from shared.rules.admins import create_global_admin
from shared.schema import init_databases
from shared.schema_amavisd import seed_global_policy
from tests import pgsql

TEST_DB = os.environ.get("TEST_DB", "sqlite")  # sqlite, mysql or pgsql
SERVER_DB = TEST_DB in ("mysql", "pgsql")
REQUIRE_MYSQL = os.environ.get("REQUIRE_MYSQL") == "1"
REQUIRE_PGSQL = os.environ.get("REQUIRE_PGSQL") == "1"
# A URL that refuses connections on the backend under test (nothing listens on port 1).
UNREACHABLE = {
    "mysql": "mysql://root@127.0.0.1:1/{}",
    "pgsql": "postgresql://postgres@127.0.0.1:1/{}",
}.get(TEST_DB, "sqlite:////nonexistent/{}.db")
MYSQL_URL = os.environ.get("TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306")
ADMIN = "admin@example.com"
ADMIN_PASSWORD = "Adm1n-Passw0rd"
SERVICE_FACTORIES = {
    "domain": create_domain,
    "user": create_user,
    "alias": create_alias,
    "throttle": create_throttle,
    "admin": create_admin_service,
    "ldif": create_ldif,
    "amavisd": create_amavisd,
    "mlmmj": create_mlmmj,
}


def mysql_connection(database: str | None = None):
    params = db_url.parse(MYSQL_URL + "/x")
    return pymysql.connect(
        host=params.get("host", "127.0.0.1"),
        port=params.get("port", 3306),
        user=params.get("user", "root"),
        password=params.get("passwd", params.get("password", "")),
        database=database,
        autocommit=True,
    )


def mysql_reachable() -> bool:
    try:
        mysql_connection().close()
        return True
    except pymysql.MySQLError:
        return False


def pytest_collection_modifyitems(config, items):
    if TEST_DB not in ("sqlite", "mysql", "pgsql"):
        raise pytest.UsageError(f"TEST_DB must be sqlite, mysql or pgsql, not {TEST_DB!r}")
    unreachable = None
    if TEST_DB == "mysql" and not mysql_reachable():
        if REQUIRE_MYSQL:
            raise pytest.UsageError(f"TEST_DB=mysql but MariaDB is unreachable at {MYSQL_URL}")
        unreachable = f"MariaDB unreachable at {MYSQL_URL}"
    if TEST_DB == "pgsql" and not pgsql.reachable():
        if REQUIRE_PGSQL:
            raise pytest.UsageError(
                f"TEST_DB=pgsql but PostgreSQL is unreachable at {pgsql.PGSQL_URL}"
            )
        unreachable = f"PostgreSQL unreachable at {pgsql.PGSQL_URL}"
    for item in items:
        if unreachable:
            item.add_marker(pytest.mark.skip(reason=unreachable))
        elif "server_db" in item.keywords and not SERVER_DB:
            item.add_marker(pytest.mark.skip(reason="needs TEST_DB=mysql or TEST_DB=pgsql"))
        elif "mysql_only" in item.keywords and TEST_DB != "mysql":
            item.add_marker(pytest.mark.skip(reason="needs TEST_DB=mysql"))
        elif "pgsql_only" in item.keywords and TEST_DB != "pgsql":
            item.add_marker(pytest.mark.skip(reason="needs TEST_DB=pgsql"))


def _drop_mysql_databases(names) -> None:
    db.close_pools()
    connection = mysql_connection()
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    connection.close()


@pytest.fixture(scope="session")
def mysql_databases():
    """The four uniquely named MariaDB databases with the schema, dropped when the run ends.

    Creating iRedMail's schema costs over a second on InnoDB (one statement per index), so
    the databases are made once per run and every test starts from emptied tables.
    """
    tag = uuid.uuid4().hex[:12]
    names = {name: f"mailapi_test_{tag}_{name}" for name in MODELS_BY_DATABASE}
    urls = {name: f"{MYSQL_URL}/{database}" for name, database in names.items()}
    try:
        init_databases(make_config(urls))
        db.release_connections()
        yield urls
    finally:
        _drop_mysql_databases(names.values())


def _empty_all_tables() -> None:
    for name, models in MODELS_BY_DATABASE.items():
        proxy = db.DATABASES[name]
        with proxy.connection_context():
            proxy.execute_sql("SET FOREIGN_KEY_CHECKS = 0")
            for model in models:
                model.delete().execute()


@pytest.fixture(scope="session")
def pgsql_templates():
    """The run's three template databases, with the schema init-db makes; every test's
    databases are copies of them (a copy costs milliseconds, a schema build a second).

    Two roles of the run come with them, with iRedMail's rights: a read-only `vmail` reader
    (Postfix, Dovecot; all of `used_quota`) and an `iredapd` role (its database, and reads of
    vmail), so the real readers prove the rows work with no more than those rights.
    """
    tag = uuid.uuid4().hex[:12]
    names = {name: f"mailapi_{tag}_tmpl_{name}" for name in MODELS_BY_DATABASE}
    roles = {"vmail": f"mailapi_{tag}_vmail", "iredapd": f"mailapi_{tag}_iredapd"}
    dropper = pgsql.Dropper()
    try:
        for role in roles.values():
            pgsql.create_role(role)
        init_databases(make_config({name: f"{pgsql.PGSQL_URL}/{n}" for name, n in names.items()}))
        pgsql.grant_iredmail_rights(names, roles)
        db.close_pools()  # a template must have no connections
        yield tag, names, dropper, roles
    finally:
        db.close_pools()
        for name in names.values():
            dropper.drop(name)
        dropper.wait()
        for role in roles.values():
            pgsql.drop_role(role)


@pytest.fixture(scope="session")
def database_roles(request) -> dict[str, tuple[str, str]]:
    """(user, password) that the real mail-server programs log in with, per reader."""
    if TEST_DB == "pgsql":
        roles = request.getfixturevalue("pgsql_templates")[3]
        return {name: (role, pgsql.READER_PASSWORD) for name, role in roles.items()}
    params = db_url.parse(MYSQL_URL + "/x")
    root = (params.get("user", "root"), params.get("passwd", params.get("password", "")))
    return {"vmail": root, "iredapd": root}


@pytest.fixture(scope="session")
def pgsql_run_databases(request):
    """The run's three PostgreSQL databases, copies of the templates made once; every test
    starts from emptied tables, as on MariaDB (a CREATE DATABASE costs half a second on this
    kind of machine, a TRUNCATE of every table a few milliseconds)."""
    tag, templates, dropper, _ = request.getfixturevalue("pgsql_templates")
    names = {name: f"mailapi_{tag}_run_{name}" for name in templates}
    urls = {name: pgsql.create_database(names[name], templates[name]) for name in names}
    yield urls
    db.close_pools()
    for name in names.values():
        dropper.drop(name)


def _empty_pgsql_tables(urls: dict[str, str]) -> None:
    """DELETE in one transaction per database: the tables hold a test's few rows, and a
    TRUNCATE (new files for every table) cost 0.8 s per database here, a DELETE 0.08 s."""
    db.release_connections()
    for name, models in MODELS_BY_DATABASE.items():
        with pgsql.connection(urls[name].rsplit("/", 1)[1]) as conn, conn.transaction():
            conn.execute("SET LOCAL lock_timeout = '10s'")  # a test left a lock: fail, never hang
            for model in models:
                conn.execute(f'DELETE FROM "{model._meta.table_name}"')


def restore_pgsql_grants(request) -> None:
    """iRedMail's rights again, for a test that dropped and re-created a table."""
    if TEST_DB == "pgsql":
        roles = request.getfixturevalue("pgsql_templates")[3]
        urls = request.getfixturevalue("pgsql_run_databases")
        pgsql.grant_iredmail_rights({n: u.rsplit("/", 1)[1] for n, u in urls.items()}, roles)


@pytest.fixture
def database_urls(request, tmp_path):
    """Three empty databases for this test: new SQLite files, or the run's emptied MariaDB or
    PostgreSQL ones."""
    if TEST_DB == "pgsql":
        urls = request.getfixturevalue("pgsql_run_databases")
        _empty_pgsql_tables(urls)
        return urls
    if TEST_DB != "mysql":
        return {name: f"sqlite:///{tmp_path}/{name}.db" for name in MODELS_BY_DATABASE}
    urls = request.getfixturevalue("mysql_databases")
    db.bind_databases(make_config(urls))
    _empty_all_tables()
    return urls


def make_config(urls: dict[str, str], **overrides) -> Config:
    settings = {
        "vmail_db_url": urls["vmail"],
        "iredapd_db_url": urls["iredapd"],
        "iredadmin_db_url": urls["iredadmin"],
        "amavisd_db_url": urls["amavisd"],
        "enable_restful_api": True,
        "internal_secret": "test-internal-secret",
        "session_cookie_secure": False,
        "db_pool_size": 4,
    }
    settings.update(overrides)
    return dataclasses.replace(Config(), **settings)


@pytest.fixture
def config(database_urls) -> Config:
    """A test configuration whose databases hold iRedMail's schema, as init-db leaves a new
    server: empty but for the global spam policy (which emptying the run's server databases
    removed, so it is written again there)."""
    cfg = make_config(database_urls)
    init_databases(cfg)
    with db.amavisd_db.connection_context():
        if not Policy.select().where(Policy.policy_name == "@.").exists():
            seed_global_policy()
    db.release_connections()
    yield cfg
    db.release_connections()


@pytest.fixture
def service_apps(config):
    return {name: factory(config) for name, factory in SERVICE_FACTORIES.items()}


@pytest.fixture
def make_api(config):
    """A WebTest client of the gateway (in-process services), with config overrides."""

    def factory(services=tuple(SERVICE_FACTORIES), remote_addr="127.0.0.1", apps=None, **overrides):
        cfg = dataclasses.replace(config, **overrides)
        service_apps = {name: SERVICE_FACTORIES[name](cfg) for name in services}
        service_apps.update(apps or {})
        app = create_gateway(cfg, InProcessTransport(service_apps))
        return webtest.TestApp(app, extra_environ={"REMOTE_ADDR": remote_addr})

    return factory


@pytest.fixture
def api(make_api):
    return make_api()


@pytest.fixture
def global_admin(config):
    create_global_admin(ADMIN, ADMIN_PASSWORD, config)
    db.release_connections()
    return ADMIN


def login(client, username=ADMIN, password=ADMIN_PASSWORD):
    answer = client.post("/api/login", {"username": username, "password": password}).json
    assert answer == {"_success": True}, answer
    return client


@pytest.fixture
def admin_api(api, global_admin):
    """The gateway client, logged in as a global admin."""
    return login(api)


@pytest.fixture
def accounts(admin_api):
    """The global admin's client, with the domain example.com and the mailbox u@example.com
    (rows written directly)."""
    from tests.helpers import add_domain, add_user_rows

    add_domain("example.com")
    add_user_rows("u@example.com")
    return admin_api


from tests.amavisd import amavisd, amavisd_server  # noqa: E402,F401
from tests.dovecot import dovecot, dovecot_server  # noqa: E402,F401
from tests.iredapd import iredapd, iredapd_server  # noqa: E402,F401
from tests.mlmmjadmin import mlmmjadmin, mlmmjadmin_server  # noqa: E402,F401
from tests.postfix import postfix  # noqa: E402,F401  (the fixture, for every test module)
from tests.processes import environment, processes  # noqa: E402,F401
from tests.slapd import slapd  # noqa: E402,F401
