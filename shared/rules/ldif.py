"""SQL rows → the entries iRedMail's OpenLDAP backend holds for the same accounts (CONTRACT §4.10;
the spec's part A: DIT, attribute map, password conversion).

An entry is `(dn, {attribute: [values]})`. What cannot be carried over is left out of the entry
and named in `Entries.warnings`. The loaders read a batch of accounts in a fixed number of
queries, so a domain of 100,000 mailboxes is exported 1,000 at a time with flat memory.
"""

from __future__ import annotations

import dataclasses
import datetime
import io
import re

import ldif

from shared import settings_text
from shared.errors import ApiError
from shared.models.vmail import (
    Admin,
    Alias,
    AliasDomain,
    Domain,
    DomainAdmin,
    Forwarding,
    Mailbox,
    Maillist,
    MaillistOwner,
    Moderator,
    RecipientBccDomain,
    RecipientBccUser,
    SenderBccDomain,
    SenderBccUser,
    SenderRelayhost,
)

OUS = ("Users", "Groups", "Aliases", "Externals")
MB = 1024 * 1024
EPOCH = datetime.date(1970, 1, 1)
NEVER_YEAR = 9999
# Attributes whose syntax takes any UTF-8 (Directory String, Octet String); every other one this
# module writes is an IA5 String (ASCII), a number, a telephone number or a time.
UTF8_ATTRIBUTES = frozenset({
    "cn", "sn", "givenName", "description", "disclaimer", "uid", "preferredLanguage",
    "departmentNumber", "employeeNumber", "allowNets", "userPassword",
})  # fmt: skip
TELEPHONE_ATTRIBUTES = frozenset({"mobile", "telephoneNumber"})
PRINTABLE = re.compile(r"^[A-Za-z0-9 '()+,\-./:?=]+$")  # the Telephone Number syntax's characters
# Mailbox service columns → enabledService values; 'y' for the SOGo CHAR(1) columns.
SERVICE_COLUMNS = (
    ("enablesmtp", "smtp"), ("enablesmtpsecured", "smtpsecured"),
    ("enablepop3", "pop3"), ("enablepop3secured", "pop3secured"), ("enablepop3tls", "pop3tls"),
    ("enableimap", "imap"), ("enableimapsecured", "imapsecured"), ("enableimaptls", "imaptls"),
    ("enablemanagesieve", "managesieve"), ("enablemanagesievesecured", "managesievesecured"),
    ("enablesieve", "sieve"), ("enablesievesecured", "sievesecured"),
    ("enablesievetls", "sievetls"), ("enabledeliver", "deliver"), ("enablelda", "lda"),
    ("enablelmtp", "lmtp"), ("enableinternal", "internal"), ("enabledoveadm", "doveadm"),
    ("enablelib_storage", "lib-storage"), ("enablequota_status", "quota-status"),
    ("enableindexer_worker", "indexer-worker"), ("enabledsync", "dsync"),
    ("enablesogo", "sogo"), ("enablesogowebmail", "sogowebmail"),
    ("enablesogocalendar", "sogocalendar"), ("enablesogoactivesync", "sogoactivesync"),
)  # fmt: skip
# Services LDAP needs and SQL has no switch for (the spec: iRedAdmin gives every new user them).
ALWAYS_USER_SERVICES = (
    "mail", "forward", "shadowaddress", "senderbcc", "recipientbcc",
    "displayedInGlobalAddressBook",
)  # fmt: skip
# settings keys → accountSetting keys (iRedAdmin's LDAP names); list keys get one value per item.
SETTING_KEYS = {
    "default_user_quota": "defaultQuota", "max_user_quota": "maxUserQuota",
    "min_passwd_length": "minPasswordLength", "max_passwd_length": "maxPasswordLength",
    "default_language": "defaultLanguage", "timezone": "timezone",
    "default_groups": "defaultList", "default_mailing_lists": "defaultList",
}  # fmt: skip
SETTING_LIST_KEYS = {
    "disabled_domain_profiles": "disabledDomainProfile",
    "disabled_user_profiles": "disabledUserProfile",
    "disabled_user_preferences": "disabledUserPreference",
    "disabled_mail_services": "disabledMailService",
}
ADMIN_SWITCHES = {
    "disable_viewing_mail_log": "view_mail_log",
    "disable_managing_quarantined_mails": "manage_quarantined_mails",
}
# Password schemes slapd verifies under another name (its crypt(3) takes every $n$ format).
CRYPT_SCHEMES = ("{SHA512-CRYPT}", "{SHA256-CRYPT}", "{MD5-CRYPT}", "{BLF-CRYPT}")
SLAPD_SCHEMES = ("{SSHA512}", "{SHA512}", "{SSHA}", "{SHA}", "{SMD5}", "{MD5}", "{CRYPT}")


