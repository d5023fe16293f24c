"""API keys (CONTRACT §3, §4.7): made, listed and revoked here; checked by the gateway.

A key is `mak_` plus 256 random bits (URL-safe base64). Only its SHA-256 is stored: a key
carries 256 bits of entropy, so a slow hash would add nothing against guessing, and the lookup
stays one index read. The secret is shown once, when the key is made.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import ipaddress
import re
import secrets

import peewee

from shared.db import iredadmin_db
from shared.errors import ApiError
from shared.identity import DOMAIN_ADMIN, Identity
from shared.models.iredadmin import ApiKey
from shared.params import Params
from shared.rules.admins import load_identity
from shared.timeutil import utcnow
from shared.validation import in_networks, parse_address

PREFIX = "mak_"
NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# `last_used` is written when it is older than this (not on every request).
LAST_USED_EVERY_SECONDS = 60
MAX_EXPIRY_SECONDS = 100 * 366 * 86400
PUBLIC_FIELDS = (
    ApiKey.name, ApiKey.owner, ApiKey.domains, ApiKey.read_only, ApiKey.allowed_networks,
    ApiKey.expires, ApiKey.created, ApiKey.last_used, ApiKey.revoked,
)  # fmt: skip


def key_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _split(text: str | None) -> list[str]:
    return [item for item in (text or "").split(",") if item]


def public(row: dict) -> dict:
    """A key as GET /api/apikeys shows it: never the secret or its hash."""
    return {
        "name": row["name"],
        "owner": row["owner"],
        "domains": _split(row["domains"]),  # [] = every domain the owner manages
        "access": "ro" if row["read_only"] else "rw",
        "networks": _split(row["allowed_networks"]),
        "expires": row["expires"],
        "created": row["created"],
        "last_used": row["last_used"],
        "revoked": int(row["revoked"]),
    }


# -- parameters ----------------------------------------------------------------------------
def key_name(value: str) -> str:
    if not NAME.match(value):
        raise ApiError("INVALID_PARAM", "a key name is 1-64 of A-Z a-z 0-9 . _ -")
    return value


def _owner(caller: Identity, params: Params) -> str:
    owner = (params.get_str("owner") or caller.admin).lower()
    if owner != caller.admin and not caller.is_global:
        raise ApiError("PERMISSION_DENIED", "only a global admin manages another admin's keys")
    return owner


def _networks(params: Params) -> str:
    networks = []
    for entry in params.get_list("networks", []):
        try:
            networks.append(str(ipaddress.ip_network(entry, strict=False)))
        except ValueError:
            raise ApiError("INVALID_PARAM", f"networks: {entry[:60]}") from None
    return ",".join(dict.fromkeys(networks))


def _expires(params: Params, now: datetime.datetime) -> datetime.datetime | None:
    """`YYYY-MM-DD` (the key works through that day, UTC) or seconds from now."""
    raw = params.get_str("expires")
    if not raw:
        return None
    if raw.isdigit() and int(raw) <= MAX_EXPIRY_SECONDS:
        expires = now + datetime.timedelta(seconds=int(raw))
    else:
        try:
            day = datetime.date.fromisoformat(raw)
        except ValueError:
            raise ApiError("INVALID_PARAM", "expires is YYYY-MM-DD or seconds from now") from None
        expires = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time())
    if expires <= now:
        raise ApiError("INVALID_PARAM", "expires is in the past")
    return expires.replace(microsecond=0)


def _access(params: Params) -> int:
    access = (params.get_str("access") or "ro").lower()
    if access not in ("ro", "rw"):
        raise ApiError("INVALID_PARAM", "access must be ro or rw")
    return int(access == "ro")


# -- writing -------------------------------------------------------------------------------
def create_key(caller: Identity, name: str, params: Params) -> dict:
    """Make a key for the caller (or, for a global admin, `owner=`); the answer holds the
    secret, which is never shown again."""
    if caller.api_key:
        raise ApiError("PERMISSION_DENIED", "an API key cannot make API keys; log in")
    name = key_name(name)
    owner = _owner(caller, params)
    holder = load_identity(owner, caller.client_ip)
    if holder is None:
        raise ApiError("NO_SUCH_ADMIN", owner)
    domains = params.get_domain_list("domains", [])
    beyond = [domain for domain in domains if not holder.manages(domain)]
    if beyond:
        raise ApiError("PERMISSION_DENIED", f"{owner} does not manage {', '.join(beyond[:5])}")
    now = utcnow().replace(microsecond=0)
    row = {
        "name": name,
        "owner": owner,
        "domains": ",".join(sorted(domains)) or None,
        "read_only": _access(params),
        "allowed_networks": _networks(params),
        "expires": _expires(params, now),
        "created": now,
        "last_used": None,
        "revoked": 0,
    }
    secret = PREFIX + secrets.token_urlsafe(32)
    with iredadmin_db.atomic():
        # A revoked key's name may be used again; its row goes (the audit log keeps its uses).
        ApiKey.delete().where(
            (ApiKey.owner == owner) & (ApiKey.name == name) & (ApiKey.revoked == 1)
        ).execute()
        try:
            ApiKey.insert(key_hash=key_digest(secret), **row).execute()
        except peewee.IntegrityError:
            raise ApiError("ALREADY_EXISTS", f"{owner} has a key named {name}") from None
    return {**public(row), "key": secret}


def list_keys(caller: Identity, params: Params) -> list[dict]:
    query = ApiKey.select(*PUBLIC_FIELDS).order_by(ApiKey.owner, ApiKey.name)
    if "owner" in params or not caller.is_global:
        query = query.where(ApiKey.owner == _owner(caller, params))
    return [public(row) for row in query.dicts()]


def revoke_key(caller: Identity, name: str, params: Params) -> str:
    """Revoke the caller's key (or `owner=`'s, for a global admin); the owner is returned."""
    name = key_name(name)
    owner = _owner(caller, params)
    revoked = (
        ApiKey.update(revoked=1)
        .where((ApiKey.owner == owner) & (ApiKey.name == name) & (ApiKey.revoked == 0))
        .execute()
    )
    if not revoked:
        raise ApiError("NO_SUCH_API_KEY", f"{owner} has no key named {name}")
    return owner


def revoke_all(owner: str) -> None:
    ApiKey.update(revoked=1).where((ApiKey.owner == owner) & (ApiKey.revoked == 0)).execute()


# -- checking (the gateway) ----------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class StoredKey:
    """What the gateway reads of a key to authenticate a request with it."""

    name: str
    owner: str
    domains: frozenset[str] | None  # None: every domain the owner manages
    read_only: bool
    networks: tuple
    expires: datetime.datetime | None

    def allows(self, client_ip: str) -> bool:
        return not self.networks or in_networks(parse_address(client_ip), self.networks)

    def expired(self, now: datetime.datetime) -> bool:
        return self.expires is not None and self.expires <= now

    def narrowed(self, owner: Identity) -> Identity:
        """The owner's identity as it is now, narrowed to the key: its domains (a key with
        domains is never global), read-only or not, and its name for the audit log."""
        if self.domains is None:
            return dataclasses.replace(owner, read_only=self.read_only, api_key=self.name)
        domains = self.domains if owner.is_global else self.domains & owner.domains
        return Identity(
            admin=owner.admin,
            role=DOMAIN_ADMIN,
            domains=domains,
            client_ip=owner.client_ip,
            read_only=self.read_only,
            api_key=self.name,
            scoped=True,
        )


def stored_key(row: dict) -> StoredKey:
    networks = tuple(ipaddress.ip_network(n, strict=False) for n in _split(row["allowed_networks"]))
    domains = row["domains"]
    return StoredKey(
        name=row["name"],
        owner=row["owner"],
        domains=frozenset(_split(domains)) if domains else None,
        read_only=bool(row["read_only"]),
        networks=networks,
        expires=row["expires"],
    )
