"""Standalone admins: the `admin` table plus `domain_admins` (CONTRACT §4.6; the spec's part B).

A global admin has the row `domain_admins(username, 'ALL')`; a normal admin one row per domain
it manages, and its limits as `create_*` keys in `admin.settings`. How the limits apply when a
normal admin creates a domain is `check_creator_limits` (shared/rules/domains.py calls it).
"""

from __future__ import annotations

import json

import peewee

from shared import settings_text
from shared.db import PreparedQuery, lock_for_update, vmail_db
from shared.errors import ApiError
from shared.identity import DOMAIN_ADMIN, GLOBAL, Identity
from shared.models.iredadmin import Session
from shared.models.vmail import Admin, AliasDomain, Domain, DomainAdmin, Mailbox
from shared.paging import filter_list
from shared.params import Params
from shared.passwords import check_hash_prefix, check_policy, hash_password
from shared.timeutil import utcnow
from shared.validation import domain_of, is_mailbox_address

ALL = "ALL"  # the domain_admins domain that marks a global admin
QUOTA_UNITS = {"MB": 1, "GB": 1024, "TB": 1024 * 1024}
COUNT_LIMITS = (  # parameter, settings key, the domain column it caps, the vendor's code
    ("maxUsers", "create_max_users", "mailboxes", "EXCEED_LIMIT_USERS"),
    ("maxAliases", "create_max_aliases", "aliases", "EXCEED_LIMIT_ALIASES"),
    ("maxLists", "create_max_lists", "maillists", "EXCEED_LIMIT_LISTS"),
)
SWITCHES = (
    ("disableViewingMailLog", "disable_viewing_mail_log"),
    ("disableManagingQuarantinedMails", "disable_managing_quarantined_mails"),
)
LIMIT_KEYS = (
    "create_new_domains", "create_max_domains", "create_max_quota",
    *(key for _, key, _, _ in COUNT_LIMITS), *(key for _, key in SWITCHES),
)  # fmt: skip
INT_LIMIT = 2**31 - 1
PROFILE_FIELDS = (
    Admin.username, Admin.password, Admin.name, Admin.language, Admin.passwordlastchange,
    Admin.created, Admin.modified, Admin.expired, Admin.active, Admin.settings,
)  # fmt: skip


# -- parameters ----------------------------------------------------------------------------
def _password_column(params: Params, config, required: bool) -> str | None:
    """The hash to store from `password` (the global policy: an admin has no local domain) or
    `password_hash` (as given); both together is INVALID_PARAM."""
    if "password" in params and "password_hash" in params:
        raise ApiError("INVALID_PARAM", "give password or password_hash, not both")
    if "password_hash" in params:
        return check_hash_prefix(params.get_str("password_hash", column=Admin.password))
    password = params.get_str("password")
    if password is None and not required:
        return None
    check_policy(password or "", config)
    return hash_password(password, config.default_password_scheme)


def _limit_changes(params: Params) -> dict:
    """The `settings` keys the limit parameters set (None removes a key)."""
    changes: dict = {}
    if "maxDomains" in params:
        count = params.get_int("maxDomains", minimum=-1, maximum=INT_LIMIT)
        changes["create_new_domains"] = "yes" if count >= 0 else None
        changes["create_max_domains"] = count if count > 0 else None
    if ("maxQuota" in params) != ("quotaUnit" in params):
        missing = "quotaUnit" if "maxQuota" in params else "maxQuota"
        raise ApiError("MISSING_PARAM", f"maxQuota and quotaUnit go together: give {missing}")
    if "maxQuota" in params:
        unit = params.get_str("quotaUnit").upper()
        if unit not in QUOTA_UNITS:
            raise ApiError("INVALID_PARAM", "quotaUnit must be TB, GB or MB")
        quota = params.get_int("maxQuota", minimum=-1, maximum=INT_LIMIT)
        megabytes = quota * QUOTA_UNITS[unit] if quota > 0 else quota
        if megabytes > INT_LIMIT:
            raise ApiError("INVALID_NUMBER", "maxQuota is out of range")
        changes["create_max_quota"] = megabytes or None
    for param, key, _, _ in COUNT_LIMITS:
        if param in params:
            changes[key] = params.get_int(param, minimum=-1, maximum=INT_LIMIT) or None
    for param, key in SWITCHES:
        if param in params:
            changes[key] = "yes" if params.get_bool(param) else None
    return changes


# -- reading -------------------------------------------------------------------------------
def _is_global(username: str) -> bool:
    return (
        DomainAdmin.select()
        .where((DomainAdmin.username == username) & (DomainAdmin.domain == ALL))
        .exists()
    )


def _quota_in_unit(megabytes: int) -> tuple[int, str]:
    for unit in ("TB", "GB"):
        if megabytes % QUOTA_UNITS[unit] == 0:
            return megabytes // QUOTA_UNITS[unit], unit
    return megabytes, "MB"