# -- names ---------------------------------------------------------------------------------
def escape_rdn_value(value: str) -> str:
    """RFC 4514 §2.4: `, + " \\ < > ; =` escaped, and a leading `#` or space, a trailing space."""
    escaped = "".join("\\" + c if c in ',+"\\<>;=' else c for c in value)
    if escaped.startswith(("#", " ")):
        escaped = "\\" + escaped
    if escaped.endswith(" ") and not escaped.endswith("\\ "):
        escaped = escaped[:-1] + "\\ "
    return escaped


@dataclasses.dataclass(frozen=True)
class Tree:
    """Where the entries go: `LDAP_BASEDN` (o=domains,…) and `LDAP_DOMAINADMIN_DN`."""

    base_dn: str
    admins_dn: str

    def domain(self, domain: str) -> str:
        return f"domainName={escape_rdn_value(domain)},{self.base_dn}"

    def account(self, address: str, ou: str) -> str:
        domain = address.rsplit("@", 1)[-1]
        return f"mail={escape_rdn_value(address)},ou={ou},{self.domain(domain)}"

    def admin(self, address: str) -> str:
        return f"mail={escape_rdn_value(address)},{self.admins_dn}"


# -- values --------------------------------------------------------------------------------
def generalized_time(value) -> str | None:
    if value is None or value.year >= NEVER_YEAR:
        return None
    return value.strftime("%Y%m%d%H%M%SZ")


def shadow_last_change(value) -> str | None:
    if value is None:
        return None
    days = (value.date() - EPOCH).days
    return str(days) if days > 0 else None


def account_settings(text: str | None, column_counts: dict | None = None) -> list[str]:
    """`accountSetting` values of a `settings` text (unknown keys are carried as they are)."""
    values = []
    for key, value in settings_text.parse(text).items():
        if key in SETTING_LIST_KEYS:
            values += [f"{SETTING_LIST_KEYS[key]}:{item}" for item in value.split(",") if item]
        elif key == "enabled_services" or key in ADMIN_SWITCHES:
            continue  # enabledService / disabledService
        else:
            values.append(f"{SETTING_KEYS.get(key, key)}:{value}")
    for key, count in (column_counts or {}).items():
        if count:
            values.append(f"{key}:{count}")
    return values


def ldap_password(stored: str) -> tuple[str | None, str | None]:
    """(userPassword, warning): the hash as slapd verifies it (Dovecot too), or a warning."""
    upper = stored.upper()
    for scheme in CRYPT_SCHEMES:
        if upper.startswith(scheme):
            return "{CRYPT}" + stored[len(scheme) :], None
    for scheme in ("{PLAIN}", "{CLEARTEXT}"):
        if upper.startswith(scheme):
            return stored[len(scheme) :], None
    if upper.startswith(SLAPD_SCHEMES):
        return stored, None
    scheme = stored.split("}", 1)[0] + "}" if stored.startswith("{") else "(no scheme)"
    return stored, f"a {scheme} hash, which slapd cannot verify"


class Entries:
    """The entries of one export, and what could not be carried over."""

    def __init__(self, tree: Tree, passwords: bool, amavis: bool = True):
        self.tree = tree
        self.passwords = passwords
        self.amavis = amavis
        self.warnings: list[str] = []

    def entry(self, dn: str, attributes: dict) -> tuple[str, dict]:
        """The entry with empty values dropped and values their syntax refuses left out."""
        clean = {}
        for name, values in attributes.items():
            kept = []
            for value in values if isinstance(values, list) else [values]:
                if value is None or value == "":
                    continue
                value = str(value)
                if name not in UTF8_ATTRIBUTES and not value.isascii():
                    self.warnings.append(f"{dn}: {name} is not ASCII, left out")
                    continue
                if name in TELEPHONE_ATTRIBUTES and not PRINTABLE.match(value):
                    self.warnings.append(f"{dn}: {name} is not a telephone number, left out")
                    continue
                if value not in kept:
                    kept.append(value)
            if kept:
                clean[name] = kept
        return dn, clean

    def password(self, dn: str, stored: str | None) -> str | None:
        if not self.passwords or not stored:
            return None
        value, warning = ldap_password(stored)
        if warning:
            self.warnings.append(f"{dn}: userPassword is {warning}")
        return value


