"""The route catalogue: which service serves which path and methods.

Both sides read it: the gateway to answer NOT_FOUND / METHOD_NOT_ALLOWED before authentication
and to pick the upstream, each service to bind the templates to its resources. Templates are
relative to the API prefix (`/api/domain/x` is `/domain/x`).

A segment that takes one of a few words (a throttle's direction) is `{name:oneof(...)}`, so
the gateway answers NOT_FOUND for any other word before authentication (CONTRACT §6).
"""

from __future__ import annotations

import dataclasses

import falcon.routing


@dataclasses.dataclass(frozen=True)
class Route:
    template: str
    methods: frozenset[str]
    resource: str  # the name under which the service registers its resource
    # Methods that change nothing (a read-only API key may call them): GET, and a POST that
    # only checks something (verify_password).
    reads: frozenset[str] = frozenset({"GET"})


def _route(template: str, methods: str, resource: str, reads: str = "") -> Route:
    return Route(template, frozenset(methods.split()), resource, frozenset({"GET", *reads.split()}))


class OneOf(falcon.routing.BaseConverter):
    """`{field:oneof('a','b')}`: the segment matches only one of the given words."""

    def __init__(self, *words: str):
        self._words = frozenset(words)

    def convert(self, value: str):
        return value if value in self._words else None


CONVERTERS = {"oneof": OneOf}
DIRECTION = "{direction:oneof('inbound','outbound')}"
WBLIST = f"/wblist/{DIRECTION}/{{listname:oneof('whitelist','blacklist')}}"


CATALOGUE: dict[str, tuple[Route, ...]] = {
    "domain": (
        _route("/domains", "GET", "domains"),
        _route("/domain/{domain}", "GET POST PUT DELETE", "domain"),
        _route("/domain/{domain}/keep_mailbox_days/{days}", "DELETE", "domain_keep_days"),
        _route("/domain/admins/{domain}", "PUT", "domain_admins"),
    ),
    "user": (
        _route("/user/{mail}", "GET POST PUT DELETE", "user"),
        _route("/user/{mail}/keep_mailbox_days/{days}", "DELETE", "user_keep_days"),
        _route("/user/{mail}/change_email/{new_mail}", "POST", "user_change_email"),
        _route("/users/{domain}", "GET PUT", "users"),
        _route("/verify_password/user/{mail}", "POST", "verify_password_user", reads="POST"),
    ),
    "alias": (
        _route("/alias/{mail}", "GET POST PUT DELETE", "alias"),
        _route("/alias/{mail}/change_email/{new_mail}", "POST", "alias_change_email"),
        _route("/aliases/{domain}", "GET", "aliases"),
        _route("/maillist/{mail}", "GET POST PUT DELETE", "maillist"),
    ),
    "admin": (
        _route("/admin/{mail}", "GET POST PUT DELETE", "admin"),
        _route("/admins", "GET", "admins"),
        _route("/verify_password/admin/{mail}", "POST", "verify_password_admin", reads="POST"),
        _route("/apikeys", "GET", "apikeys"),
        _route("/apikey/{name}", "POST DELETE", "apikey"),
    ),
    "ldif": (
        _route("/ldif/domain/{domain}", "GET", "ldif_domain"),
        _route("/ldif/catchall/{domain}", "GET", "ldif_catchall"),
        _route("/ldif/admin/{mail}", "GET", "ldif_admin"),
        _route("/ldif/user/{mail}", "GET", "ldif_user"),
        _route("/ldif/alias/{mail}", "GET", "ldif_alias"),
        _route("/ldif/maillist/{mail}", "GET", "ldif_alias"),
    ),
    "amavisd": (
        _route("/spampolicy/global", "GET PUT DELETE", "spampolicy_global"),
        _route("/spampolicy/domain/{domain}", "GET PUT DELETE", "spampolicy_domain"),
        _route("/spampolicy/user/{mail}", "GET PUT DELETE", "spampolicy_user"),
        _route(f"{WBLIST}/global", "GET POST PUT DELETE", "wblist_global"),
        _route(f"{WBLIST}/{{account}}", "GET POST PUT DELETE", "wblist"),
    ),
    "mlmmj": (
        _route("/ml/{mail}", "GET POST PUT DELETE", "ml"),
        _route("/mls/{domain}", "GET", "mls"),
    ),
    "throttle": (
        # The literal `global` wins over the placeholder (Falcon prefers literal segments).
        _route(f"/throttle/global/{DIRECTION}", "GET POST DELETE", "throttle_global"),
        _route(f"/throttle/{{account}}/{DIRECTION}", "GET POST DELETE", "throttle"),
        # iRedAPD's greylisting: `all`, `global` and `whitelist_spf_domains` are never accounts.
        _route("/greylisting/all", "GET", "greylisting_all"),
        _route("/greylisting/whitelist_spf_domains", "GET POST", "greylisting_spf"),
        _route("/greylisting/global", "GET POST DELETE", "greylisting_global"),
        _route("/greylisting/global/whitelists", "GET POST", "greylisting_whitelists_global"),
        _route("/greylisting/{account}", "GET POST DELETE", "greylisting"),
        _route("/greylisting/{account}/whitelists", "GET POST", "greylisting_whitelists"),
    ),
}
