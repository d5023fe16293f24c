"""Subscribable mailing lists (mlmmj): CONTRACT §4.9, spec greylisting-mlmmj.md parts 1.2, 2.2.

As on an iRedMail server, the API writes the SQL rows itself (`maillists`, the `forwardings`
self row, `maillist_owners`, `moderators`) in one transaction and asks mlmmjadmin (whose
`bk_none` backend writes nothing) for the list's files before it commits: a failed call leaves
no row. A delete commits first (Postfix stops accepting the list's mail) and then has the files
archived, journaled like the other cross-store writes (shared/rules/cascade.py).
"""

from __future__ import annotations

import dataclasses
import uuid

import peewee

from shared.api_params import ML_SWITCHES
from shared.db import insert_rows, lock_for_update, vmail_db
from shared.errors import ApiError
from shared.mlmmjadmin import client
from shared.models.vmail import Domain, Forwarding, Maillist, MaillistOwner, Moderator
from shared.params import Params
from shared.rules import cascade, mlmmj_cascades
from shared.rules.aliases import ACCESS_POLICIES
from shared.rules.users import locked_domain, require_free_address
from shared.timeutil import utcnow
from shared.validation import domain_of

ADDRESS_LISTS = ("owner", "moderators", "subscription_moderators", "extra_addresses")
TEXTS = ("subject_prefix", "footer_text", "footer_html")
SUBSCRIPTIONS = ("normal", "digest", "nomail")

# What a new list gets beyond mlmmjadmin's own defaults (CONTRACT §4.9: the vendor's
# documented defaults).
CREATE_DEFAULTS = {"disable_retrieving_subscribers": "yes", "disable_send_copy_to_sender": "yes"}
DEFAULT_POLICY = "membersonly"

# accessPolicy → mlmmj's (only_subscriber_can_post, only_moderator_can_post) (spec §1.2).
POSTING_FLAGS = {
    "public": (False, False), "domain": (False, False), "subdomain": (False, False),
    "membersonly": (True, False), "moderatorsonly": (False, True),
    "membersandmoderatorsonly": (True, False),
}  # fmt: skip
SQL_COLUMNS = (
    "address", "domain", "name", "description", "accesspolicy", "maxmsgsize", "mlid",
    "is_newsletter", "transport", "created", "modified", "expired", "active",
)  # fmt: skip


def _yes(value: bool) -> str:
    return "yes" if value else "no"


@dataclasses.dataclass
class Change:
    """What one POST or PUT asks for: SQL columns, mlmmjadmin fields, owners and moderators."""

    columns: dict
    fields: dict
    owners: list | None = None
    moderators: list | None = None


def _policy_and_flags(params: Params, current_policy: str | None, fields: dict) -> str | None:
    """The `accesspolicy` column to write (None: unchanged), putting the posting flags that go
    with it into `fields`; flags alone set the column by their values."""
    policy = params.get_str("accessPolicy")
    sub = params.get_bool("only_subscriber_can_post")
    mod = params.get_bool("only_moderator_can_post")
    if policy is not None:
        policy = policy.lower()
        if policy not in ACCESS_POLICIES:
            raise ApiError("INVALID_ACCESS_POLICY", policy[:40])
        want_sub, want_mod = POSTING_FLAGS[policy]
        if (sub is not None and sub != want_sub) or (mod is not None and mod != want_mod):
            raise ApiError("INVALID_PARAM", f"accessPolicy={policy} contradicts the posting flags")
        fields["only_subscriber_can_post"] = _yes(want_sub)
        fields["only_moderator_can_post"] = _yes(want_mod)
        return policy
    if sub is None and mod is None:
        return None
    now_sub, now_mod = POSTING_FLAGS.get(current_policy or DEFAULT_POLICY, (False, False))
    sub = now_sub if sub is None else sub
    mod = now_mod if mod is None else mod
    if mod:
        sub = False  # mlmmj: moderators only wins (mlmmjadmin clears subonlypost too)
    fields["only_subscriber_can_post"] = _yes(sub)
    fields["only_moderator_can_post"] = _yes(mod)
    if current_policy is not None and (sub, mod) == (now_sub, now_mod):
        return None
    return "moderatorsonly" if mod else "membersonly" if sub else "public"


def _header_lines(params: Params) -> str | None:
    raw = params.get_str("custom_headers")
    if raw is None:
        return None
    lines = [line.strip() for line in raw.replace("\\n", "\n").splitlines() if line.strip()]
    for line in lines:
        name, colon, _ = line.partition(":")
        if not colon or not name.strip() or any(c.isspace() for c in name.strip()):
            raise ApiError("INVALID_PARAM", f"custom_headers: not a header line: {line[:80]}")
    return "\n".join(lines)