def profile(row: dict, domains: list[str], hidden) -> dict:
    """The GET answer of one admin row and its `domain_admins` domains."""
    data = {key: value for key, value in row.items() if key not in hidden}
    data["settings"] = settings_text.as_object(row.get("settings"))
    is_global = ALL in domains or bool(row.get("isglobaladmin"))
    data["isglobaladmin"] = int(is_global)
    data["managed_domains"] = [] if is_global else sorted(d for d in domains if d != ALL)
    quota = data["settings"].get("create_max_quota")
    if isinstance(quota, int) and quota > 0:
        data["max_quota"], data["quota_unit"] = _quota_in_unit(quota)
    return data


def managed_domains(usernames: list[str]) -> dict[str, list[str]]:
    """username → its `domain_admins` domains, in one query."""
    found: dict[str, list[str]] = {name: [] for name in usernames}
    query = DomainAdmin.select(DomainAdmin.username, DomainAdmin.domain).where(
        DomainAdmin.username.in_(usernames)
    )
    for username, domain in query.tuples():
        found[username].append(domain)
    return found


def admin_profile(username: str, hidden) -> dict:
    row = Admin.select(*PROFILE_FIELDS).where(Admin.username == username).dicts().first()
    if row is None:
        raise ApiError("NO_SUCH_ADMIN", username)
    return profile(row, managed_domains([username])[username], hidden)


ADMIN_SEARCH_FIELDS = (Admin.username, Admin.name)
MAILBOX_ADMIN_FIELDS = tuple(getattr(Mailbox, field.name) for field in PROFILE_FIELDS) + (
    Mailbox.isglobaladmin,
)


def admin_lists(params: Params):
    """The `(query, search fields)` of GET /api/admins: standalone admins, and with
    `include_mailbox_admins=yes` the admin mailboxes too (as iRedAdmin's list of admins)."""

    sides = [
        (filter_list(Admin.select(*PROFILE_FIELDS), params, Admin.active), ADMIN_SEARCH_FIELDS)
    ]
    if params.get_bool("include_mailbox_admins", False):
        mailboxes = Mailbox.select(*MAILBOX_ADMIN_FIELDS).where(
            (Mailbox.isadmin == 1) | (Mailbox.isglobaladmin == 1)
        )
        sides.append(
            (filter_list(mailboxes, params, Mailbox.active), (Mailbox.username, Mailbox.name))
        )
    return sides


def profiles(rows: list[dict], hidden) -> list[dict]:
    """The GET answers of a batch of admin rows (their domains read in one query)."""
    domains = managed_domains([row["username"] for row in rows])
    answers = []
    for row in rows:
        data = profile(row, domains[row["username"]], hidden)
        if "isglobaladmin" in row:
            data["mailbox"] = True
        answers.append(data)
    return answers


def stored_password(username: str) -> str | None:
    """The hash of an active standalone admin, else None."""
    return (
        Admin.select(Admin.password)
        .where((Admin.username == username) & (Admin.active == 1))
        .scalar()
    )


# -- who may log in ---------------------------------------------------------------------
def _identity_query(username):
    """One round trip: the admin row, the admin mailbox, and the managed domains."""
    standalone = Admin.select(peewee.Value("admin"), peewee.Value(0), peewee.Value("")).where(
        (Admin.username == username) & (Admin.active == 1)
    )
    mailbox = Mailbox.select(
        peewee.Value("mailbox"), Mailbox.isglobaladmin, peewee.Value("")
    ).where(
        (Mailbox.username == username)
        & (Mailbox.active == 1)
        & ((Mailbox.isadmin == 1) | (Mailbox.isglobaladmin == 1))
    )
    managed = DomainAdmin.select(peewee.Value("domain"), peewee.Value(0), DomainAdmin.domain).where(
        (DomainAdmin.username == username) & (DomainAdmin.active == 1)
    )
    return standalone + mailbox + managed  # UNION ALL


IDENTITY_QUERY = PreparedQuery(_identity_query, "username")


def load_identity(username: str, client_ip: str) -> Identity | None:
    """The role and managed domains of an active admin, or None when it may not log in."""
    is_admin, is_global, domains = False, False, set()
    for kind, global_flag, domain in IDENTITY_QUERY.rows(vmail_db, username=username):
        if kind == "domain":
            domains.add(domain)
        else:
            is_admin = True
            is_global = is_global or bool(global_flag)
    if not is_admin:
        return None
    if "ALL" in domains:
        is_global = True
    domains.discard("ALL")
    role = GLOBAL if is_global else DOMAIN_ADMIN
    return Identity(admin=username, role=role, domains=frozenset(domains), client_ip=client_ip)


