"""The `mailapi` command: init-db and create-admin."""

from __future__ import annotations

import os

import pytest

from shared import cli, db
from shared.models.vmail import Admin, DomainAdmin
from shared.passwords import policy_errors, verify_password


@pytest.fixture
def env(config, monkeypatch):
    for name, url in config.database_urls().items():
        monkeypatch.setenv(f"{name.upper()}_DB_URL", url)
    return config


def test_init_db_is_idempotent(env, capsys):
    assert cli.main(["init-db"]) == 0
    assert capsys.readouterr().out.count("up to date") == 4


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


def test_settings_come_from_an_env_file(config, tmp_path, monkeypatch, capsys):
    urls = config.database_urls()
    for name in urls:
        monkeypatch.delenv(f"{name.upper()}_DB_URL", raising=False)
    settings = tmp_path / "mailapi.env"
    lines = "".join(f"{name.upper()}_DB_URL={url}\n" for name, url in urls.items())
    settings.write_text(f"# as .env.example\n{lines}")
    monkeypatch.setattr(os, "environ", dict(os.environ))  # what the file sets stays in the test
    assert cli.main(["create-admin", "ops@example.com", "--password", "Str0ng-Pass",
                     "--env-file", str(settings)]) == 0  # fmt: skip
    assert Admin.get().username == "ops@example.com"
    db.release_connections()


def test_serve_refuses_a_process_the_procfile_lacks(tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text("gateway: exec true\n")
    with pytest.raises(SystemExit, match="no process 'nope'"):
        cli.main(["serve", "nope", "--procfile", str(procfile)])


def test_deploy_config_writes_one_unit_per_procfile_line(tmp_path, capsys):
    procfile = tmp_path / "Procfile"
    procfile.write_text("gateway: exec true\nworker: exec false\n")
    out = tmp_path / "out"
    assert cli.main(["deploy-config", "--procfile", str(procfile), "--out", str(out),
                     "--prefix", "/srv/api", "--user", ""]) == 0  # fmt: skip
    units = sorted(p.name for p in (out / "systemd").iterdir())
    assert units == ["mailapi-gateway.service", "mailapi-worker.service", "mailapi.target"]
    unit = (out / "systemd" / "mailapi-worker.service").read_text()
    assert "ExecStart=/srv/api/.venv/bin/mailapi serve worker --env-file" in unit
    assert "User=" not in unit
    programs = (out / "supervisor" / "mailapi.conf").read_text()
    assert (
        "[program:mailapi-worker]" in programs
        and "programs=mailapi-gateway,mailapi-worker" in programs
    )
