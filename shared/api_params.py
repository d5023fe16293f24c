"""What every endpoint takes and answers, declared once beside the route catalogue.

The parameter parser reads it (shared/params.py: the legacy names come from here, and with
`MAILAPI_STRICT_PARAMS=1`, as in the tests and the fuzzer, reading a parameter that the
endpoint does not declare, or reading it as another kind, is a fault), and so does the OpenAPI
document (shared/openapi.py). Parameters come in the query string or the body (form,
multipart or JSON) of any method (CONTRACT §1); a list is comma-separated; a boolean is
`yes`/`no` (also `true`/`false`, `1`/`0`, `on`/`off`).
"""

from __future__ import annotations

import dataclasses

from shared.routes import CATALOGUE


@dataclasses.dataclass(frozen=True)
class Kind:
    name: str
    schema: dict  # the OpenAPI schema of one value
    getters: frozenset  # the Params getters that read this kind
    description: str = ""


_TEXT = frozenset({"get_str"})
STRING = Kind("string", {"type": "string"}, _TEXT)
INTEGER = Kind("integer", {"type": "integer"}, _TEXT | {"get_int"})
BOOLEAN = Kind("boolean", {"type": "string", "enum": ["yes", "no"]}, _TEXT | {"get_bool"},
               "yes or no (also true/false, 1/0, on/off)")  # fmt: skip
LIST = Kind("list", {"type": "string"}, _TEXT | {"get_list"}, "comma-separated values")
ADDRESSES = Kind("addresses", {"type": "string"}, _TEXT | {"get_list", "get_address_list"},
                 "comma-separated e-mail addresses")  # fmt: skip
DOMAINS = Kind("domains", {"type": "string"}, _TEXT | {"get_list", "get_domain_list"},
               "comma-separated domain names")  # fmt: skip
ADDRESS = Kind("address", {"type": "string"}, _TEXT | {"get_address"}, "an e-mail address")
LANGUAGE = Kind("language", {"type": "string", "pattern": "^([a-z]{2}(_[A-Z]{2})?)?$"},
                _TEXT | {"get_language"}, "a language code: en_US, de")  # fmt: skip
STATUS = Kind("status", {"type": "string", "enum": ["active", "disabled"]},
              _TEXT | {"get_status"})  # fmt: skip


def one_of(*words: str) -> Kind:
    return Kind("enum", {"type": "string", "enum": list(words)}, _TEXT)


ACCESS_POLICY = one_of("public", "domain", "subdomain", "membersonly", "moderatorsonly",
                       "membersandmoderatorsonly")  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Param:
    name: str
    kind: Kind = STRING
    description: str = ""
    aliases: tuple[str, ...] = ()  # old names a client may still send (CONTRACT §1)
    required: bool = False


@dataclasses.dataclass(frozen=True)
class Endpoint:
    summary: str
    params: tuple[Param, ...] = ()
    # What `_data` holds on success: None (a plain success), "object", "array", "any"; "html":
    # the answer is a page, not the envelope.
    answer: str | None = None
    errors: tuple[str, ...] = ()  # beyond the codes every endpoint may answer


P = Param
E = Endpoint

# -- shared groups ----------------------------------------------------------------------
PAGING = (
    P("limit", INTEGER, "a page of at most this many rows (with it: `_next`, `cursor`)"),
    P("cursor", STRING, "the `_next` of the previous page"),
    P("total", BOOLEAN, "with a page: count the matching rows into `_total`"),
    P("search", STRING, "rows whose address or name contain this text"),
    P("status", one_of("active", "disabled"), "only active or only disabled rows"),
    P("disabled_only", BOOLEAN),
)
NAME = P("name", STRING, aliases=("cn",))
QUOTA = P("quota", INTEGER, "MB", aliases=("mailQuota",))
LANG = P("language", LANGUAGE, aliases=("preferredLanguage",))
ACCOUNT_ERRORS = ("NO_SUCH_ACCOUNT", "NO_SUCH_DOMAIN", "INVALID_MAIL", "INVALID_DOMAIN_NAME")
PASSWORD_ERRORS = ("PW_EMPTY", "PW_GREATER_THAN_MAX_LENGTH", "PW_NON_ASCII", "PW_NO_DIGIT_NUMBER",
                   "PW_NO_LETTER", "PW_NO_SPECIAL_CHAR", "PW_NO_UPPERCASE",
                   "PW_SHORTER_THAN_MIN_LENGTH", "INVALID_PASSWORD_SCHEME")  # fmt: skip
