"""The `mailapi` command: init-db and create-admin."""

from __future__ import annotations

import os

import pytest

from shared import cli, db
from shared.models.vmail import Admin, DomainAdmin
from shared.passwords import policy_errors, verify_password


@pytest.fixture
def env(config, monkeypatch):
    monkeypatch.setenv("VMAIL_DB_URL", config.vmail_db_url)
    monkeypatch.setenv("IREDAPD_DB_URL", config.iredapd_db_url)
    monkeypatch.setenv("IREDADMIN_DB_URL", config.iredadmin_db_url)
    return config


def test_init_db_is_idempotent(env, capsys):
    assert cli.main(["init-db"]) == 0
    assert capsys.readouterr().out.count("up to date") == 3


def test_create_admin(env, capsys):
    assert cli.main(["create-admin", "Root@Example.com", "--password", "Str0ng-Pass"]) == 0
    admin = Admin.get(Admin.username == "root@example.com")
    assert verify_password("Str0ng-Pass", admin.password)
    assert admin.password.startswith("{SSHA512}")
    assert admin.created.year > 2000
    assert DomainAdmin.get(DomainAdmin.username == "root@example.com").domain == "ALL"
    db.release_connections()


def test_create_admin_refuses_a_weak_password(env, capsys):
    assert cli.main(["create-admin", "root@example.com", "--password", "weak"]) == 1
    err = capsys.readouterr().err
    assert "PW_SHORTER_THAN_MIN_LENGTH" in err and "PW_NO_UPPERCASE" in err
    assert Admin.select().count() == 0
    db.release_connections()


def test_create_admin_refuses_a_duplicate_unless_reset(env, capsys):
    assert cli.main(["create-admin", "root@example.com", "--password", "Str0ng-Pass"]) == 0
    assert cli.main(["create-admin", "root@example.com", "--password", "0ther-Pass"]) == 1
    assert cli.main(["create-admin", "root@example.com", "--random-password", "--reset"]) == 0
    printed = capsys.readouterr().out.splitlines()[-1].split()[-1]
    assert verify_password(printed, Admin.get().password)
    assert DomainAdmin.select().count() == 1
    db.release_connections()


def test_random_passwords_meet_the_policy(config):
    for _ in range(200):
        assert policy_errors(cli.random_password(), 8, 0, config) == []


def test_configuration_errors_are_reported(monkeypatch, capsys):
    monkeypatch.setenv("API_ERROR_STATUS", "loud")
    assert cli.main(["init-db"]) == 2
    assert "API_ERROR_STATUS" in capsys.readouterr().err
    assert os.environ["API_ERROR_STATUS"] == "loud"
