"""The mail-server fixtures fail loudly when the program cannot answer: a broken Postfix or
Dovecot must never read as "not found" or "wrong password" (that would let tests pass)."""

from __future__ import annotations

import pytest

from tests.dovecot import DovecotError, dovecot_samples, start_dovecot, stop_dovecot
from tests.postfix import Postfix, PostfixError, postfix_samples

# Nothing listens on port 1; one URL per server backend, with its Postfix map type.
UNREACHABLE = {
    "mysql": "mysql://root@127.0.0.1:1/nowhere",
    "pgsql": "postgresql://postgres@127.0.0.1:1/nowhere",
}
LOGIN = ("reader", "Reader-Passw0rd")


@pytest.fixture(params=sorted(UNREACHABLE))
def map_type(request):
    return request.param


@pytest.fixture
def unreachable_postfix(tmp_path, map_type):
    folder = tmp_path / "postfix"
    folder.mkdir()
    return Postfix.sql(folder, UNREACHABLE[map_type], postfix_samples(map_type), LOGIN)


def test_postfix_lookup_raises_when_the_database_cannot_be_reached(unreachable_postfix, map_type):
    with pytest.raises(PostfixError, match=map_type):
        unreachable_postfix.lookup("virtual_mailbox_domains", "example.com")
    with pytest.raises(PostfixError):
        unreachable_postfix.resolve_alias("u@example.com")


def test_postfix_lookup_raises_on_a_missing_table(unreachable_postfix):
    with pytest.raises(PostfixError, match="no_such_table"):
        unreachable_postfix.lookup("no_such_table", "example.com")


def test_postfix_reads_its_own_configuration_directory(unreachable_postfix, map_type):
    """The maps come from the fixture's main.cf (iRedMail's), not from /etc/postfix."""
    maps = unreachable_postfix.maps("virtual_alias_maps")
    assert [m.rsplit("/", 1)[-1] for m in maps] == [
        "virtual_alias_maps.cf", "domain_alias_maps.cf", "catchall_maps.cf",
        "domain_alias_catchall_maps.cf",
    ]  # fmt: skip
    assert all(m.startswith(f"{map_type}:{unreachable_postfix.folder}/") for m in maps)


def test_dovecot_auth_raises_when_the_database_cannot_be_reached(map_type):
    url = UNREACHABLE[map_type]
    server, folder = start_dovecot(url, dovecot_samples(map_type), LOGIN)
    try:
        # MySQL answers temp_fail; Dovecot 2.3's pgsql driver logs the failed connect (and
        # its auth process dies): either way the fixture raises instead of "wrong password".
        with pytest.raises(DovecotError, match="temp_fail|Connect failed"):
            server.auth("u@example.com", "Any-Passw0rd")
    finally:
        stop_dovecot(server, folder)