def ldif_text(entries) -> str:
    """RFC 2849 LDIF-content by the `ldif` package: folded at 76 columns, a blank line after each
    entry, no `version:` line (as slapcat writes). Values ending in a space go as bytes, which
    forces base64 (the package writes them plain, and readers strip that space)."""
    out = io.BytesIO()
    writer = ldif.LDIFWriter(out, base64_attrs=["userPassword"], cols=76)
    for dn, attributes in entries:
        writer.unparse(dn, {
            name: [v.encode() if v.endswith(" ") else v for v in values]
            for name, values in attributes.items()
        })  # fmt: skip
    return out.getvalue().decode()


# -- loading -------------------------------------------------------------------------------
def _by(query, key: str, value: str) -> dict[str, list]:
    found: dict[str, list] = {}
    for row in query.dicts():
        found.setdefault(row[key], []).append(row[value])
    return found


def _values(key_field, value_field, keys: list[str], *conditions) -> dict[str, list]:
    """key → its values (ordered) of a table of pairs, for a batch of keys, in one query."""
    where = key_field.in_(keys)
    for condition in conditions:
        where &= condition
    query = key_field.model.select(key_field, value_field).where(where).order_by(value_field)
    return _by(query, key_field.name, value_field.name)


def _alias_domains(domains: list[str]) -> dict[str, list[str]]:
    return _values(
        AliasDomain.target_domain, AliasDomain.alias_domain, domains, AliasDomain.active == 1
    )


def _domain_states(domains: list[str]) -> dict[str, int]:
    query = Domain.select(Domain.domain, Domain.active).where(Domain.domain.in_(domains))
    return {row.domain: row.active for row in query}


def _relayhosts(accounts: list[str]) -> dict[str, str]:
    query = SenderRelayhost.select(SenderRelayhost.account, SenderRelayhost.relayhost).where(
        SenderRelayhost.account.in_(accounts)
    )
    return {row.account: row.relayhost for row in query}


def _shadow_addresses(addresses: list[str], alias_domains: dict[str, list[str]]) -> dict:
    """address → its other addresses: per-user aliases (`is_alias` rows) and the address in each
    active alias domain of its domain (LDAP resolves both through `shadowAddress`)."""
    extra = _values(
        Forwarding.forwarding, Forwarding.address, addresses,
        Forwarding.is_alias == 1, Forwarding.active == 1,
    )  # fmt: skip
    shadows = {}
    for address in addresses:
        local, domain = address.rsplit("@", 1)
        own = sorted(extra.get(address, []))
        via_domains = [f"{local}@{alias}" for alias in alias_domains.get(domain, [])]
        aliases_of_aliases = [
            f"{a.rsplit('@', 1)[0]}@{alias}"
            for a in own
            for alias in alias_domains.get(a.rsplit("@", 1)[1], [])
        ]
        shadows[address] = own + via_domains + aliases_of_aliases
    return shadows


# -- entries -------------------------------------------------------------------------------
def domain_entries(export: Entries, domain: str) -> list[tuple[str, dict]]:
    """The mailDomain entry and its four OU entries (NO_SUCH_DOMAIN for an alias domain too)."""
    row = Domain.select().where(Domain.domain == domain).dicts().first()
    if row is None:
        raise ApiError("NO_SUCH_DOMAIN", domain)
    dn = export.tree.domain(domain)
    aliases = _alias_domains([domain]).get(domain, [])
    sender_bcc = (
        SenderBccDomain.select(SenderBccDomain.bcc_address)
        .where(SenderBccDomain.domain == domain)
        .scalar()
    )
    recipient_bcc = (
        RecipientBccDomain.select(RecipientBccDomain.bcc_address)
        .where(RecipientBccDomain.domain == domain)
        .scalar()
    )
    admins = [r.username for r in DomainAdmin.select(DomainAdmin.username).where(
        (DomainAdmin.domain == domain) & (DomainAdmin.active == 1)
    ).order_by(DomainAdmin.username)]  # fmt: skip
    settings = settings_text.as_object(row["settings"])
    services = ["mail"]
    if aliases:
        services.append("domainalias")
    if sender_bcc:
        services.append("senderbcc")
    if recipient_bcc:
        services.append("recipientbcc")
    if "self-service" in settings.get("enabled_services", []):
        services.append("self-service")
    counts = {
        "numberOfUsers": row["mailboxes"], "numberOfAliases": row["aliases"],
        "numberOfLists": row["maillists"], "domainQuota": row["maxquota"],
    }  # fmt: skip
    entries = [
        export.entry(dn, {
            "objectClass": ["mailDomain"],
            "domainName": domain,
            "cn": row["description"],
            "accountStatus": "active" if row["active"] else "disabled",
            "mtaTransport": row["transport"],
            "domainBackupMX": "yes" if row["backupmx"] else None,
            "enabledService": services,
            "domainAliasName": aliases,
            "domainSenderBccAddress": sender_bcc,
            "domainRecipientBccAddress": recipient_bcc,
            "senderRelayHost": _relayhosts(["@" + domain]).get("@" + domain),
            "disclaimer": row["disclaimer"],
            "domainAdmin": admins,
            "accountSetting": account_settings(row["settings"], counts),
            "expiredDate": generalized_time(row["expired"]),
        })
    ]  # fmt: skip
    for ou in OUS:
        classes = {"objectClass": ["organizationalUnit", "top"], "ou": ou}
        entries.append(export.entry(f"ou={ou},{dn}", classes))
    return entries


