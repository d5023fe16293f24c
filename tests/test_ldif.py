"""LDIF export (CONTRACT §4.10): through the gateway, then loaded into a real slapd with
iRedMail's schema (slapadd, slapschema, ldapadd) and its passwords verified by slapd's bind."""

from __future__ import annotations

import io

import pytest
from ldif import LDIFParser

from shared import db
from shared.cli import main as mailapi
from shared.models.vmail import DomainAdmin, Forwarding, Maillist, MaillistOwner, Moderator
from shared.passwords import hash_password
from shared.rules.ldif import escape_rdn_value, ldif_text
from shared.timeutil import utcnow
from tests.conftest import ADMIN, login
from tests.dovecot import dovecot_samples, start_ldap_dovecot, stop_dovecot
from tests.helpers import add_domain_admin, failure
from tests.postfix import Postfix, Resolver, postfix_samples
from tests.slapd import ADMINS_DN, BASE_DN

PASSWORD = "Us3r-Passw0rd!"
SCHEMES = ("SSHA512", "BCRYPT", "SHA512-CRYPT", "SSHA", "PLAIN")
HASHES = {scheme: hash_password(PASSWORD, scheme) for scheme in SCHEMES}  # once per run


def ok(answer) -> dict:
    body = answer.json
    assert body["_success"], body
    return body


@pytest.fixture
def server(make_api, global_admin):
    """Every kind of account, made through the API; passwords shown (for the export)."""
    api = login(make_api(api_hidden_user_profiles=(), api_hidden_admin_profiles=()))
    domain = {"name": "Example Org", "quota": "4096", "numberOfUsers": "50", "defaultQuota": "512"}
    ok(api.post("/api/domain/example.org", domain))
    ok(api.put("/api/domain/example.org", {"aliasDomains": "example.net",
                                           "senderBcc": "audit@example.org",
                                           "outboundRelay": "smtp:[relay.example.org]:587",
                                           "minPasswordLength": "10"}))  # fmt: skip
    for scheme in SCHEMES:
        local = scheme.lower().replace("-", "")
        ok(api.post(f"/api/user/{local}@example.org",
                    {"password_hash": HASHES[scheme], "name": f"User {scheme}",
                     "quota": "100"}))  # fmt: skip
    ok(api.post("/api/user/jane@example.org", {"password": PASSWORD, "name": "Jäne Doe "}))
    ok(api.put("/api/user/jane@example.org", {
        "forwarding": "jane@example.org,jane@elsewhere.com", "aliases": "j.doe@example.org",
        "senderBcc": "boss@elsewhere.com", "recipientBcc": "archive@elsewhere.com",
        "outboundRelay": "smtp:[10.0.0.1]:25", "services": "smtp,imap,deliver,lda,lmtp",
        "employeeid": "E-42"}))  # fmt: skip
    ok(api.post("/api/user/gone@example.org", {"password": PASSWORD}))
    ok(api.put("/api/user/gone@example.org", {"accountStatus": "disabled"}))
    team = {"name": "Team", "accessPolicy": "membersonly",
            "members": "jane@example.org,x@elsewhere.com"}  # fmt: skip
    ok(api.post("/api/alias/team@example.org", team))
    ok(api.put("/api/alias/team@example.org", {"moderators": "jane@example.org"}))
    ok(api.put("/api/domain/example.org", {"catchall": "jane@example.org"}))
    ok(api.post("/api/domain/off.org", {}))
    ok(api.post("/api/user/u@off.org", {"password": PASSWORD}))
    ok(api.put("/api/domain/off.org", {"accountStatus": "disabled"}))
    ok(api.post("/api/admin/reseller@partner.net", {"password": PASSWORD, "name": "Reseller",
                                                    "maxDomains": "3", "maxUsers": "10",
                                                    "disableViewingMailLog": "yes"}))  # fmt: skip
    add_domain_admin("reseller@partner.net", "example.org")
    add_mlmmj_list("news@example.org", owner="jane@example.org", moderator="ssha@example.org")
    return api


def add_mlmmj_list(address: str, owner: str, moderator: str) -> None:
    """An mlmmj list's rows as iRedAdmin writes them (the API for them comes with issue 15)."""
    now = utcnow()
    local, domain = address.split("@")
    Maillist.insert(address=address, domain=domain, transport=f"mlmmj:{domain}/{local}",
                    accesspolicy="public", maxmsgsize=1048576, name="News", description="",
                    mlid="0c2d6bd4-41c6-4d0b-8b51-0c6b0c1a1b2c", created=now, modified=now,
                    active=1).execute()  # fmt: skip
    MaillistOwner.insert(address=address, owner=owner, domain=domain, dest_domain=domain).execute()
    Moderator.insert(address=address, moderator=moderator, domain=domain,
                     dest_domain=domain).execute()  # fmt: skip
    db.release_connections()