LIMIT_ERRORS = ("EXCEED_LIMIT_DOMAIN", "EXCEED_LIMIT_QUOTA", "EXCEED_LIMIT_USERS",
                "EXCEED_LIMIT_ALIASES", "EXCEED_LIMIT_LISTS")  # fmt: skip
PASSWORD = (P("password", STRING), P("password_hash", STRING, "a `{SCHEME}` hash, stored as given"))
SERVICES = (P("services", LIST), P("addService", LIST), P("removeService", LIST))
RELAY_AND_BCC = (P("senderBcc", ADDRESS), P("recipientBcc", ADDRESS),
                 P("outboundRelay", STRING, "a relay host: [host]:port"))  # fmt: skip
DOMAIN_PROFILE = (
    NAME, QUOTA, LANG, P("transport", STRING), P("defaultQuota", INTEGER, "MB"),
    P("maxUserQuota", INTEGER, "MB"), P("numberOfUsers", INTEGER), P("numberOfAliases", INTEGER),
    P("numberOfLists", INTEGER), P("senderBcc", ADDRESS), P("recipientBcc", ADDRESS),
)  # fmt: skip
DOMAIN_SETTINGS = tuple(
    P(f"{verb}{what}", LIST) for what in ("DomainProfile", "UserProfile", "UserPreference")
    for verb in ("enable", "disable")
)  # fmt: skip
ADMIN_PROFILE = (
    NAME, LANG, P("accountStatus", STATUS), *PASSWORD, P("isGlobalAdmin", BOOLEAN),
    P("maxDomains", INTEGER), P("maxQuota", INTEGER), P("quotaUnit", one_of("MB", "GB", "TB")),
    P("maxUsers", INTEGER), P("maxAliases", INTEGER), P("maxLists", INTEGER),
    P("disableViewingMailLog", BOOLEAN), P("disableManagingQuarantinedMails", BOOLEAN),
)  # fmt: skip
ALIAS_CREATE = (NAME, P("accessPolicy", ACCESS_POLICY), P("members", ADDRESSES),
                P("moderators", ADDRESSES))  # fmt: skip
ALIAS_UPDATE = (*ALIAS_CREATE, P("accountStatus", STATUS), P("addMember", ADDRESSES),
                P("removeMember", ADDRESSES), P("addModerator", ADDRESSES),
                P("removeModerator", ADDRESSES))  # fmt: skip
ALIAS_ERRORS = (*ACCOUNT_ERRORS, "NO_SUCH_ALIAS", "ALREADY_EXISTS", "INVALID_ACCESS_POLICY",
                "EXCEEDED_DOMAIN_ALIAS_LIMIT", "NOT_ALLOWED")  # fmt: skip
THROTTLE = tuple(P(name, INTEGER) for name in ("period", "max_msgs", "max_quota", "max_rcpts",
                                                "msg_size"))  # fmt: skip
SPAM_POLICY = (
    *(P(f"bypass_{check}_checks", BOOLEAN) for check in ("spam", "virus", "banned", "header")),
    *(P(f"quarantine_{check}", BOOLEAN) for check in ("spam", "virus", "banned", "bad_header")),
    P("prefix_spam_in_subject", BOOLEAN), P("always_insert_x_spam_headers", BOOLEAN),
    P("spam_score", STRING, "the score from which a mail is spam: a number"),
    P("message_size_limit", INTEGER, "bytes"),
    P("banned_rulenames", LIST, "ban rules: iRedMail's four and AMAVISD_BAN_RULES"),
)  # fmt: skip
ADDRESSES_PARAM = (P("addresses", LIST, "IP addresses, networks, user@domain, @domain, @.domain",
                     required=True),)  # fmt: skip