def catchall_entry(export: Entries, domain: str) -> tuple[str, dict]:
    rows = list(Forwarding.select(Forwarding.forwarding, Forwarding.active).where(
        Forwarding.address == domain).order_by(Forwarding.forwarding).dicts())  # fmt: skip
    if not rows:
        raise ApiError("NO_SUCH_ACCOUNT", f"{domain} has no catch-all")
    address = "@" + domain
    active = [row for row in rows if row["active"]]  # a disabled catch-all keeps its targets
    aliases = _alias_domains([domain]).get(domain, [])
    return export.entry(export.tree.account(address, "Users"), {
        "objectClass": ["inetOrgPerson", "mailUser"],
        "mail": address, "cn": "catch-all", "sn": "catch-all", "uid": "catch-all",
        "accountStatus": "active" if active else "disabled",
        # No enabledService: with `mail` + `deliver` iRedMail's virtual_group_members_maps would
        # answer `@domain` for itself before catchall_maps is asked (tests/test_ldif.py).
        "mailForwardingAddress": [r["forwarding"] for r in active or rows],
        "shadowAddress": ["@" + alias for alias in aliases],
        "domainStatus": None if _domain_states([domain]).get(domain, 1) else "disabled",
    })  # fmt: skip


def user_entries(export: Entries, usernames: list[str]) -> list[tuple[str, dict]]:
    """The mailUser entries of these mailboxes (one domain or several), in their order."""
    rows = {r["username"]: r for r in Mailbox.select().where(
        Mailbox.username.in_(usernames)).dicts()}  # fmt: skip
    domains = sorted({row["domain"] for row in rows.values()})
    states = _domain_states(domains)
    alias_domains = _alias_domains(domains)
    found = list(rows)
    shadows = _shadow_addresses(found, alias_domains)
    forwardings = _values(  # what Postfix's SQL maps read: active rows only
        Forwarding.address, Forwarding.forwarding, found,
        Forwarding.is_forwarding == 1, Forwarding.active == 1,
    )  # fmt: skip
    sender_bcc = _values(
        SenderBccUser.username, SenderBccUser.bcc_address, found, SenderBccUser.active == 1
    )
    recipient_bcc = _values(
        RecipientBccUser.username, RecipientBccUser.bcc_address, found, RecipientBccUser.active == 1
    )
    relayhosts = _relayhosts(found)
    entries = []
    for username in usernames:
        row = rows.get(username)
        if row is not None:
            extras = {
                "shadows": shadows[username], "forwardings": forwardings.get(username, []),
                "sender_bcc": sender_bcc.get(username, [None])[0],
                "recipient_bcc": recipient_bcc.get(username, [None])[0],
                "relayhost": relayhosts.get(username),
                "domain_active": states.get(row["domain"], 1),
            }  # fmt: skip
            entries.append(_user_entry(export, row, extras))
    return entries