def export(api, path: str, **params) -> str:
    return ok(api.get(f"/api/ldif/{path}", params))["_data"]


def whole_server(api) -> str:
    text = export(api, "domain/example.org", with_accounts="yes")
    text += export(api, "domain/off.org", with_accounts="yes")
    text += export(api, f"admin/{ADMIN}") + export(api, "admin/reseller@partner.net")
    return text


def test_every_export_loads_with_slapadd_and_passes_slapschema(server, slapd):
    text = whole_server(server)
    slapd.slapadd(text)
    slapd.slapschema()
    dump = slapd.slapcat()
    for dn in ("mail=jane@example.org,ou=Users,domainName=example.org",
               "mail=@example.org,ou=Users,domainName=example.org",
               "mail=team@example.org,ou=Aliases,domainName=example.org",
               "mail=u@off.org,ou=Users,domainName=off.org",
               f"mail=reseller@partner.net,{ADMINS_DN}"):  # fmt: skip
        assert f"dn: {dn}" in dump.replace("\n ", ""), dn


def test_every_export_loads_with_ldapadd_into_a_running_slapd(server, slapd):
    slapd.start()
    slapd.ldapadd(whole_server(server))
    users = slapd.search(BASE_DN, "(objectClass=mailUser)", "mail")
    assert len(users) == len(SCHEMES) + 4  # + jane, gone, u@off.org, the catch-all


def test_each_password_scheme_binds_in_slapd(server, slapd):
    slapd.start()
    slapd.ldapadd(whole_server(server))
    for scheme in SCHEMES:
        local = scheme.lower().replace("-", "")
        dn = f"mail={local}@example.org,ou=Users,domainName=example.org,{BASE_DN}"
        assert slapd.bind(dn, PASSWORD), scheme
        assert not slapd.bind(dn, "wrong-password"), scheme
    admin_dn = f"mail=reseller@partner.net,{ADMINS_DN}"
    assert slapd.bind(admin_dn, PASSWORD)


# The PHP client (Bezlaj/PHPiRedAdminProAPI): get_ldif_domain, get_ldif_catchall, get_ldif_admin,
# get_ldif_user, get_ldif_maillist, get_ldif_alias each GET "$API_HOST/ldif/<type>/<x>" with the
# cookie file and json_decode the answer.
IN_DOMAIN = f"domainName=example.org,{BASE_DN}"


@pytest.mark.parametrize(
    "path, first_dn",
    [
        ("domain/example.org", IN_DOMAIN),
        ("catchall/example.org", f"mail=@example.org,ou=Users,{IN_DOMAIN}"),
        (f"admin/{ADMIN}", f"mail={ADMIN},{ADMINS_DN}"),
        ("user/jane@example.org", f"mail=jane@example.org,ou=Users,{IN_DOMAIN}"),
        ("maillist/news@example.org", f"mail=news@example.org,ou=Groups,{IN_DOMAIN}"),
        ("alias/team@example.org", f"mail=team@example.org,ou=Aliases,{IN_DOMAIN}"),
    ],
)
def test_php_get_ldif(server, path, first_dn):
    answer = server.get(f"/api/ldif/{path}")
    assert answer.content_type == "application/json"
    text = answer.json["_data"]
    assert text.replace("\n ", "").startswith(f"dn: {first_dn}\n") and text.endswith("\n\n")


def test_the_mlmmj_list_entry(server):
    entry = ok(server.get("/api/ldif/maillist/news@example.org?format=json"))["_data"][0]["ldif"]
    assert entry["objectClass"] == ["mailList"]
    assert entry["enabledService"] == ["mail", "deliver", "mlmmj"]
    assert entry["mtaTransport"] == ["mlmmj:example.org/news"]
    assert entry["listOwner"] == ["jane@example.org"]
    assert entry["listModerator"] == ["ssha@example.org"]
    assert entry["listAllowedUser"] == ["jane@example.org", "ssha@example.org"]
    assert entry["shadowAddress"] == ["news@example.net"]