def parse_profile(params: Params, current_policy: str | None = None) -> Change:
    """The profile parameters of a POST (`current_policy` None) or PUT, validated."""
    columns: dict = {}
    fields: dict = {}
    if "name" in params:
        columns["name"] = fields["name"] = params.get_str("name", column=Maillist.name)
    if "accountStatus" in params:
        columns["active"] = params.get_status()
    if "is_newsletter" in params:
        columns["is_newsletter"] = int(params.get_bool("is_newsletter"))
    if "newsletter_description" in params:
        columns["description"] = params.get_str(
            "newsletter_description", column=Maillist.description
        )
    size_name = "max_message_size" if "max_message_size" in params else "maxMailSize"
    size = params.get_int(size_name, None, minimum=0)
    if size is not None:
        columns["maxmsgsize"] = size
        fields["max_message_size"] = str(size) if size else ""
    policy = _policy_and_flags(params, current_policy, fields)
    if policy is not None:
        columns["accesspolicy"] = policy
    for name in ML_SWITCHES:
        if name in params and name not in fields:
            fields[name] = _yes(params.get_bool(name))
    lists = {name: params.get_address_list(name) for name in ADDRESS_LISTS if name in params}
    for name, addresses in lists.items():
        fields[name] = ",".join(addresses)
    for name in TEXTS:
        if name in params:
            fields[name] = params.get_str(name)
    headers = _header_lines(params)
    if headers is not None:
        fields["custom_headers"] = headers
    if "remove_headers" in params:
        fields["remove_headers"] = ",".join(params.get_list("remove_headers"))
    return Change(columns, fields, lists.get("owner"), lists.get("moderators"))


def _subscription(params: Params) -> dict:
    """`require_confirm` (always sent: mlmmjadmin takes a missing one as no) and `subscription`."""
    kind = (params.get_str("subscription") or "normal").lower()
    if kind not in SUBSCRIPTIONS:
        raise ApiError("INVALID_PARAM", "subscription must be normal, digest or nomail")
    return {"require_confirm": _yes(params.get_bool("require_confirm", True)),
            "subscription": kind}  # fmt: skip


def check_list_limit(domain: Domain) -> None:
    if domain.maillists == -1:
        raise ApiError("NOT_ALLOWED", "this domain may hold no mailing lists")
    if domain.maillists > 0:
        count = Maillist.select().where(Maillist.domain == domain.domain).count()
        if count >= domain.maillists:
            raise ApiError("EXCEEDED_DOMAIN_LIST_LIMIT", f"at most {domain.maillists}")


def _replace_owners(address: str, owners: list[str]) -> None:
    MaillistOwner.delete().where(MaillistOwner.address == address).execute()
    insert_rows(
        MaillistOwner,
        ("address", "owner", "domain", "dest_domain"),
        ((address, o, domain_of(address), domain_of(o)) for o in sorted(owners)),
    )


def _replace_moderators(address: str, moderators: list[str]) -> None:
    Moderator.delete().where(Moderator.address == address).execute()
    insert_rows(
        Moderator,
        ("address", "moderator", "domain", "dest_domain"),
        ((address, m, domain_of(address), domain_of(m)) for m in sorted(moderators)),
    )


def _files_exist(address: str) -> bool:
    try:
        client().call("GET", address, {"params": "name"})
    except ApiError as exc:
        if exc.code == "NO_SUCH_ACCOUNT":
            return False
        raise
    return True


