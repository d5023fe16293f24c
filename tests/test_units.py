"""Rules and parsing: validators, the parameter parser, settings text, passwords, paths."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.clients import client_address, parse_networks
from gateway.paths import api_relative_path
from shared import settings_text, sha_crypt
from shared.config import Config
from shared.errors import ApiError, rest_status
from shared.params import Params, body_pairs
from shared.passwords import (
    check_hash_prefix,
    check_policy,
    hash_password,
    policy_errors,
    verify_password,
)
from shared.validation import is_destination_address, is_domain, is_mailbox_address

CONFIG = Config()


# -- validation ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("example.com", True), ("a.b.example.co.uk", True), ("xn--bcher-kva.de", True),
        ("x-y.example.museum", True), ("nodot", False), ("exa mple.com", False),
        ("a..b.com", False), ("-a.com", False), ("a-.com", False), ("a" * 64 + ".com", False),
        ("a" * 63 + ".com", True), (("a" * 60 + ".") * 5 + "com", False), ("bücher.de", False),
        ("example.c", False), ("example.123", False), ("Example.com", False), ("", False),
        ("example.com.", False), ("_dmarc.example.com", False),
    ],
)  # fmt: skip
def test_domain_names(value, valid):
    assert is_domain(value) is valid


@pytest.mark.parametrize(
    ("value", "mailbox", "destination"),
    [
        ("user@example.com", True, True), ("first.last@example.com", True, True),
        ("a_b-c#d&e@example.com", True, True), ("user+tag@example.com", False, True),
        ("a=b@example.com", False, True), ("a/b@example.com", False, True),
        ("with space@example.com", False, False), ("two@@example.com", False, False),
        ("a@b@example.com", False, False), (".lead@example.com", False, False),
        ("dou..ble@example.com", False, False), ("trail.@example.com", False, False),
        ("@example.com", False, False), ("user@", False, False), ("user", False, False),
        ("x" * 250 + "@example.com", False, False), ("user@nodot", False, False),
    ],
)  # fmt: skip
def test_addresses(value, mailbox, destination):
    assert is_mailbox_address(value) is mailbox
    assert is_destination_address(value) is destination


@given(st.text(max_size=80))
def test_validators_never_raise_and_accept_only_lower_ascii(text):
    for check in (is_domain, is_mailbox_address, is_destination_address):
        if check(text):
            assert text.isascii() and text == text.lower() and len(text) <= 254


LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)


@given(st.lists(LABEL, min_size=1, max_size=4), st.from_regex(r"[a-z]{2,6}", fullmatch=True))
def test_generated_domains_are_valid(labels, tld):
    assert is_domain(".".join(labels + [tld]))


# -- parameters ------------------------------------------------------------------------------
def params(query=(), body=()):
    return Params(list(query), list(body))


def test_legacy_names_and_body_precedence():
    p = params([("cn", "q"), ("mailQuota", "5")], [("name", "b"), ("preferredLanguage", "de")])
    assert p.get_str("name") == "b"
    assert p.get_int("quota") == 5
    assert p.get_str("language") == "de"
    assert "cn" not in p


def test_blank_values_are_kept():
    p = params(body=[("catchall", "")])
    assert "catchall" in p and p.get_str("catchall") == "" and p.get_list("catchall") == []


@pytest.mark.parametrize("word", ["yes", "YES", "true", "1", "on"])
def test_true_words(word):
    assert params([("x", word)]).get_bool("x") is True


@pytest.mark.parametrize("word", ["no", "False", "0", "off"])
def test_false_words(word):
    assert params([("x", word)]).get_bool("x") is False


def test_bad_boolean():
    with pytest.raises(ApiError) as err:
        params([("x", "maybe")]).get_bool("x")
    assert err.value.code == "INVALID_PARAM"


@pytest.mark.parametrize(
    ("word", "status"),
    [("active", 1), ("enable", 1), ("enabled", 1), ("yes", 1), ("1", 1), ("disabled", 0)],
)
def test_status_words(word, status):
    assert params([("accountStatus", word)]).get_status() == status


def test_lists_are_trimmed_lowered_and_deduplicated():
    p = params([("members", " A@x.org, b@x.org ,a@X.org,, ")])
    assert p.get_address_list("members") == ["a@x.org", "b@x.org"]


def test_a_bad_list_entry_fails_the_request_and_is_named():
    with pytest.raises(ApiError) as err:
        params([("members", "a@x.org,not-an-address")]).get_address_list("members")
    assert err.value.code == "INVALID_MAIL" and "not-an-address" in err.value.detail


def test_replace_and_add_in_one_request():
    with pytest.raises(ApiError) as err:
        params([("members", "a@x.org"), ("addMember", "b@x.org")]).reject_combined(
            "members", "addMember", "removeMember"
        )
    assert err.value.code == "INVALID_PARAM" and "addMember" in err.value.detail


def test_too_many_list_entries():
    with pytest.raises(ApiError):
        params([("x", ",".join(str(n) for n in range(10_001)))]).get_list("x")


@pytest.mark.parametrize(("raw", "code"), [("x", "INVALID_NUMBER"), ("1.5", "INVALID_NUMBER")])
def test_bad_numbers(raw, code):
    with pytest.raises(ApiError) as err:
        params([("n", raw)]).get_int("n")
    assert err.value.code == code


def test_missing_required():
    with pytest.raises(ApiError) as err:
        params().get_str("period", required=True)
    assert err.value.code == "MISSING_PARAM"


def test_json_values_become_strings():
    pairs = body_pairs(b'{"a": true, "b": 5, "c": ["x", "y"], "d": null}', "application/json")
    assert dict(pairs) == {"a": "yes", "b": "5", "c": "x,y", "d": ""}


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (b"[1, 2]", "application/json"),
        (b'{"a": {"nested": 1}}', "application/json"),
        (b"\xff\xfe", "application/x-www-form-urlencoded"),
        (b"a=%ff", "application/x-www-form-urlencoded"),
        (b"<xml/>", "application/xml"),
    ],
)
def test_malformed_bodies(raw, content_type):
    with pytest.raises(ApiError) as err:
        body_pairs(raw, content_type)
    assert err.value.code in ("MALFORMED_BODY", "INVALID_PARAM")


def test_form_body_with_utf8_and_plus():
    assert body_pairs(b"name=J%C3%BCrgen+M", "application/x-www-form-urlencoded") == [
        ("name", "Jürgen M")
    ]


# -- settings text -----------------------------------------------------------------------------
def test_settings_round_trip_keeps_unknown_keys():
    text = "default_user_quota:100;custom_key:abc;disabled_user_profiles:b,a;"
    assert settings_text.as_object(text) == {
        "default_user_quota": 100,
        "custom_key": "abc",
        "disabled_user_profiles": ["b", "a"],
    }
    updated = settings_text.update(text, default_user_quota=None, max_user_quota=5)
    assert updated == "custom_key:abc;disabled_user_profiles:b,a;max_user_quota:5;"
    assert settings_text.update("", enabled_services=["z", "a", "z"]) == "enabled_services:a,z;"


def test_malformed_settings_pieces_are_dropped():
    assert settings_text.parse("a:1;;junk;b:;c:3") == {"a": "1", "c": "3"}


TOKEN = st.text(
    alphabet=st.characters(blacklist_characters=":;", blacklist_categories=("Cs", "Zs", "Cc")),
    min_size=1,
    max_size=10,
)


@given(st.dictionaries(TOKEN, TOKEN, max_size=8))
def test_settings_serialise_parse_round_trip(pairs):
    assert settings_text.parse(settings_text.serialise(pairs)) == pairs


# -- passwords ---------------------------------------------------------------------------------
def test_policy_lists_every_broken_rule_in_order():
    assert policy_errors("abc", 8, 0, CONFIG) == [
        "PW_SHORTER_THAN_MIN_LENGTH",
        "PW_NO_UPPERCASE",
        "PW_NO_DIGIT_NUMBER",
        "PW_NO_SPECIAL_CHAR",
    ]
    assert policy_errors("", 8, 0, CONFIG) == ["PW_EMPTY"]
    assert policy_errors("Abcdefg1!" * 3, 8, 10, CONFIG) == ["PW_GREATER_THAN_MAX_LENGTH"]
    assert policy_errors("ÄBcdefg1!", 8, 0, CONFIG) == ["PW_NON_ASCII"]
    assert policy_errors("12345678", 8, 0, CONFIG)[0] == "PW_NO_LETTER"


def test_policy_error_joins_codes():
    with pytest.raises(ApiError) as err:
        check_policy("short", CONFIG)
    assert (
        err.value.code
        == "PW_SHORTER_THAN_MIN_LENGTH,PW_NO_UPPERCASE,PW_NO_DIGIT_NUMBER,PW_NO_SPECIAL_CHAR"
    )


def test_domain_overrides_win():
    check_policy("Ab1!x", CONFIG, min_length=5)
    with pytest.raises(ApiError):
        check_policy("Ab1!xyz", CONFIG, max_length=6)


@pytest.mark.parametrize("scheme", ["SSHA512", "SSHA", "BCRYPT", "SHA512-CRYPT", "PLAIN"])
def test_hash_and_verify(scheme):
    stored = hash_password("Secr3t-pw", scheme)
    assert verify_password("Secr3t-pw", stored)
    assert not verify_password("Secr3t-px", stored)
    assert not stored.startswith("{BCRYPT}")


def test_bcrypt_is_stored_the_way_dovecot_reads_it():
    assert hash_password("x", "BCRYPT").startswith("{CRYPT}$2b$12$")


def test_verifies_hashes_written_elsewhere():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt

    stored = crypt.crypt("pw", "$6$abcdefgh")
    assert verify_password("pw", "{SHA512-CRYPT}" + stored)
    assert verify_password("pw", "{CRYPT}" + stored)
    assert verify_password("pw", "{SHA256-CRYPT}" + crypt.crypt("pw", "$5$rounds=6000$salty"))
    sha512 = base64.b64encode(hashlib.sha512(b"pw").digest()).decode()
    assert verify_password("pw", "{SHA512}" + sha512)
    assert not verify_password("px", "{SHA512}" + sha512)
    assert not verify_password("pw", "{UNKNOWN}abc")
    assert not verify_password("pw", None)


# Test vectors of Ulrich Drepper's SHA-crypt specification.
SHA_CRYPT_VECTORS = [
    ("$6$saltstring", b"Hello world!",
     "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"),
    ("$6$rounds=10000$saltstringsaltstring", b"Hello world!",
     "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."),
    ("$5$saltstring", b"Hello world!", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"),
]  # fmt: skip


@pytest.mark.parametrize(("setting", "password", "expected"), SHA_CRYPT_VECTORS)
def test_sha_crypt_gives_the_specifications_vectors(setting, password, expected):
    assert sha_crypt.crypt(password, setting) == expected
    assert sha_crypt.verify(password, expected)
    assert not sha_crypt.verify(password + b"x", expected)


@pytest.mark.parametrize(
    "stored", ["$6$", "$6$rounds=x$salt$abc", "$6$s$\u00e9t\u00e9", "$1$md5$x", ""]
)
def test_sha_crypt_refuses_malformed_hashes_without_raising(stored):
    assert not sha_crypt.verify(b"pw", stored)
    assert not sha_crypt.verify(b"p\x00w", "$6$saltstring$abc")


@pytest.mark.parametrize("value", ["{SSHA512}abc", "{ssha}x", "{CRYPT}$2b$x", "{ARGON2ID}$a"])
def test_accepted_hash_prefixes(value):
    assert check_hash_prefix(value) == value


@pytest.mark.parametrize("value", ["{MD5}abc", "plain", "{BCRYPT}$2b$x"])
def test_refused_hash_prefixes(value):
    with pytest.raises(ApiError) as err:
        check_hash_prefix(value)
    assert err.value.code == "INVALID_PASSWORD_SCHEME"


@pytest.mark.parametrize("scheme", ["SSHA512", "SSHA", "BCRYPT", "SHA512-CRYPT", "PLAIN"])
def test_doveadm_accepts_every_hash_the_api_writes(scheme):
    if not shutil.which("doveadm"):
        if os.environ.get("REQUIRE_DOVECOT") == "1":
            pytest.fail("REQUIRE_DOVECOT=1 but doveadm is not installed")
        pytest.skip("doveadm is not installed (apt-get install dovecot-core)")
    stored = hash_password("Secr3t-pw", scheme)
    good = subprocess.run(["doveadm", "pw", "-t", stored, "-p", "Secr3t-pw"], capture_output=True)
    bad = subprocess.run(["doveadm", "pw", "-t", stored, "-p", "Secr3t-px"], capture_output=True)
    assert good.returncode == 0, good.stderr
    assert bad.returncode != 0


# -- errors, paths, client addresses --------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "status"),
    [("LOGIN_REQUIRED", 401), ("NO_SUCH_DOMAIN", 404), ("EXCEEDED_DOMAIN_QUOTA_SIZE", 422),
     ("PW_EMPTY,PW_NO_LETTER", 422), ("INVALID_MAIL", 400), ("ALREADY_EXISTS", 409),
     ("TOO_MANY_REQUESTS", 429), ("SERVICE_UNAVAILABLE", 503), ("UPSTREAM_TIMEOUT", 504)],
)  # fmt: skip
def test_rest_status(code, status):
    assert rest_status(code) == status


PREFIXES = ("/api", "/iredadmin/api")


@pytest.mark.parametrize(
    ("path", "relative"),
    [("/api/login", "/login"), ("/api//login", "/login"), ("/api/login/", "/login"),
     ("//api///domain//x.org/", "/domain/x.org"), ("/iredadmin/api/domains", "/domains"),
     ("/api", "/"), ("/apix/login", None), ("/other", None), ("/iredadmin/login", None)],
)  # fmt: skip
def test_relative_paths(path, relative):
    assert api_relative_path(path, PREFIXES) == relative


TRUSTED = parse_networks(["127.0.0.1", "10.0.0.0/8"])


@pytest.mark.parametrize(
    ("peer", "header", "client"),
    [("192.0.2.1", "10.0.0.9", "192.0.2.1"), ("127.0.0.1", None, "127.0.0.1"),
     ("127.0.0.1", "198.51.100.1", "198.51.100.1"),
     ("127.0.0.1", "6.6.6.6, 198.51.100.1, 10.1.1.1", "198.51.100.1"),
     ("127.0.0.1", "10.2.2.2, 10.1.1.1", "10.2.2.2"), ("127.0.0.1", "junk", "junk")],
)  # fmt: skip
def test_client_address(peer, header, client):
    assert client_address(peer, header, TRUSTED) == client


def test_config_from_environment():
    config = Config.from_env(
        {
            "ENABLE_RESTFUL_API": "yes",
            "RESTFUL_API_CLIENTS": "10.0.0.0/8, ::1",
            "SESSION_TIMEOUT": "60",
            "DOMAIN_SERVICE_BIND": "127.0.0.1:9001",
        }
    )
    assert config.enable_restful_api is True
    assert config.restful_api_clients == ("10.0.0.0/8", "::1")
    assert config.session_timeout == 60
    assert dict(config.service_binds)["domain"] == "127.0.0.1:9001"
    with pytest.raises(ValueError):
        Config.from_env({"SESSION_TIMEOUT": "soon"})
    with pytest.raises(ValueError):
        Config.from_env({"ENABLE_RESTFUL_API": "perhaps"})


@pytest.mark.parametrize(
    "url", ["postgresql://vmailadmin:p%40ss@db.example:5433/vmail", "postgres://vmailadmin:p%40ss@db.example:5433/vmail",
            "postgresql+pool://vmailadmin:p%40ss@db.example:5433/vmail"],
)  # fmt: skip
def test_postgresql_urls_open_a_pool_without_connecting(url):
    from playhouse.pool import PooledPostgresqlDatabase

    from shared.db import open_database

    database = open_database(url, pool_size=3)
    assert isinstance(database, PooledPostgresqlDatabase)
    assert database.database == "vmail" and database._max_connections == 3
    params = database.connect_params
    assert (params["user"], params["password"], params["host"], params["port"]) == (
        "vmailadmin", "p@ss", "db.example", 5433,
    )  # fmt: skip
    assert params["options"] == "-c TimeZone=UTC"


def test_an_unknown_database_scheme_is_refused():
    from shared.db import open_database

    with pytest.raises(ValueError, match="postgresql://"):
        open_database("oracle://x@y/z")