# -- the last global admin -----------------------------------------------------------------
def _other_active_global_admins(username: str) -> bool:
    """Whether an active global admin other than `username` exists. The `ALL` rows are locked
    first, so two requests that each demote one of the last two wait for each other."""
    list(lock_for_update(DomainAdmin.select().where(DomainAdmin.domain == ALL)))
    standalone = (
        Admin.select()
        .join(DomainAdmin, on=(DomainAdmin.username == Admin.username))
        .where((DomainAdmin.domain == ALL) & (Admin.active == 1) & (Admin.username != username))
    )
    in_all = DomainAdmin.select(DomainAdmin.username).where(DomainAdmin.domain == ALL)
    mailboxes = Mailbox.select().where(
        (Mailbox.active == 1)
        & (Mailbox.username != username)
        & ((Mailbox.isglobaladmin == 1) | Mailbox.username.in_(in_all))
    )
    return standalone.exists() or mailboxes.exists()


def _refuse_lockout(caller: Identity, username: str, what: str) -> None:
    if username == caller.admin:
        raise ApiError("NOT_ALLOWED", f"an admin cannot {what} itself")
    if not _other_active_global_admins(username):
        raise ApiError("NOT_ALLOWED", f"cannot {what} the last active global admin")


# -- writing -------------------------------------------------------------------------------
def create_admin(address: str, params: Params, config) -> None:
    """INSERT the admin (and its `ALL` row when global) in one transaction."""
    password = _password_column(params, config, required=True)
    name = params.get_str("name", "", column=Admin.name)
    language = params.get_language() or ""
    active = params.get_status(default=1)
    is_global = params.get_bool("isGlobalAdmin", False)
    changes = _limit_changes(params)
    settings = "" if is_global else settings_text.update("", **changes)
    now = utcnow()
    domain = domain_of(address)
    with vmail_db.atomic():
        local = Domain.select().where(Domain.domain == domain).exists() or (
            AliasDomain.select().where(AliasDomain.alias_domain == domain).exists()
        )
        if local:
            raise ApiError("CAN_NOT_BE_LOCAL_DOMAIN", domain)
        try:
            Admin.insert(
                username=address, password=password, name=name, language=language,
                passwordlastchange=now, settings=settings, created=now, modified=now,
                active=active,
            ).execute()  # fmt: skip
        except peewee.IntegrityError:
            raise ApiError("ALREADY_EXISTS", address) from None
        if is_global:
            DomainAdmin.insert(
                username=address, domain=ALL, created=now, modified=now, active=1
            ).execute()


def update_admin(caller: Identity, address: str, params: Params, config) -> None:
    """UPDATE only what is given; the `ALL` row follows `isGlobalAdmin`."""
    password = _password_column(params, config, required=False)
    columns: dict = {}
    if password is not None:
        columns["password"] = password
    if "name" in params:
        columns["name"] = params.get_str("name", column=Admin.name)
    if "language" in params:
        columns["language"] = params.get_language() or ""
    active = params.get_status()
    want_global = params.get_bool("isGlobalAdmin")
    changes = _limit_changes(params)
    now = utcnow()
    with vmail_db.atomic():
        row = lock_for_update(Admin.select().where(Admin.username == address)).first()
        if row is None:
            raise ApiError("NO_SUCH_ADMIN", address)
        is_global = _is_global(address)
        if want_global is None:
            want_global = is_global
        if is_global and row.active and (not want_global or active == 0):
            _refuse_lockout(caller, address, "demote or disable")
        if active is not None:
            columns["active"] = active
        if password is not None:
            columns["passwordlastchange"] = now
        if want_global:  # a global admin has no limits
            changes = dict.fromkeys(LIMIT_KEYS)
        columns["settings"] = settings_text.update(row.settings, **changes)
        columns["modified"] = now
        Admin.update(**columns).where(Admin.username == address).execute()
        if want_global and not is_global:
            DomainAdmin.insert(
                username=address, domain=ALL, created=now, modified=now, active=1
            ).execute()
        elif is_global and not want_global:
            DomainAdmin.delete().where(
                (DomainAdmin.username == address) & (DomainAdmin.domain == ALL)
            ).execute()


def delete_admin(caller: Identity, address: str) -> None:
    """DELETE the admin and every `domain_admins` row of it; its domains stay. Its sessions
    and API keys end first (another database): an admin made again under the same address
    never inherits them, and a failure after that step leaves the admin in place, logged out."""
    with vmail_db.atomic():
        row = Admin.select(Admin.active).where(Admin.username == address).first()
        if row is None:
            raise ApiError("NO_SUCH_ADMIN", address)
        if row.active and _is_global(address):
            _refuse_lockout(caller, address, "delete")
    end_access(address)
    with vmail_db.atomic():
        row = lock_for_update(Admin.select().where(Admin.username == address)).first()
        if row is None:
            raise ApiError("NO_SUCH_ADMIN", address)
        if row.active and _is_global(address):
            _refuse_lockout(caller, address, "delete")
        Admin.delete().where(Admin.username == address).execute()
        DomainAdmin.delete().where(DomainAdmin.username == address).execute()