def test_the_entries(server):
    jane = ok(server.get("/api/ldif/user/jane@example.org?format=json"))["_data"][0]
    attrs = jane["ldif"]
    assert jane["dn"] == f"mail=jane@example.org,ou=Users,domainName=example.org,{BASE_DN}"
    assert attrs["mailForwardingAddress"] == ["jane@elsewhere.com", "jane@example.org"]
    assert sorted(attrs["shadowAddress"]) == ["j.doe@example.net", "j.doe@example.org",
                                              "jane@example.net"]  # fmt: skip
    assert attrs["userSenderBccAddress"] == ["boss@elsewhere.com"]
    assert attrs["userRecipientBccAddress"] == ["archive@elsewhere.com"]
    assert attrs["senderRelayHost"] == ["smtp:[10.0.0.1]:25"]
    assert attrs["employeeNumber"] == ["E-42"]
    assert {"mail", "smtp", "imap", "deliver", "forward", "shadowaddress"} <= set(
        attrs["enabledService"]
    )
    assert "pop3" not in attrs["enabledService"]
    assert attrs["homeDirectory"][0].startswith("/var/vmail/vmail1/example.org/")
    assert attrs["cn"] == ["Jäne Doe"]  # trimmed by the API
    domain = ok(server.get("/api/ldif/domain/example.org?format=json"))["_data"]
    attrs = domain[0]["ldif"]
    assert attrs["domainAliasName"] == ["example.net"]
    assert attrs["domainAdmin"] == ["reseller@partner.net"]
    assert "minPasswordLength:10" in attrs["accountSetting"]
    assert "numberOfUsers:50" in attrs["accountSetting"]
    assert {"mail", "domainalias", "senderbcc"} <= set(attrs["enabledService"])
    assert [e["dn"].split(",")[0] for e in domain[1:]] == [
        "ou=Users", "ou=Groups", "ou=Aliases", "ou=Externals"]  # fmt: skip
    off = ok(server.get("/api/ldif/user/u@off.org?format=json"))["_data"][0]["ldif"]
    assert off["domainStatus"] == ["disabled"]
    reseller = ok(server.get("/api/ldif/admin/reseller@partner.net?format=json"))["_data"][0]
    assert reseller["ldif"]["disabledService"] == ["view_mail_log"]
    assert "create_max_domains:3" in reseller["ldif"]["accountSetting"]


def test_passwords_only_when_profiles_show_them(server, admin_api):
    assert "userPassword" not in export(admin_api, "user/jane@example.org")
    assert "userPassword" not in export(admin_api, f"admin/{ADMIN}")
    assert "userPassword::" in export(server, "user/jane@example.org")


def test_a_value_ending_in_a_space_and_non_ascii_values(server):
    server.put("/api/user/jane@example.org", {"sn": "x"})
    text = export(server, "user/jane@example.org")
    assert "cn:: " in text  # UTF-8 goes base64
    data = ok(server.get("/api/ldif/user/sha512crypt@example.org?format=json"))["_data"]
    assert data[0]["ldif"]["userPassword"][0].startswith("{CRYPT}$6$")


def test_warnings_for_what_cannot_be_carried(server):
    answer = ok(server.get("/api/ldif/user/bcrypt@example.org"))
    assert "_warnings" not in answer  # {CRYPT}$2b$: slapd's crypt(3) may verify it
    server.put("/api/user/jane@example.org", {"password_hash": "{ARGON2ID}$argon2id$v=19$x"})
    answer = ok(server.get("/api/ldif/user/jane@example.org"))
    assert any("ARGON2ID" in warning for warning in answer["_warnings"])


@pytest.mark.parametrize(
    "path, code",
    [
        ("domain/nowhere.org", "NO_SUCH_DOMAIN"),
        ("domain/example.net", "NO_SUCH_DOMAIN"),  # an alias domain
        ("catchall/off.org", "NO_SUCH_ACCOUNT"),
        ("user/nobody@example.org", "NO_SUCH_ACCOUNT"),
        ("alias/nobody@example.org", "NO_SUCH_ALIAS"),
        ("maillist/nobody@example.org", "NO_SUCH_ALIAS"),
        ("admin/nobody@partner.net", "NO_SUCH_ADMIN"),
        ("user/not-an-address", "INVALID_MAIL"),
        ("domain/-bad-", "INVALID_DOMAIN_NAME"),
        ("group/x@example.org", "NOT_FOUND"),
    ],
)
def test_errors(server, path, code):
    assert failure(server.get(f"/api/ldif/{path}")) == code


