"""Hostile input answers the envelope with a clear code, the same on every backend: values wider
than their column, NUL characters, invalid Unicode, absurd passwords, huge parameter lists."""

from __future__ import annotations

import time

import peewee
import pytest

from shared import db
from shared.errors import ApiError
from shared.models import MODELS_BY_DATABASE
from shared.models.base import capacity
from shared.models.iredadmin import Log
from shared.models.vmail import Alias, Domain, Forwarding, Mailbox
from tests.conftest import ADMIN, login
from tests.helpers import failure, rows

PW = "Us3r-Passw0rd"
WIDE = "x" * 256  # one more than a VARCHAR(255)
WIDE_TEXT = "é" * 40_000  # 80,000 bytes: more than a TEXT holds, in 40,000 characters


@pytest.fixture
def accounts(admin_api):
    assert admin_api.post("/api/domain/example.com").json["_success"]
    assert admin_api.post("/api/user/u@example.com", {"password": PW}).json["_success"]
    assert admin_api.post("/api/alias/team@example.com").json["_success"]
    return admin_api


def snapshot():
    return [rows(model.select()) for model in (Domain, Mailbox, Alias, Forwarding)]


STRING_PARAMETERS = [
    ("post", "/api/domain/new.test", "name", WIDE_TEXT),
    ("put", "/api/domain/example.com", "name", WIDE_TEXT),
    ("put", "/api/domain/example.com", "transport", "smtp:" + WIDE),
    ("put", "/api/domain/example.com", "outboundRelay", f"smtp:[{WIDE}]:25"),
    ("post", "/api/user/new@example.com", "name", WIDE),
    ("post", "/api/user/new@example.com", "cn", WIDE),  # the old name of `name`
    ("post", "/api/user/new@example.com", "mailboxFolder", "F" * 51),
    ("post", "/api/user/new@example.com", "maildir", "example.com/" + WIDE),
    ("put", "/api/user/u@example.com", "name", WIDE),
    ("put", "/api/user/u@example.com", "gn", WIDE),
    ("put", "/api/user/u@example.com", "sn", WIDE),
    ("put", "/api/user/u@example.com", "employeeid", WIDE),
    ("put", "/api/user/u@example.com", "password_hash", "{SSHA512}" + WIDE),
    ("put", "/api/user/u@example.com", "transport", "smtp:" + WIDE),
    ("put", "/api/user/u@example.com", "outboundRelay", f"smtp:[{WIDE}]"),
    ("put", "/api/user/u@example.com", "mailboxFolder", "F" * 51),
    ("put", "/api/users/example.com", "transport", "smtp:" + WIDE),
    ("post", "/api/alias/new@example.com", "name", "n" * 4096),
    ("put", "/api/alias/team@example.com", "name", "n" * 4096),
    ("post", "/api/maillist/list@example.com", "name", "n" * 4096),
]


@pytest.mark.parametrize(("method", "path", "name", "value"), STRING_PARAMETERS)
def test_values_wider_than_their_column(accounts, method, path, name, value):
    before = snapshot()
    answer = getattr(accounts, method)(path, {name: value})
    assert failure(answer) == "INVALID_PARAM"
    assert answer.json["_detail"].startswith(f"{name}"), answer.json
    assert snapshot() == before


def test_a_backup_mx_transport_that_would_not_fit(accounts):
    answer = accounts.put(
        "/api/domain/example.com", {"is_backupmx": "yes", "primarymx": "a" * 250 + ".org"}
    )
    assert failure(answer) == "INVALID_PARAM" and answer.json["_detail"].startswith("primarymx")


def test_values_that_just_fit_are_stored_whole(accounts):
    assert accounts.put("/api/alias/team@example.com", {"name": "n" * 255}).json["_success"]
    assert accounts.put("/api/domain/example.com", {"name": "é" * 30_000}).json["_success"]
    assert rows(Alias.select())[0]["name"] == "n" * 255
    assert rows(Domain.select())[0]["description"] == "é" * 30_000


@pytest.mark.parametrize("value", ["nul\x00byte", "tab\x00"])
def test_nul_characters_are_refused_everywhere(accounts, value):
    answer = accounts.put("/api/alias/team@example.com", {"name": value})
    assert failure(answer) == "INVALID_PARAM"


def test_a_lone_surrogate_in_json_is_a_malformed_body(accounts):
    for body in ('{"name": "\\ud800"}', '{"\\udfff": "x"}', '{"members": ["\\ud800@x.org"]}'):
        answer = accounts.put(
            "/api/alias/team@example.com", body, headers={"Content-Type": "application/json"}
        )
        assert failure(answer) == "MALFORMED_BODY", body


def every_string_column() -> list:
    return [
        pytest.param(model, field, id=f"{model.__name__}.{field.name}")
        for models in MODELS_BY_DATABASE.values()
        for model in models
        for field in model._meta.sorted_fields
        if capacity(field) is not None
    ]