def _user_entry(export: Entries, row: dict, extras: dict) -> tuple[str, dict]:
    username = row["username"]
    local = username.rsplit("@", 1)[0]
    dn = export.tree.account(username, "Users")
    classes = ["inetOrgPerson", "mailUser", "shadowAccount"]
    if export.amavis:
        classes.append("amavisAccount")
    services = list(ALWAYS_USER_SERVICES)
    for column, service in SERVICE_COLUMNS:
        value = row.get(column)
        if value in (1, "y", "Y"):
            services.append(service)
    if row.get("enablesmtp") == 1:
        services.append("smtptls")
    if row.get("enablemanagesieve") == 1:
        services.append("managesievetls")
    if row["isadmin"]:
        services.append("domainadmin")
    settings = settings_text.parse(row["settings"])
    if "enabled_services" in settings:
        services += [s for s in settings["enabled_services"].split(",") if s]
    forwardings = sorted(set(extras["forwardings"]))
    if forwardings == [username]:
        forwardings = []  # the self row alone: delivered to the mailbox
    # What Dovecot's SQL userdb computes as `home` (iRedMail's dovecot-sql.conf), to the byte.
    home = "/".join((row["storagebasedirectory"], row["storagenode"], row["maildir"])).lower()
    birthday = row.get("birthday")
    return export.entry(dn, {
        "objectClass": classes,
        "mail": username,
        "uid": local,
        "cn": row["name"] or local,
        "sn": row["last_name"] or local,
        "givenName": row["first_name"],
        "userPassword": export.password(dn, row["password"]),
        "shadowLastChange": shadow_last_change(row["passwordlastchange"]),
        "homeDirectory": home,
        "mailQuota": row["quota"] * MB if row["quota"] else None,
        "mailboxFormat": row["mailboxformat"],
        "mailboxFolder": row["mailboxfolder"],
        "accountStatus": "active" if row["active"] else "disabled",
        "domainStatus": None if extras["domain_active"] else "disabled",
        "mtaTransport": row["transport"],
        "preferredLanguage": row["language"],
        "employeeNumber": row["employeeid"],
        "mobile": row["mobile"],
        "telephoneNumber": row["telephone"],
        "departmentNumber": row["department"],
        "recoveryEmail": row["recovery_email"],
        "birthday": birthday.isoformat() if birthday and birthday.year > 1 else None,
        "allowNets": row["allow_nets"],
        "disclaimer": row["disclaimer"],
        "accountSetting": account_settings(row["settings"]),
        "domainGlobalAdmin": "yes" if row["isglobaladmin"] else None,
        "enabledService": services,
        "userSenderBccAddress": extras["sender_bcc"],
        "userRecipientBccAddress": extras["recipient_bcc"],
        "senderRelayHost": extras["relayhost"],
        "shadowAddress": extras["shadows"],
        "mailForwardingAddress": forwardings,
        "expiredDate": generalized_time(row["expired"]),
        "amavisLocal": "TRUE" if export.amavis else None,
    })  # fmt: skip


def alias_entries(export: Entries, addresses: list[str]) -> list[tuple[str, dict]]:
    rows = {r["address"]: r for r in Alias.select().where(Alias.address.in_(addresses)).dicts()}
    found = list(rows)
    domains = sorted({row["domain"] for row in rows.values()})
    states = _domain_states(domains)
    shadows = _shadow_addresses(found, _alias_domains(domains))
    members = _values(Forwarding.address, Forwarding.forwarding, found, Forwarding.active == 1)
    moderators = _values(Moderator.address, Moderator.moderator, found)
    entries = []
    for address in addresses:
        row = rows.get(address)
        if row is None:
            continue
        entries.append(export.entry(export.tree.account(address, "Aliases"), {
            "objectClass": ["mailAlias"],
            "mail": address,
            "cn": row["name"],
            "accountStatus": "active" if row["active"] else "disabled",
            "domainStatus": None if states.get(row["domain"], 1) else "disabled",
            "enabledService": ["mail", "deliver"],
            "mailForwardingAddress": members.get(address, []),
            "accessPolicy": (row["accesspolicy"] or "").lower(),
            "listModerator": moderators.get(address, []),
            "shadowAddress": shadows[address],
            "expiredDate": generalized_time(row["expired"]),
        }))  # fmt: skip
    return entries