GREYLISTING_STATUS = (P("status", one_of("enable", "disable"), required=True),)
SENDERS = (P("senders", LIST, "IP addresses, networks, user@domain, @domain, @.domain"),
           P("addSenders", LIST), P("removeSenders", LIST))  # fmt: skip
ML_SWITCHES = (
    "close_list", "only_moderator_can_post", "only_subscriber_can_post", "disable_subscription",
    "disable_subscription_confirm", "disable_digest_subscription", "disable_digest_text",
    "disable_nomail_subscription", "moderated", "moderate_non_subscriber_post",
    "disable_retrieving_old_posts", "only_subscriber_can_get_old_posts",
    "disable_retrieving_subscribers", "disable_send_copy_to_sender",
    "notify_owner_when_sub_unsub", "notify_sender_when_moderated", "disable_archive",
    "moderate_subscription", "reply_to_sender", "tocc", "if_mod_send_only_mod_moderate",
    "disable_notify_subscription_moderated", "disable_notify_when_missing_listaddress",
    "disable_notify_when_access_denied", "disable_notify_when_subscriber_only",
    "disable_notify_when_moderator_only", "disable_notify_when_exceeding_max_mail_size",
)  # fmt: skip
ML_PROFILE = (
    P("name", STRING), P("accountStatus", STATUS), P("accessPolicy", ACCESS_POLICY),
    P("is_newsletter", BOOLEAN), P("newsletter_description", STRING),
    P("max_message_size", INTEGER, "bytes"),
    P("maxMailSize", INTEGER, "old name of max_message_size"),
    *(P(name, BOOLEAN) for name in ML_SWITCHES),
    *(P(name, ADDRESSES) for name in ("owner", "moderators", "subscription_moderators",
                                      "extra_addresses")),
    P("subject_prefix", STRING), P("footer_text", STRING), P("footer_html", STRING),
    P("custom_headers", STRING, "header lines, separated by newlines"),
    P("remove_headers", LIST, "header names"),
)  # fmt: skip
SUBSCRIPTION = (P("require_confirm", BOOLEAN, "mlmmj mails a confirmation first (default yes)"),
                P("subscription", one_of("normal", "digest", "nomail")))  # fmt: skip
ML_ERRORS = (*ACCOUNT_ERRORS, "ALREADY_EXISTS", "EXCEEDED_DOMAIN_LIST_LIMIT", "NOT_ALLOWED",
             "INVALID_ACCESS_POLICY")  # fmt: skip
LDIF = (P("format", one_of("ldif", "json"), "LDIF text (default) or JSON entries"),)