def test_a_domain_admin_exports_its_domain_only(server, make_api):
    reseller = login(make_api(), "reseller@partner.net", PASSWORD)
    assert export(reseller, "domain/example.org").startswith("dn: domainName=example.org,")
    assert export(reseller, "maillist/team@example.org").startswith("dn: mail=team@example.org")
    for path in ("domain/off.org", "user/u@off.org", "catchall/off.org", f"admin/{ADMIN}"):
        assert failure(reseller.get(f"/api/ldif/{path}")) == "PERMISSION_DENIED", path


# -- the same answers from iRedMail's Postfix LDAP maps as from its SQL maps ------------------
@pytest.fixture
def both(server, slapd, postfix, tmp_path, config):
    """Resolvers over the SQL maps (the test's database) and over iRedMail's LDAP maps asking
    slapd, which holds the export of the same server."""
    slapd.start()
    slapd.ldapadd(whole_server(server))
    folder = tmp_path / "postfix-ldap"
    folder.mkdir()
    ldap = Postfix.ldap(folder, slapd, postfix_samples("ldap"))
    storage_base = "/var/vmail"  # the users' storagebasedirectory
    return Resolver(postfix, storage_base), Resolver(ldap, storage_base)


DELIVERY_CASES = [
    "jane@example.org",  # forwarding and a copy kept
    "j.doe@example.org",  # a per-user alias address
    "jane@example.net",  # the address in an alias domain
    "j.doe@example.net",  # a per-user alias in an alias domain
    "ssha512@example.org",  # a plain mailbox
    "ssha512@example.net",
    "team@example.org",  # an alias with members
    "team@example.net",
    "nobody@example.org",  # the catch-all
    "nobody@example.net",
    "gone@example.org",  # a disabled mailbox
    "u@off.org",  # a mailbox of a disabled domain
    "audit@example.org",
    "someone@elsewhere.com",
]


@pytest.mark.parametrize("address", DELIVERY_CASES)
def test_ldap_delivers_where_sql_delivers(both, address):
    sql, ldap = both
    expected = sql.deliveries(address)
    assert ldap.deliveries(address) == expected, expected


SENDER_CASES = ["jane@example.org", "ssha512@example.org", "gone@example.org", "u@off.org",
                "team@example.org"]  # fmt: skip


@pytest.mark.parametrize("address", SENDER_CASES)
def test_ldap_sender_maps_answer_what_sql_answers(both, address):
    """BCC, relay host, sender login and transport of every primary address. (A per-user alias
    is a `shadowAddress` in LDAP, and iRedMail's LDAP maps match it where its SQL maps do not:
    the contract asks only that such addresses reach the same recipients, above.)"""
    sql, ldap = both
    assert ldap.sender_maps(address) == sql.sender_maps(address)


@pytest.mark.parametrize("domain", ["example.org", "example.net", "off.org", "elsewhere.com"])
def test_ldap_domain_maps_answer_what_sql_answers(both, domain):
    """Whether a domain is a mailbox domain or a relay domain (the maps answer different
    strings, the target domain's name in LDAP: Postfix reads only whether there is one)."""
    sql, ldap = both
    for parameter in ("virtual_mailbox_domains", "relay_domains"):
        found = ldap.first(parameter, domain) is not None
        assert found == (sql.first(parameter, domain) is not None), parameter


# -- Dovecot: iRedMail's LDAP passdb/userdb (auth_bind: slapd checks the password) ------------
@pytest.fixture
def dovecots(server, slapd, dovecot):
    """The SQL Dovecot (the test's database) and one with iRedMail's dovecot-ldap.conf."""
    slapd.start()
    slapd.ldapadd(whole_server(server))
    ldap, folder = start_ldap_dovecot(dovecot_samples("ldap"), slapd)
    yield dovecot, ldap
    stop_dovecot(ldap, folder)


LOGIN_CASES = [f"{scheme.lower().replace('-', '')}@example.org" for scheme in SCHEMES] + [
    "jane@example.org",
    "gone@example.org",  # disabled: refused
    "u@off.org",  # a disabled domain: refused
    "nobody@example.org",
]


@pytest.mark.parametrize("address", LOGIN_CASES)
def test_dovecot_ldap_logs_in_whom_sql_logs_in(dovecots, address):
    sql, ldap = dovecots
    expected = sql.auth(address, PASSWORD)
    assert ldap.auth(address, PASSWORD) == expected
    assert not ldap.auth(address, "Wr0ng-Passw0rd!")
    if expected:
        sql_user, ldap_user = sql.user(address), ldap.user(address)
        assert ldap_user["home"] == sql_user["home"]
        assert ldap_user.get("quota_rule") == sql_user.get("quota_rule")