def list_entries(export: Entries, addresses: list[str]) -> list[tuple[str, dict]]:
    """mlmmj lists (`maillists` rows) as mailList entries (mlmmjadmin's `__ldif_ml` shape)."""
    rows = {r["address"]: r for r in Maillist.select().where(
        Maillist.address.in_(addresses)).dicts()}  # fmt: skip
    found = list(rows)
    domains = sorted({row["domain"] for row in rows.values()})
    states = _domain_states(domains)
    alias_domains = _alias_domains(domains)
    moderators = _values(Moderator.address, Moderator.moderator, found)
    owners = _values(MaillistOwner.address, MaillistOwner.owner, found)
    entries = []
    for address in addresses:
        row = rows.get(address)
        if row is None:
            continue
        local, domain = address.rsplit("@", 1)
        listed = moderators.get(address, []) + owners.get(address, [])
        entries.append(export.entry(export.tree.account(address, "Groups"), {
            "objectClass": ["mailList"],
            "mail": address,
            "cn": row["name"],
            "description": row["description"],
            "accountStatus": "active" if row["active"] else "disabled",
            "domainStatus": None if states.get(domain, 1) else "disabled",
            "enabledService": ["mail", "deliver", "mlmmj"],
            "mtaTransport": row["transport"],
            "mailingListID": row["mlid"],
            "accessPolicy": (row["accesspolicy"] or "").lower(),
            "maxMessageSize": row["maxmsgsize"] if (row["maxmsgsize"] or 0) > 0 else None,
            "listModerator": moderators.get(address, []),
            "listOwner": owners.get(address, []),
            "listAllowedUser": sorted(set(listed)),
            "shadowAddress": [f"{local}@{alias}" for alias in alias_domains.get(domain, [])],
            "expiredDate": generalized_time(row["expired"]),
        }))  # fmt: skip
    return entries


def admin_entry(export: Entries, username: str) -> tuple[str, dict]:
    """A standalone admin (NO_SUCH_ADMIN for a mailbox that is only an admin)."""
    row = Admin.select().where(Admin.username == username).dicts().first()
    if row is None:
        raise ApiError("NO_SUCH_ADMIN", username)
    dn = export.tree.admin(username)
    is_global = (
        DomainAdmin.select()
        .where((DomainAdmin.username == username) & (DomainAdmin.domain == "ALL"))
        .exists()
    )
    settings = settings_text.parse(row["settings"])
    return export.entry(dn, {
        "objectClass": ["mailAdmin"],
        "mail": username,
        "cn": row["name"],
        "userPassword": export.password(dn, row["password"]),
        "accountStatus": "active" if row["active"] else "disabled",
        "preferredLanguage": row["language"],
        "shadowLastChange": shadow_last_change(row["passwordlastchange"]),
        "domainGlobalAdmin": "yes" if is_global else None,
        "accountSetting": [f"{k}:{v}" for k, v in settings.items()
                           if k not in ADMIN_SWITCHES and k != "enabled_services"],
        "disabledService": [ADMIN_SWITCHES[k] for k in ADMIN_SWITCHES if settings.get(k) == "yes"],
        "expiredDate": generalized_time(row["expired"]),
    })  # fmt: skip


ACCOUNT_KINDS = (  # model, key, the entries builder: a domain's accounts in this order
    (Mailbox, Mailbox.username, user_entries),
    (Alias, Alias.address, alias_entries),
    (Maillist, Maillist.address, list_entries),
)


def account_batches(domain: str, size: int = 1000):
    """(builder, addresses) of the domain's mailboxes, aliases and mlmmj lists, `size` at a
    time (keyset reads: flat memory however big the domain)."""
    for model, key, builder in ACCOUNT_KINDS:
        after = ""
        while True:
            query = model.select(key).where((model.domain == domain) & (key > after))
            batch = [row[0] for row in query.order_by(key).limit(size).tuples()]
            if not batch:
                break
            yield builder, batch
            after = batch[-1]


def domain_batches(export: Entries, domain: str):
    """Every entry of one domain, parents first: the domain and its OUs, the catch-all, then
    its mailboxes, aliases and mlmmj lists, a batch at a time."""
    yield domain_entries(export, domain)
    if Forwarding.select().where(Forwarding.address == domain).exists():
        yield [catchall_entry(export, domain)]
    for builder, batch in account_batches(domain):
        yield builder(export, batch)


def server_batches(export: Entries, domains: list[str] | None = None, after: str = ""):
    """A whole server in a fixed order, so an interrupted export is resumed with `after` (the
    last domain it finished): the domains by name, each with its accounts, then the
    standalone admins (only with the whole server)."""
    query = Domain.select(Domain.domain).where(Domain.domain > after).order_by(Domain.domain)
    if domains is not None:
        query = query.where(Domain.domain.in_(domains))
    for (domain,) in query.tuples():
        yield from domain_batches(export, domain)
    if domains is None:
        admins = Admin.select(Admin.username).order_by(Admin.username).tuples()
        yield [admin_entry(export, username) for (username,) in admins]