def end_access(username: str) -> None:
    """End every session of `username` and revoke its API keys (the iredadmin database)."""
    from shared.rules.api_keys import revoke_all

    revoke_all(username)
    needle = f'"username": "{username}"'
    candidates = Session.select(Session.session_id, Session.data).where(
        Session.data.contains(needle)  # LIKE: `_` may match more; the JSON decides
    )
    ended = [digest for digest, data in candidates.tuples() if session_user(data) == username]
    if ended:
        Session.delete().where(Session.session_id.in_(ended)).execute()


def session_user(data: str | None) -> str | None:
    try:
        return json.loads(data or "{}").get("username")
    except (ValueError, AttributeError):
        return None


def create_global_admin(username: str, password: str, config, replace: bool = False) -> None:
    """The operator's first admin (`mailapi create-admin`): global, in one transaction."""
    username = username.strip().lower()
    if not is_mailbox_address(username):
        raise ApiError("INVALID_MAIL", username)
    check_policy(password, config)
    now = utcnow()
    row = {
        "password": hash_password(password, config.default_password_scheme),
        "passwordlastchange": now,
        "modified": now,
        "active": 1,
    }
    with vmail_db.atomic():
        exists = Admin.select().where(Admin.username == username).exists()
        if exists and not replace:
            raise ApiError("ALREADY_EXISTS", username)
        if exists:
            Admin.update(**row).where(Admin.username == username).execute()
        else:
            Admin.insert(username=username, created=now, **row).execute()
        DomainAdmin.insert(
            username=username, domain=ALL, created=now, modified=now, active=1
        ).on_conflict_ignore().execute()


# -- a normal admin's limits when it creates or changes a domain ----------------------------
def creator_settings(caller: Identity) -> dict:
    """The caller's settings, its row locked: two creates by one admin take turns, so they
    cannot both pass its last free slot."""
    for model in (Admin, Mailbox):
        row = lock_for_update(
            model.select(model.settings).where(model.username == caller.admin)
        ).first()
        if row is not None:
            return settings_text.as_object(row.settings)
    return {}


def may_create_domains(settings: dict) -> bool:
    """`create_new_domains:yes` (what iRedAdmin writes), or a positive `create_max_domains`
    alone (settings written by hand before this API)."""
    count = settings.get("create_max_domains")
    return settings.get("create_new_domains") == "yes" or (isinstance(count, int) and count > 0)


def require_domain_creator(caller: Identity) -> dict:
    settings = creator_settings(caller)
    if not may_create_domains(settings):
        raise ApiError("PERMISSION_DENIED", "this admin may not create or delete domains")
    return settings


def check_creator_limits(caller: Identity, settings: dict, values: dict, domain: str) -> None:
    """A normal admin's domains with `values` (`maxquota`, `mailboxes`, `aliases`,
    `maillists`) for `domain` must stay within its `create_max_*` limits: the sum of what its
    domains allocate (the vendor's counters). An unlimited value (0) is refused while a limit
    is set; a limit of -1 allows only -1 (none)."""
    others = Domain.select().where(
        Domain.domain.in_(
            DomainAdmin.select(DomainAdmin.domain).where(
                (DomainAdmin.username == caller.admin) & (DomainAdmin.domain != domain)
            )
        )
    )
    limits = [("create_max_quota", "maxquota", "EXCEED_LIMIT_QUOTA")] + [
        (key, column, code) for _, key, column, code in COUNT_LIMITS
    ]
    for key, column, code in limits:
        limit = settings.get(key)
        if not isinstance(limit, int) or limit == 0 or column not in values:
            continue
        value = values[column]
        if limit < 0:
            if value != -1 or column == "maxquota":
                raise ApiError(code, f"{key} is -1 (none)")
            continue
        if value == 0:
            raise ApiError(code, f"{key} is {limit}: an unlimited value is not allowed")
        field = getattr(Domain, column)
        allocated = (
            others.select(peewee.fn.COALESCE(peewee.fn.SUM(field), 0)).where(field > 0).scalar()
        )
        if int(allocated) + max(value, 0) > limit:
            raise ApiError(code, f"{key} is {limit}, {int(allocated)} allocated")


def check_domain_count(caller: Identity, settings: dict) -> None:
    limit = settings.get("create_max_domains")
    if not isinstance(limit, int) or limit <= 0:
        return
    managed = (
        DomainAdmin.select()
        .where((DomainAdmin.username == caller.admin) & (DomainAdmin.domain != ALL))
        .count()
    )
    if managed >= limit:
        raise ApiError("EXCEED_LIMIT_DOMAIN", f"create_max_domains is {limit}")