ENDPOINTS: dict[str, dict[str, Endpoint]] = {
    "login": {
        "POST": E(
            "Log in: the answer sets the session cookie",
            (P("username", required=True), P("password", required=True)),
            errors=("INVALID_CREDENTIALS", "TOO_MANY_REQUESTS"),
        )
    },  # fmt: skip
    "logout": {"POST": E("Log out: the session ends")},
    "domains": {
        "GET": E(
            "Every domain's profile (streamed), or a page",
            (P("name_only", BOOLEAN), *PAGING),
            "array",
        )
    },  # fmt: skip
    "domain": {
        "GET": E("A domain's profile", answer="object", errors=ACCOUNT_ERRORS),
        "POST": E(
            "Create a domain",
            DOMAIN_PROFILE,
            errors=(*ACCOUNT_ERRORS, "ALREADY_EXISTS", "INVALID_TRANSPORT", *LIMIT_ERRORS),
        ),
        "PUT": E(
            "Update a domain",
            (
                *DOMAIN_PROFILE,
                P("accountStatus", STATUS),
                P("is_backupmx", BOOLEAN),
                P("primarymx", STRING),
                P("outboundRelay", STRING),
                P("catchall", ADDRESSES),
                P("aliasDomains", DOMAINS),
                P("addAliasDomain", DOMAINS),
                P("removeAliasDomain", DOMAINS),
                P("minPasswordLength", INTEGER),
                P("maxPasswordLength", INTEGER),
                *SERVICES,
                *DOMAIN_SETTINGS,
            ),
            errors=(*ACCOUNT_ERRORS, "INVALID_TRANSPORT", "INVALID_SERVICE", *LIMIT_ERRORS),
        ),
        "DELETE": E("Delete a domain and everything in it", errors=ACCOUNT_ERRORS),
    },  # fmt: skip
    "domain_keep_days": {
        "DELETE": E("Delete a domain, its mailboxes kept n days", errors=ACCOUNT_ERRORS)
    },  # fmt: skip
    "domain_admins": {
        "PUT": E(
            "Change a domain's admins",
            (
                P("addAdmin", ADDRESSES),
                P("removeAdmin", ADDRESSES),
                P("removeAllAdmins", BOOLEAN),
            ),
            errors=ACCOUNT_ERRORS,
        )
    },  # fmt: skip
    "user": {
        "GET": E("A user's profile", answer="object", errors=ACCOUNT_ERRORS),
        "POST": E(
            "Create a user",
            (
                NAME,
                QUOTA,
                LANG,
                *PASSWORD,
                P("maildir", STRING),
                P("mailboxFolder", STRING),
                P("mailboxFormat", STRING),
            ),
            errors=(
                *ACCOUNT_ERRORS,
                *PASSWORD_ERRORS,
                "ALREADY_EXISTS",
                "EXCEEDED_DOMAIN_ACCOUNT_LIMIT",
                "EXCEEDED_DOMAIN_QUOTA_SIZE",
                "EXCEEDED_MAX_USER_QUOTA",
                "NOT_ALLOWED",
            ),
        ),
        "PUT": E(
            "Update a user",
            (
                NAME,
                QUOTA,
                LANG,
                *PASSWORD,
                P("accountStatus", STATUS),
                P("transport", STRING),
                P("maildir", STRING),
                P("mailboxFolder", STRING),
                P("mailboxFormat", STRING),
                P("employeeid", STRING),
                P("gn", STRING, aliases=("givenName",)),
                P("sn", STRING, aliases=("surname",)),
                P("isGlobalAdmin", BOOLEAN),
                P("forwarding", ADDRESSES),
                P("addForwarding", ADDRESSES),
                P("removeForwarding", ADDRESSES),
                P("aliases", LIST),
                P("addAlias", LIST),
                P("removeAlias", LIST),
                *SERVICES,
                *RELAY_AND_BCC,
            ),
            errors=(
                *ACCOUNT_ERRORS,
                *PASSWORD_ERRORS,
                "ALREADY_EXISTS",
                "INVALID_TRANSPORT",
                "INVALID_SERVICE",
                "EXCEEDED_DOMAIN_QUOTA_SIZE",
                "EXCEEDED_MAX_USER_QUOTA",
            ),
        ),
        "DELETE": E("Delete a user", errors=ACCOUNT_ERRORS),
    },  # fmt: skip
    "user_keep_days": {
        "DELETE": E("Delete a user, its mailbox kept n days", errors=ACCOUNT_ERRORS)
    },  # fmt: skip
    "user_change_email": {
        "POST": E(
            "Rename a user within its domain",
            errors=(*ACCOUNT_ERRORS, "ALREADY_EXISTS", "DOMAIN_NAME_MISMATCH"),
        )
    },  # fmt: skip
    "users": {
        "GET": E(
            "The domain's users (streamed), or a page",
            (P("email_only", BOOLEAN), *PAGING),
            "array",
            ACCOUNT_ERRORS,
        ),
        "PUT": E(
            "Update every user of the domain",
            (
                P("accountStatus", STATUS),
                LANG,
                P("transport", STRING),
                *PASSWORD,
            ),
            errors=(*ACCOUNT_ERRORS, *PASSWORD_ERRORS, "INVALID_TRANSPORT"),
        ),
    },  # fmt: skip
    "verify_password_user": {
        "POST": E(
            "Check a user's password (global admins)",
            (P("password", required=True),),
            errors=(*ACCOUNT_ERRORS, "INVALID_CREDENTIALS"),
        )
    },  # fmt: skip
    "alias": {
        "GET": E(
            "An alias's profile, members and moderators", answer="object", errors=ALIAS_ERRORS
        ),
        "POST": E("Create an alias", ALIAS_CREATE, errors=ALIAS_ERRORS),
        "PUT": E("Update an alias", ALIAS_UPDATE, errors=ALIAS_ERRORS),
        "DELETE": E("Delete an alias", errors=ALIAS_ERRORS),
    },  # fmt: skip
    "alias_change_email": {"POST": E("Rename an alias", errors=ALIAS_ERRORS)},
    "aliases": {
        "GET": E(
            "The domain's aliases (streamed), or a page",
            (P("email_only", BOOLEAN), *PAGING),
            "array",
            ACCOUNT_ERRORS,
        )
    },  # fmt: skip
    "maillist": {
        "GET": E(
            "An alias-backed list (the LDAP edition's name)", answer="object", errors=ALIAS_ERRORS
        ),
        "POST": E("Create an alias-backed list", ALIAS_CREATE, errors=ALIAS_ERRORS),
        "PUT": E("Update an alias-backed list", ALIAS_UPDATE, errors=ALIAS_ERRORS),
        "DELETE": E("Delete an alias-backed list", errors=ALIAS_ERRORS),
    },  # fmt: skip
    "admin": {
        "GET": E(
            "A standalone admin's profile",
            answer="object",
            errors=("NO_SUCH_ADMIN", "INVALID_MAIL"),
        ),
        "POST": E(
            "Create a standalone admin",
            ADMIN_PROFILE,
            errors=("INVALID_MAIL", "ALREADY_EXISTS", "CAN_NOT_BE_LOCAL_DOMAIN", *PASSWORD_ERRORS),
        ),
        "PUT": E(
            "Update a standalone admin",
            ADMIN_PROFILE,
            errors=("INVALID_MAIL", "NO_SUCH_ADMIN", "NOT_ALLOWED", *PASSWORD_ERRORS),
        ),
        "DELETE": E("Delete a standalone admin", errors=("NO_SUCH_ADMIN", "NOT_ALLOWED")),
    },  # fmt: skip
    "admins": {
        "GET": E(
            "Every admin (streamed), or a page",
            (P("email_only", BOOLEAN), P("include_mailbox_admins", BOOLEAN), *PAGING),
            "array",
        )
    },  # fmt: skip
    "verify_password_admin": {
        "POST": E(
            "Check an admin's password",
            (P("password", required=True),),
            errors=("NO_SUCH_ADMIN", "INVALID_CREDENTIALS"),
        )
    },  # fmt: skip
    "apikeys": {
        "GET": E(
            "API keys (global admins: every key, or `owner`'s)", (P("owner", ADDRESS),), "array"
        )
    },  # fmt: skip
    "apikey": {
        "POST": E(
            "Create an API key: the answer holds it, once",
            (
                P("owner", ADDRESS),
                P("access", one_of("ro", "rw")),
                P("domains", DOMAINS),
                P("networks", LIST, "IP networks the key may be used from"),
                P("expires", STRING, "seconds from now, or an ISO date"),
            ),
            "object",
            ("ALREADY_EXISTS", "NO_SUCH_ADMIN"),
        ),
        "DELETE": E("Revoke an API key", (P("owner", ADDRESS),), errors=("NO_SUCH_API_KEY",)),
    },  # fmt: skip
    **{
        name: {"GET": E(f"LDIF of {what}", LDIF, "any", ACCOUNT_ERRORS)}
        for name, what in (
            ("ldif_catchall", "a domain's catch-all"),
            ("ldif_admin", "an admin"),
            ("ldif_user", "a user"),
            ("ldif_alias", "an alias or list"),
        )
    },
    "ldif_domain": {
        "GET": E(
            "LDIF of a domain (`with_accounts=yes`: and all its accounts)",
            (*LDIF, P("with_accounts", BOOLEAN)),
            "any",
            ACCOUNT_ERRORS,
        )
    },
    **{
        name: {
            "GET": E("A spam policy", answer="object", errors=ACCOUNT_ERRORS),
            "PUT": E(
                "Set values of a spam policy (the rest is kept)", SPAM_POLICY, errors=ACCOUNT_ERRORS
            ),
            "DELETE": E("Delete a spam policy", errors=ACCOUNT_ERRORS),
        }
        for name in ("spampolicy_global", "spampolicy_domain", "spampolicy_user")
    },
    **{
        name: {
            "GET": E("A white/blacklist's entries", answer="array", errors=ACCOUNT_ERRORS),
            "POST": E(
                "Add entries (moved from the other list)", ADDRESSES_PARAM, errors=ACCOUNT_ERRORS
            ),
            "PUT": E("Remove entries", ADDRESSES_PARAM, errors=ACCOUNT_ERRORS),
            "DELETE": E("Remove every entry", errors=ACCOUNT_ERRORS),
        }
        for name in ("wblist_global", "wblist")
    },
    **{
        name: {
            "GET": E("A throttle setting", answer="object", errors=ACCOUNT_ERRORS),
            "POST": E("Set a throttle", THROTTLE, errors=ACCOUNT_ERRORS),
            "DELETE": E("Remove a throttle", errors=ACCOUNT_ERRORS),
        }
        for name in ("throttle_global", "throttle")
    },
    "greylisting_all": {"GET": E("Every greylisting setting", answer="array")},
    "greylisting_spf": {
        "GET": E("Domains whose SPF hosts bypass greylisting", answer="array"),
        "POST": E(
            "Change those domains",
            (P("domains", DOMAINS), P("addDomains", DOMAINS), P("removeDomains", DOMAINS)),
        ),
    },  # fmt: skip
    **{
        name: {
            "GET": E("A greylisting setting", answer="object", errors=ACCOUNT_ERRORS),
            "POST": E("Enable or disable greylisting", GREYLISTING_STATUS, errors=ACCOUNT_ERRORS),
            "DELETE": E("Remove the setting", errors=ACCOUNT_ERRORS),
        }
        for name in ("greylisting_global", "greylisting")
    },
    **{
        name: {
            "GET": E("Senders that bypass greylisting", answer="array", errors=ACCOUNT_ERRORS),
            "POST": E("Change those senders", SENDERS, errors=ACCOUNT_ERRORS),
        }
        for name in ("greylisting_whitelists_global", "greylisting_whitelists")
    },
    "ml": {
        "GET": E(
            "A subscribable list: its row and mlmmj's profile",
            (P("with_subscribers", BOOLEAN),),
            "object",
            ML_ERRORS,
        ),
        "POST": E(
            "Create a subscribable list",
            (*ML_PROFILE, P("subscribers", ADDRESSES), *SUBSCRIPTION),
            errors=ML_ERRORS,
        ),
        "PUT": E(
            "Update a subscribable list",
            (
                *ML_PROFILE,
                P("add_subscribers", ADDRESSES),
                P("remove_subscribers", ADDRESSES, "addresses, or ALL"),
                *SUBSCRIPTION,
            ),
            errors=ML_ERRORS,
        ),
        "DELETE": E(
            "Delete a subscribable list (its folder archived)",
            (P("keep_archive", BOOLEAN, "no: remove its data too"),),
            errors=ML_ERRORS,
        ),
    },  # fmt: skip
    "mls": {
        "GET": E(
            "The domain's subscribable lists", (P("email_only", BOOLEAN),), "array", ACCOUNT_ERRORS
        )
    },  # fmt: skip
    "openapi": {"GET": E("This document (no authentication)", answer="object")},
    "docs": {"GET": E("The interactive reference, rendered from this document", answer="html")},
}

# The gateway's own routes: (template, resource), not in the services' catalogue.
GATEWAY_ROUTES = (("/login", "login"), ("/logout", "logout"), ("/openapi.json", "openapi"),
                  ("/docs", "docs"))  # fmt: skip
UNAUTHENTICATED = frozenset({"login", "logout", "openapi", "docs"})


def by_template() -> dict[tuple[str, str], Endpoint]:
    """(route template, method) → its declaration."""
    found = {}
    routes = [(r.template, r.resource, r.methods) for rs in CATALOGUE.values() for r in rs]
    routes += [(t, name, frozenset(ENDPOINTS[name])) for t, name in GATEWAY_ROUTES]
    for template, resource, methods in routes:
        for method in methods:
            found[(template, method)] = ENDPOINTS[resource][method]
    return found


DECLARED = by_template()
LEGACY_NAMES = {old: p.name for e in DECLARED.values() for p in e.params for old in p.aliases}