def test_dovecot_ldap_also_takes_the_alias_addresses(dovecots):
    """Where iRedMail's two backends differ: its LDAP passdb accepts a login by a
    `shadowAddress` (enabledService=shadowaddress, which iRedAdmin gives every LDAP user), its
    SQL passdb only the primary address. The export keeps what an LDAP server does; the
    mailbox is the same either way."""
    sql, ldap = dovecots
    for alias in ("jane@example.net", "j.doe@example.org"):
        assert not sql.auth(alias, PASSWORD)
        assert ldap.auth(alias, PASSWORD)
        assert ldap.user(alias)["home"] == sql.user("jane@example.org")["home"]


def test_the_export_command(server, slapd, config, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr("shared.config.Config.from_env", classmethod(lambda cls: config))
    out = tmp_path / "server.ldif"
    assert mailapi(["export-ldif", "--with-passwords", "-o", str(out)]) == 0
    text = out.read_text()
    unfolded = text.replace("\n ", "")
    dns = [line[4:] for line in unfolded.splitlines() if line.startswith("dn: ")]
    assert dns[0] == f"domainName=example.org,{BASE_DN}"  # domains by name, accounts after
    assert dns.index(f"domainName=off.org,{BASE_DN}") > dns.index(
        f"mail=team@example.org,ou=Aliases,domainName=example.org,{BASE_DN}"
    )
    assert dns[-1] == f"mail=reseller@partner.net,{ADMINS_DN}"
    assert "userPassword:: " in text
    slapd.slapadd(text)
    slapd.slapschema()
    assert mailapi(["export-ldif", "--domain", "off.org"]) == 0
    only = capsys.readouterr().out
    assert "domainName=off.org" in only and "example.org" not in only
    assert "userPassword" not in only
    assert mailapi(["export-ldif", "--after", "example.org"]) == 0
    resumed = capsys.readouterr().out
    assert resumed.startswith(f"dn: domainName=off.org,{BASE_DN}")
    assert mailapi(["export-ldif", "--domain", "nowhere.org"]) == 1
    assert "NO_SUCH_DOMAIN" in capsys.readouterr().err


def test_inactive_rows_are_left_out_as_postfix_sql_ignores_them(server):
    Forwarding.update(active=0).where(
        (Forwarding.address == "team@example.org") & (Forwarding.forwarding == "x@elsewhere.com")
    ).execute()
    DomainAdmin.update(active=0).where(DomainAdmin.username == "reseller@partner.net").execute()
    db.release_connections()
    team = ok(server.get("/api/ldif/alias/team@example.org?format=json"))["_data"][0]["ldif"]
    assert team["mailForwardingAddress"] == ["jane@example.org"]
    domain = ok(server.get("/api/ldif/domain/example.org?format=json"))["_data"][0]["ldif"]
    assert "domainAdmin" not in domain


@pytest.mark.parametrize(
    "value, escaped",
    [
        ("plain@example.org", "plain@example.org"),
        ('a,b+c"d\\e<f>g;h=i', 'a\\,b\\+c\\"d\\\\e\\<f\\>g\\;h\\=i'),
        ("#start", "\\#start"),
        (" lead", "\\ lead"),
        ("trail ", "trail\\ "),
    ],
)
def test_rdn_values_are_escaped_per_rfc_4514(value, escaped):
    assert escape_rdn_value(value) == escaped


def test_values_round_trip_through_the_ldif_parser():
    """A value ending in a space goes base64 (the package would write it plain, and readers
    strip it); UTF-8 and a leading colon too; long lines fold at 76 columns."""
    entry = ("cn=x,dc=example,dc=com",
             {"cn": ["trailing ", "Jäne", ":colon", "x" * 200], "sn": ["plain"]})  # fmt: skip
    text = ldif_text([entry])
    assert all(len(line.encode()) <= 76 for line in text.splitlines())
    assert "sn: plain\n" in text
    ((dn, parsed),) = list(LDIFParser(io.BytesIO(text.encode())).parse())
    assert dn == entry[0]
    values = [v.decode() if isinstance(v, bytes) else v for v in parsed["cn"]]
    assert values == entry[1]["cn"]