def _too_wide(field) -> str:
    limit, unit = capacity(field)
    return "é" * (limit // 2 + 1) if unit == "bytes" else "a" * (limit + 1)


@pytest.mark.parametrize(("model", "field"), every_string_column())
def test_every_string_column_refuses_what_it_cannot_hold(model, field):
    """The model layer checks every write, so a column no parameter check names is safe too."""
    value = _too_wide(field)
    for write in (
        lambda: model.insert({field: value}),
        lambda: model.update({field: value}),
        lambda: model.insert_many([{field.name: value}]),
        lambda: db.insert_rows(model, (field.name,), [(value,)]),
    ):
        with pytest.raises(ApiError) as raised:
            write()
        assert raised.value.code == "INVALID_PARAM"
        assert raised.value.detail.startswith(field.column_name)


def test_a_huge_password_is_refused_at_once(make_api, global_admin, config):
    """Hashing cost grows with the length: a login is not authenticated yet."""
    from shared.models.vmail import Admin
    from shared.passwords import hash_password

    Admin.update(password=hash_password("Adm1n-Passw0rd", "SHA512-CRYPT")).where(
        Admin.username == ADMIN
    ).execute()
    db.release_connections()
    client = make_api()
    started = time.monotonic()
    answer = client.post("/api/login", {"username": ADMIN, "password": "P" * 1_000_000})
    assert failure(answer) == "INVALID_CREDENTIALS"
    assert time.monotonic() - started < 5
    login(client)
    client.post("/api/domain/example.com")
    answer = client.post("/api/user/u@example.com", {"password": "Aa1-" * 300})
    assert "PW_GREATER_THAN_MAX_LENGTH" in failure(answer).split(",")


def test_bcrypt_passwords_longer_than_72_bytes(make_api, global_admin):
    client = login(make_api(default_password_scheme="BCRYPT"))
    client.post("/api/domain/example.com")
    answer = client.post("/api/user/u@example.com", {"password": "Aa1-" * 19})
    assert failure(answer) == "PW_GREATER_THAN_MAX_LENGTH"
    assert client.post("/api/user/u@example.com", {"password": "Aa1-" * 18}).json["_success"]


def test_audit_messages_fit_however_many_parameters(accounts):
    names = {f"p{n:06d}": "" for n in range(60_000)}  # 480 kB of names, no values
    answer = accounts.put("/api/domain/example.com", {"name": "Renamed", **names})
    assert answer.json == {"_success": True}
    (entry,) = rows(Log.select().where(Log.event == "update"))
    assert len(entry["msg"].encode()) <= 65_535 and entry["msg"].startswith("[API] Update domain")


def test_throttle_audit_names_only_the_values_it_set(accounts):
    params = {"period": "60", "max_msgs": "5", "junk": "j" * 100_000}
    assert accounts.post("/api/throttle/example.com/outbound", params).json["_success"]
    (entry,) = rows(Log.select().where(Log.event == "update"))
    assert entry["msg"] == "[API] Set outbound throttle of @example.com: max_msgs=5, period=60"


def test_no_string_column_is_unbounded():
    """A new string column type must tell its capacity (or the write check would miss it)."""
    for models in MODELS_BY_DATABASE.values():
        for model in models:
            for field in model._meta.sorted_fields:
                if isinstance(field, peewee.CharField | peewee.TextField):
                    assert capacity(field) is not None, f"{model.__name__}.{field.name}"


@pytest.mark.parametrize(
    ("search", "code"),
    [
        ("\U0010ffff", None),
        ("a\U0010ffff", None),
        ("ж\t", None),  # no upper bound, no match
        ("a\x00b", "INVALID_PARAM"),
        (WIDE, "INVALID_PARAM"),
    ],  # fmt: skip
    ids=["max-code-point", "ends-with-max", "non-ascii", "nul", "wider-than-an-address"],
)
def test_any_search_answers_the_envelope(accounts, search, code):
    for path in ("/api/users/example.com", "/api/aliases/example.com", "/api/domains"):
        for paging in ({"limit": "5", "total": "yes"}, {}):
            answer = accounts.get(path, {"search": search, **paging})
            if code is None:
                assert answer.json["_success"] is True and answer.json["_data"] == [], path
            else:
                assert failure(answer) == code, path


@pytest.mark.parametrize("key", ["a\x00b", "\U0010ffff"])
def test_a_forged_cursor_answers_the_envelope(accounts, key):
    import base64

    cursor = base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")
    answer = accounts.get("/api/users/example.com", {"limit": "5", "cursor": cursor})
    if "\x00" in key:
        assert failure(answer) == "INVALID_PARAM"
    else:
        assert answer.json == {"_success": True, "_data": []}
