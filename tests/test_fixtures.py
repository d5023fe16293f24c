"""The mail-server fixtures fail loudly when the program cannot answer: a broken Postfix or
Dovecot must never read as "not found" or "wrong password" (that would let tests pass)."""

from __future__ import annotations

import pytest

from tests.dovecot import DovecotError, dovecot_samples, start_dovecot, stop_dovecot
from tests.postfix import Postfix, PostfixError, postfix_samples

UNREACHABLE = "mysql://root@127.0.0.1:1/nowhere"  # nothing listens on port 1


@pytest.fixture
def unreachable_postfix(tmp_path):
    folder = tmp_path / "postfix"
    folder.mkdir()
    return Postfix(folder, UNREACHABLE, postfix_samples())


def test_postfix_lookup_raises_when_the_database_cannot_be_reached(unreachable_postfix):
    with pytest.raises(PostfixError, match="mysql"):
        unreachable_postfix.lookup("virtual_mailbox_domains", "example.com")
    with pytest.raises(PostfixError):
        unreachable_postfix.resolve_alias("u@example.com")


def test_postfix_lookup_raises_on_a_missing_table(unreachable_postfix):
    with pytest.raises(PostfixError, match="no_such_table"):
        unreachable_postfix.lookup("no_such_table", "example.com")


def test_postfix_reads_its_own_configuration_directory(unreachable_postfix):
    """The maps come from the fixture's main.cf (iRedMail's), not from /etc/postfix."""
    maps = unreachable_postfix.maps("virtual_alias_maps")
    assert [m.rsplit("/", 1)[-1] for m in maps] == [
        "virtual_alias_maps.cf", "domain_alias_maps.cf", "catchall_maps.cf",
        "domain_alias_catchall_maps.cf",
    ]  # fmt: skip
    assert all(m.startswith(f"mysql:{unreachable_postfix.folder}/") for m in maps)


def test_dovecot_auth_raises_when_the_database_cannot_be_reached():
    server, folder = start_dovecot(UNREACHABLE, dovecot_samples())
    try:
        with pytest.raises(DovecotError, match="temp_fail"):
            server.auth("u@example.com", "Any-Passw0rd")
    finally:
        stop_dovecot(server, folder)