def create(address: str, params: Params) -> None:
    params.reject_undeclared()
    change = parse_profile(params)
    subscribers = params.get_address_list("subscribers", [])
    subscription = _subscription(params)
    domain_name = domain_of(address)
    postmaster = f"postmaster@{domain_name}"
    owners = change.owners or [postmaster]
    moderators = change.moderators if change.moderators is not None else [postmaster]
    fields = {**CREATE_DEFAULTS, "only_subscriber_can_post": "yes", **change.fields,
              "owner": ",".join(owners), "moderators": ",".join(moderators)}  # fmt: skip
    cascade.before_taking(address)
    now = utcnow()
    local = address.rsplit("@", 1)[0]
    with vmail_db.atomic():
        domain = locked_domain(domain_name)
        if domain.backupmx:
            raise ApiError("INVALID_PARAM", f"{domain_name} is a backup MX domain")
        require_free_address(address)
        check_list_limit(domain)
        row = {"address": address, "domain": domain_name,
               "transport": f"mlmmj:{domain_name}/{local}", "accesspolicy": DEFAULT_POLICY,
               "maxmsgsize": 0, "name": "", "description": "",
               "mlid": str(uuid.uuid4()), "is_newsletter": 0, "settings": "", "created": now,
               "modified": now, "active": 1, **change.columns}  # fmt: skip
        try:
            Maillist.insert(row).execute()
        except peewee.IntegrityError:
            raise ApiError("ALREADY_EXISTS", address) from None
        Forwarding.insert(
            address=address, forwarding=address, domain=domain_name, dest_domain=domain_name,
            is_maillist=1, active=row["active"],
        ).execute()  # fmt: skip
        _replace_owners(address, owners)
        _replace_moderators(address, moderators)
        mlmmj = client()
        # Files left by a list whose archiving failed: moved aside, never inherited (a create
        # over them would keep their subscribers).
        if _files_exist(address):
            mlmmj.call("DELETE", address, {"archive": "yes"})
        mlmmj.call("POST", address, fields)
        if subscribers:
            try:
                mlmmj.call("POST", f"{address}/subscribers",
                           {"add_subscribers": ",".join(subscribers), **subscription})  # fmt: skip
            except ApiError:
                mlmmj.call("DELETE", address, {"archive": "no"})  # the transaction rolls back
                raise


def _locked_list(address: str) -> Maillist:
    row = lock_for_update(Maillist.select().where(Maillist.address == address)).first()
    if row is None:
        raise ApiError("NO_SUCH_ACCOUNT", address)
    return row


def update(address: str, params: Params) -> None:
    """SQL and files in step: the transaction commits after mlmmjadmin accepted every change.
    Each mlmmjadmin call sets values (never toggles), so a retry of a PUT that failed half-way
    converges."""
    params.reject_undeclared()
    add = params.get_address_list("add_subscribers", [])
    everyone = params.get_list("remove_subscribers", [], lower=True) == ["all"]
    # ALL: mlmmjadmin's word for every subscriber
    remove = ["ALL"] if everyone else params.get_address_list("remove_subscribers", [])
    subscription = _subscription(params)
    with vmail_db.atomic():
        current = _locked_list(address)
        change = parse_profile(params, current.accesspolicy)
        if change.columns:
            Maillist.update(**change.columns, modified=utcnow()).where(
                Maillist.address == address
            ).execute()
        if "active" in change.columns:
            Forwarding.update(active=change.columns["active"]).where(
                (Forwarding.address == address) & (Forwarding.forwarding == address)
            ).execute()
        if change.owners is not None:
            owners = change.owners or [f"postmaster@{domain_of(address)}"]
            change.fields["owner"] = ",".join(owners)
            _replace_owners(address, owners)
        if change.moderators is not None:
            _replace_moderators(address, change.moderators)
        mlmmj = client()
        if change.fields:
            mlmmj.call("PUT", address, change.fields)
        if remove:
            mlmmj.call("POST", f"{address}/subscribers",
                       {"remove_subscribers": ",".join(remove)})  # fmt: skip
        if add:
            mlmmj.call("POST", f"{address}/subscribers",
                       {"add_subscribers": ",".join(add), **subscription})  # fmt: skip


def delete(address: str, keep_archive: bool) -> None:
    def main_step():
        with vmail_db.atomic():
            _locked_list(address)
            mlmmj_cascades.delete_rows(Maillist.address == address)

    kind = cascade.DELETE_LIST if keep_archive else cascade.DELETE_LIST_DATA
    cascade.run(cascade.Operation(kind, address), main_step)


def profile(address: str, with_subscribers: bool) -> dict:
    row = (
        Maillist.select(*(getattr(Maillist, c) for c in SQL_COLUMNS))
        .where(Maillist.address == address)
        .dicts()
        .first()
    )
    if row is None:
        raise ApiError("NO_SUCH_ACCOUNT", address)
    mlmmj = client()
    try:
        files = mlmmj.call("GET", address) or {}
    except ApiError as exc:
        if exc.code != "NO_SUCH_ACCOUNT":
            raise
        return {**row, "mlmmj": False}  # rows without files: still deletable
    answer = {**files, **row, "mlmmj": True, "owners": files.get("owner", [])}
    if with_subscribers:
        answer["subscribers"] = mlmmj.call("GET", f"{address}/subscribers") or []
    return answer


def domain_lists(domain: str, email_only: bool) -> list:
    if not Domain.select().where(Domain.domain == domain).exists():
        raise ApiError("NO_SUCH_DOMAIN", domain)
    query = (
        Maillist.select(*(getattr(Maillist, c) for c in SQL_COLUMNS))
        .where(Maillist.domain == domain)
        .order_by(Maillist.address)
    )
    if email_only:
        return [row.address for row in query]
    return list(query.dicts())
